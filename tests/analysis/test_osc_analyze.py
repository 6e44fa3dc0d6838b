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


def test_bars_follow_the_request_then_the_session_once_set_else_the_detected_meter(
        tmp_path: Path, osc_server: Any) -> None:  # noqa: F811
    from tests.analysis.music import ballad

    path = write_audio(tmp_path / "ballad.wav", ballad("C major", bpm=100, bars=8))  # heard as 4/4
    with osc_server.client() as client:
        def meter(*options: Any) -> tuple[str, int, int]:
            result = client.wait_job(client.start_job("/grym/analyze/file", str(path), *options))
            return result["meter"], result["beats_per_bar"], len(result["rhythm_pattern"][0])

        assert meter() == ("4/4", 4, 16)  # nothing set: detected
        assert client.request("/grym/session/set", "time_signature", "3/4")[1] == ["time_signature", "3/4"]
        assert meter() == ("3/4", 3, 12)  # the DAW's session, once it says so
        assert meter("time_signature", "6/8") == ("6/8", 2, 12)  # the request over the session
        assert meter("session", "other") == ("4/4", 4, 16)  # another session has set nothing
        client.request("/grym/session/set", "time_signature", "7/8")
        assert meter() == ("4/4", 4, 16)  # a meter the analysis cannot follow leaves detection on
        address, args = client.request("/grym/analyze/file", str(path), "time_signature", "7/8")
        assert address == "/grym/error" and args[2] == "bad_args"
        assert "time_signature '7/8'" in args[3] and "6/8" in args[3] and "empty to detect" in args[3]


def test_the_route_lists_exactly_the_time_signatures_the_analysis_follows() -> None:
    from grym_bridge.analysis import METER_OF_TIME_SIGNATURE
    from grym_bridge.api.analyze import FOLLOWED

    assert FOLLOWED == tuple(METER_OF_TIME_SIGNATURE)
