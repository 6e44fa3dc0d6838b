"""`/grym/analyze/file` over real UDP on loopback: a job whose result is the analysis JSON; bad input answered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grym_bridge.audio_io import write_audio
from tests.osc_client import JobFailed, osc_server  # noqa: F401
from tests.synth import chord_progression, drum_loop, mix


def test_analyze_job_reports_progress_and_returns_the_analysis(tmp_path: Path, osc_server: Any) -> None:  # noqa: F811
    path = write_audio(tmp_path / "loop.wav", mix(chord_progression("G major", bpm=100, bars=4), drum_loop(100, 4)))
    with osc_server.client() as client:
        job = client.start_job("/grym/analyze/file", str(path))
        result = client.wait_job(job)
        progress = [args for address, args in client.pending if address == "/grym/job/progress" and args[0] == job]
    assert progress, "the job reports its progress"
    assert result["path"] == str(path.resolve())
    assert abs(result["tempo_bpm"] - 100) < 2 and result["key"] == "G major"
    assert len(result["bands_db"]) == 7 and result["rhythm_pattern"] and result["embedding"] is None


def test_paths_outside_the_allowed_folders_and_bad_files_are_refused(tmp_path: Path, osc_server: Any) -> None:  # noqa: F811
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with osc_server.client() as client:
        # refused at once, before any job exists
        address, args = client.request("/grym/analyze/file", "/etc/hostname")
        assert address == "/grym/error" and args[0] == "/grym/analyze/file" and args[2] == "path_not_allowed"
        address, args = client.request("/grym/analyze/file")
        assert address == "/grym/error" and args[2] == "bad_args"
        # a file that is there but is not audio fails its job with the file named
        job = client.start_job("/grym/analyze/file", str(bad))
        try:
            client.wait_job(job)
        except JobFailed as failure:
            assert failure.code == "bad_audio" and str(bad) in failure.message
        else:
            raise AssertionError("a broken file must fail its job")
        # the server is still fine afterwards
        assert client.request("/grym/system/ping")[0].startswith("/grym/system/")


def test_embed_without_a_model_fails_the_job_saying_how_to_get_one(tmp_path: Path, osc_server: Any) -> None:  # noqa: F811
    osc_server.services.config.analysis.embedding_model = str(tmp_path / "no-model-here")
    path = write_audio(tmp_path / "clip.wav", drum_loop(110, 1))
    with osc_server.client() as client:
        job = client.start_job("/grym/analyze/file", str(path), "embed", 1.0)  # Max sends floats
        try:
            client.wait_job(job)
        except JobFailed as failure:
            assert failure.code == "model_unavailable" and "huggingface-cli download" in failure.message
        else:
            raise AssertionError("embedding without a model must fail its job")
