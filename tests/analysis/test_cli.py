"""`grym analyze`: a readable summary, JSON Lines, and bad files reported while the rest go on."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from grym_bridge.audio_io import write_audio
from grym_bridge.cli import cli
from tests.synth import chord_progression, click_track, drum_loop, mix


def _run(tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), "analyze", *args], env={"GRYM_CONFIG": ""})


def test_summary_names_tempo_key_and_loudness(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "loop.wav", mix(chord_progression("E minor", bpm=120, bars=4), drum_loop(120, 4)))
    result = _run(tmp_path, str(path))
    assert result.exit_code == 0, result.output
    assert str(path) in result.output
    assert "120.0 BPM" in result.output and "E minor" in result.output and "LUFS" in result.output
    assert "bars: Em" in result.output or " Em " in result.output  # the chord sequence is listed
    assert "4/4" in result.output


def test_summary_says_a_drum_loop_has_no_key(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "drums.wav", drum_loop(100, 8))
    result = _run(tmp_path, str(path))
    assert result.exit_code == 0, result.output
    assert "key       none" in result.output and "100.0 BPM" in result.output


def test_json_lines_one_object_per_file(tmp_path: Path) -> None:
    a = write_audio(tmp_path / "a.flac", click_track(100, 6.0))
    b = write_audio(tmp_path / "b.wav", click_track(140, 6.0))
    result = _run(tmp_path, "--json", str(a), str(b))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["path"]).name for r in rows] == ["a.flac", "b.wav"]
    assert abs(rows[0]["tempo_bpm"] - 100) < 2 and abs(rows[1]["tempo_bpm"] - 140) < 2
    assert rows[0]["embedding"] is None


def test_a_bad_file_is_reported_and_the_others_still_analysed(tmp_path: Path) -> None:
    good = write_audio(tmp_path / "good.wav", click_track(90, 4.0))
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio at all" * 10)
    result = _run(tmp_path, "--json", str(bad), str(tmp_path / "missing.wav"), str(good))
    assert result.exit_code == 1
    assert f"error: {bad}: cannot be decoded" in result.stderr
    assert "missing.wav: no such file" in result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["path"]).name for r in rows] == ["good.wav"]


def test_embed_without_a_model_says_how_to_get_one(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "c.wav", click_track(90, 2.0))
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path / "data"), "analyze", "--embed", str(path)],
        env={"GRYM_CONFIG": "", "GRYM_ANALYSIS_EMBEDDING_MODEL": str(tmp_path / "no-model"),
             "GRYM_MODELS_HF_CACHE": str(tmp_path / "hf")},
    )
    assert result.exit_code == 1
    assert "wav2vec2" in result.stderr and "download" in result.stderr


def test_help_documents_the_command() -> None:
    result = CliRunner().invoke(cli, ["analyze", "--help"])
    assert result.exit_code == 0
    assert "--json" in result.output and "--embed" in result.output and "libsndfile" in result.output


def test_time_signature_fixes_the_bars_and_an_unfollowable_one_is_refused(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "loop.wav", mix(chord_progression("E minor", bpm=120, bars=4), drum_loop(120, 4)))
    result = _run(tmp_path, "--json", "--time-signature", "3/4", str(path))
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.output)
    assert analysis["meter"] == "3/4" and analysis["beats_per_bar"] == 3
    refused = _run(tmp_path, "--time-signature", "7/8", str(path))
    assert refused.exit_code == 2 and "'7/8'" in refused.output and "leave it out to detect" in refused.output
