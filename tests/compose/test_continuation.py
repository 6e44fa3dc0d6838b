"""Continuing a clip: the source's key, its rhythm density, its register; remembered patterns join in."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from grym_bridge.compose import Clip, ComposeRequest, Note, compose, read_clip, write_clip
from grym_bridge.compose.continuation import estimate_key
from grym_bridge.compose.midifile import MidiFileError
from grym_bridge.compose.theory import TimeSignature, parse_key


def _density(notes: list, beats: float) -> float:
    """Onsets per beat."""
    return len({round(n[1] if isinstance(n, list) else n.start, 3) for n in notes}) / beats


def _d_major_riff(bars: int = 4) -> list[Note]:
    """A riff in D major: dotted rhythm, two notes per beat on average, no key signature in the file."""
    scale = [62, 64, 66, 67, 69, 71, 73, 74]
    rhythm = [0.0, 0.75, 1.0, 1.5, 2.0, 2.75, 3.0, 3.5]
    notes = []
    for bar in range(bars):
        for i, t in enumerate(rhythm):
            notes.append(Note(scale[(i * 3 + bar) % 8], bar * 4 + t, 0.25 if t % 1 == 0.75 else 0.5, 90 + (i % 3) * 10))
    return notes


@pytest.mark.parametrize("key, style, kind", [("A minor", "lofi", "melody"), ("Bb major", "pop", "chords"),
                                              ("E dorian", "house", "bass"), ("C# minor", "trap", "melody")])
def test_continuation_stays_in_key_and_density(tmp_path: Path, key: str, style: str, kind: str) -> None:
    source = compose(ComposeRequest(kind, key=key, style=style, bars=8, seed=21, humanize=0.0), tmp_path / "src.mid")
    result = compose(ComposeRequest("continue", source=source.path, bars=8, seed=4), tmp_path / "cont.mid")
    scale = parse_key(key).pitch_classes
    assert {n[0] % 12 for n in result.notes} <= scale
    src_density = _density(source.notes, 8 * 4)
    assert _density(result.notes, 8 * 4) == pytest.approx(src_density, rel=0.3)
    lo, hi = min(n[0] for n in source.notes), max(n[0] for n in source.notes)
    assert all(lo - 4 <= n[0] <= hi + 4 for n in result.notes)
    assert mido.MidiFile(result.path).length == pytest.approx(8 * 4 * 60 / source.tempo, rel=1e-5)


def test_clip_without_key_signature_gets_its_key_from_its_notes(tmp_path: Path) -> None:
    src = write_clip(Clip(_d_major_riff(), 100.0, TimeSignature(4, 4), 4, key=None), tmp_path / "riff.mid")
    assert not any(m.type == "key_signature" for m in mido.MidiFile(src))
    assert estimate_key(read_clip(src).notes).pitch_classes == parse_key("D major").pitch_classes
    result = compose(ComposeRequest("continue", source=str(src), bars=4, seed=1), tmp_path / "out.mid")
    assert result.key in ("D major", "B minor")
    assert {n[0] % 12 for n in result.notes} <= parse_key("D major").pitch_classes
    assert result.tempo == 100.0
    # The riff's rhythm: onsets only where the riff had them (within the bar), at its density.
    positions = {round(n[1] % 4, 3) for n in result.notes}
    assert positions <= {0.0, 0.75, 1.0, 1.5, 2.0, 2.75, 3.0, 3.5}
    assert _density(result.notes, 16) == pytest.approx(2.0, rel=0.25)


def test_continuation_is_deterministic_by_seed(tmp_path: Path) -> None:
    src = write_clip(Clip(_d_major_riff(), 100.0, TimeSignature(4, 4), 4), tmp_path / "riff.mid")
    a = compose(ComposeRequest("continue", source=str(src), bars=4, seed=3), tmp_path / "a.mid")
    b = compose(ComposeRequest("continue", source=str(src), bars=4, seed=3), tmp_path / "b.mid")
    c = compose(ComposeRequest("continue", source=str(src), bars=4, seed=4), tmp_path / "c.mid")
    assert Path(a.path).read_bytes() == Path(b.path).read_bytes()
    assert a.notes != c.notes


def test_remembered_patterns_shape_the_continuation(tmp_path: Path) -> None:
    # A two-note source teaches almost nothing; a remembered pattern in another key fills the gap.
    src = write_clip(Clip([Note(69, 0.0, 1.0), Note(72, 1.0, 1.0)], 90.0, TimeSignature(4, 4), 1, parse_key("A minor")),
                     tmp_path / "two.mid")
    remembered = [Note(60 + (i % 5) * 2 - (1 if (i % 5) == 2 else 0), i * 0.5, 0.5) for i in range(32)]
    plain = compose(ComposeRequest("continue", source=str(src), bars=4, seed=2), tmp_path / "p.mid")
    from grym_bridge.compose import api

    learned = api.compose(ComposeRequest("continue", source=str(src), bars=4, seed=2), tmp_path / "l.mid",
                          extra=[remembered])
    assert learned.notes != plain.notes
    assert {n[0] % 12 for n in learned.notes} <= parse_key("A minor").pitch_classes
    assert _density(learned.notes, 16) > _density(plain.notes, 16)  # the eighth notes of the remembered pattern


def test_drum_clip_continues_as_drums(tmp_path: Path) -> None:
    src = compose(ComposeRequest("drums", style="house", bars=4, seed=5), tmp_path / "d.mid")
    result = compose(ComposeRequest("continue", source=src.path, bars=4, seed=5), tmp_path / "dc.mid")
    file_notes = [m for m in mido.MidiFile(result.path) if m.type == "note_on" and m.velocity]
    assert file_notes and {m.channel for m in file_notes} == {9}
    assert {n[0] for n in result.notes} <= {n[0] for n in src.notes}
    assert result.key is None


def test_a_broken_source_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "song.mid"
    bad.write_bytes(b"RIFF....WAVEfmt not midi at all")
    out = tmp_path / "out.mid"
    with pytest.raises(MidiFileError, match="not a readable Standard MIDI File"):
        compose(ComposeRequest("continue", source=str(bad), bars=2), out)
    with pytest.raises(MidiFileError, match="does not exist"):
        compose(ComposeRequest("continue", source=str(tmp_path / "missing.mid"), bars=2), out)
    empty = write_clip(Clip([], 120.0, TimeSignature(4, 4), 1), tmp_path / "empty.mid")
    with pytest.raises(MidiFileError, match="no notes"):
        compose(ComposeRequest("continue", source=str(empty), bars=2), out)
    assert not out.exists()
