"""`grym memory ...` end to end: real files, the real analyzer, the real store under --data-dir."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from grym_bridge.cli import cli


def _run(data: Path, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "memory", *args], catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def test_add_a_folder_then_search_tag_rate_and_forget(tmp_path: Path, wav) -> None:
    data = tmp_path / "data"
    for i, freq in enumerate((220, 233, 880, 1760)):
        wav(f"lib/{i}.wav", freq, seconds=1.0)
    (tmp_path / "lib" / "notes.txt").write_text("ignored: not audio by its name")
    (tmp_path / "lib" / "broken.wav").write_text("not audio although its name says so")
    out = _run(data, "add", str(tmp_path / "lib"), "--tag", "Tones")
    assert "4 added, 0 already known, 1 skipped" in out and "broken.wav" in out
    assert "0 added, 1 already known" in _run(data, "add", str(tmp_path / "lib" / "0.wav"))

    listed = json.loads(_run(data, "list", "--json"))
    by_name = {Path(c["path"]).name: c["id"] for c in listed}
    assert set(by_name) == {"0.wav", "1.wav", "2.wav", "3.wav"} and all(c["tags"] == ["tones"] for c in listed)

    matches = json.loads(_run(data, "similar", str(by_name["0.wav"]), "--k", "3", "--json"))
    assert [set(m) for m in matches] == [{"id", "path", "score", "locations"}] * 3
    assert matches[0]["id"] == by_name["1.wav"]  # 233 Hz is nearest to 220 Hz
    strict = json.loads(_run(data, "similar", str(by_name["0.wav"]), "--threshold", "0.9999", "--json"))
    assert all(m["score"] >= 0.9999 for m in strict) and len(strict) < 3
    # A file not in the memory is analyzed on the fly and compared.
    wav("new/near.wav", 225, seconds=1.0)
    near = json.loads(_run(data, "similar", str(tmp_path / "new" / "near.wav"), "--k", "1", "--json"))
    assert near[0]["id"] in (by_name["0.wav"], by_name["1.wav"])

    assert "kept" in _run(data, "rate", str(by_name["2.wav"]), "kept")
    taste = json.loads(_run(data, "similar", "--taste", "--k", "1", "--json"))
    assert taste[0]["id"] == by_name["3.wav"]  # nearest to the kept 880 Hz tone
    assert "dark" in _run(data, "tag", str(by_name["3.wav"]), "dark")
    shown = json.loads(_run(data, "show", str(by_name["3.wav"]), "--json"))
    assert shown["tags"] == ["dark", "tones"] and shown["features"]["analyzer_version"]
    assert "forgot 1 clip" in _run(data, "forget", str(by_name["3.wav"]))
    stats = json.loads(_run(data, "stats", "--json"))
    assert stats["clips"] == 3 and stats["kept"] == 1


def test_export_then_import_into_another_memory(tmp_path: Path, wav) -> None:
    for i, freq in enumerate((300, 600)):
        wav(f"lib/{i}.wav", freq, seconds=0.5)
    a, b = tmp_path / "a", tmp_path / "b"
    _run(a, "add", str(tmp_path / "lib"))
    _run(a, "rate", "1", "4.5")
    _run(a, "tag", "2", "bright")
    export = tmp_path / "mem.jsonl"
    assert "exported 2 clips" in _run(a, "export", str(export))
    assert "imported 2 clips" in (first := _run(b, "import", str(export))) and "(2 new)" in first
    assert "(0 new)" in _run(b, "import", str(export))  # importing again merges, never duplicates
    clips_a = json.loads(_run(a, "list", "--json"))
    clips_b = json.loads(_run(b, "list", "--json"))
    strip = [{k: v for k, v in c.items() if k not in ("id", "created_at")} for c in clips_a]
    assert strip == [{k: v for k, v in c.items() if k not in ("id", "created_at")} for c in clips_b]
    sim_a = json.loads(_run(a, "similar", "1", "--json"))
    sim_b = json.loads(_run(b, "similar", "1", "--json"))
    assert [m["score"] for m in sim_a] == [m["score"] for m in sim_b]


def test_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert "no clip with id 42" in _run(data, "show", "42", ok=False)
    assert "neither a clip id nor a file" in _run(data, "similar", "/no/such/file.wav", ok=False)
    assert "no clip with id 1" in _run(data, "rate", "1", "kept", ok=False)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"not": "an export"}\n')
    assert "not a grym memory export" in _run(data, "import", str(bad), ok=False)
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "memory.sqlite3").write_bytes(b"garbage" * 1000)
    out = _run(corrupt, "stats", ok=False)
    assert out.startswith("error: the memory database") and "untouched" in out
    assert (corrupt / "memory.sqlite3").read_bytes() == b"garbage" * 1000


def test_classify_and_patterns_use_your_tags(tmp_path: Path, wav) -> None:
    data = tmp_path / "data"
    for i, freq in enumerate((110, 120, 130)):
        wav(f"low/{i}.wav", freq, seconds=1.0)
    for i, freq in enumerate((3000, 3300, 3600)):
        wav(f"high/{i}.wav", freq, seconds=1.0)
    _run(data, "add", str(tmp_path / "low"), "--tag", "sub")
    _run(data, "add", str(tmp_path / "high"), "--tag", "shimmer")
    assert _run(data, "classify", str(wav("new/a.wav", 125, seconds=1.0))).startswith("sub (confidence")
    result = json.loads(_run(data, "classify", str(wav("new/b.wav", 3450, seconds=1.0)), "--by", "spectral", "--json"))
    assert result["label"] == "shimmer" and 0.5 < result["confidence"] <= 1.0 and len(result["neighbours"]) == 5
    low_ids = {c["id"] for c in json.loads(_run(data, "list", "--tag", "sub", "--json"))}
    related = json.loads(_run(data, "patterns", str(min(low_ids)), "--kind", "spectral", "--threshold", "0.9", "--json"))
    assert {m["id"] for m in related["matches"]} == low_ids - {min(low_ids)}
    assert related["tags"] == {"sub": 2}
    for clip_id in low_ids:  # a second tag on the same clips ties with "sub": the runner-up is named, as a share
        _run(data, "tag", str(clip_id), "bass")
    line = _run(data, "classify", str(wav("new/c.wav", 125, seconds=1.0)))
    label, also = line.split("; also ")
    confidence = label.removeprefix("sub (confidence ").removesuffix(")")
    assert also.startswith(f"bass {confidence}, shimmer "), line  # tied with the winner, on the same scale
    assert " sub " not in f" {also} "  # the winner is not its own runner-up
