"""`grym compose`: files, printed summaries, JSON, and errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import pytest
from click.testing import CliRunner

from grym_bridge.cli import cli
from grym_bridge.compose import STYLES


def _grym(tmp_path: Path, *args: str):
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), *args], catch_exceptions=False)


def test_compose_chords_writes_the_file_and_says_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "chords.mid"
    res = _grym(tmp_path, "compose", "chords", "--key", "A minor", "--style", "lofi", "--bars", "8", "--tempo", "90",
                "--seed", "4", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.output and "A minor" in res.output and "seed 4" in res.output
    assert mido.MidiFile(out).length == pytest.approx(8 * 4 * 60 / 90, rel=1e-5)


def test_json_result_and_default_location(tmp_path: Path) -> None:
    res = _grym(tmp_path, "compose", "drums", "--style", "trap", "--bars", "2", "--seed", "8", "--json")
    assert res.exit_code == 0, res.output
    result = json.loads(res.output)
    assert Path(result["path"]).is_relative_to(tmp_path / "data" / "renders" / "midi")
    assert result["note_count"] == len(result["notes"]) > 0 and result["seed"] == 8


def test_continue_reads_the_source(tmp_path: Path) -> None:
    src, out = tmp_path / "m.mid", tmp_path / "c.mid"
    assert _grym(tmp_path, "compose", "melody", "--key", "F major", "--seed", "1", "-o", str(src)).exit_code == 0
    res = _grym(tmp_path, "compose", "continue", str(src), "--bars", "4", "--seed", "1", "-o", str(out))
    assert res.exit_code == 0, res.output
    assert "F major" in res.output and out.is_file()


def test_bad_style_is_one_line_error(tmp_path: Path) -> None:
    res = _grym(tmp_path, "compose", "bass", "--style", "polka", "-o", str(tmp_path / "x.mid"))
    assert res.exit_code == 1
    assert "error: unknown style 'polka': use one of" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "x.mid").exists()


def test_styles_are_listed(tmp_path: Path) -> None:
    res = _grym(tmp_path, "compose", "styles")
    assert all(name in res.output for name in STYLES)
