"""Composition: keys, lengths, files that read back, determinism, voice leading, feel."""

from __future__ import annotations

from pathlib import Path

import mido
import pytest

from grym_bridge.compose import STYLES, ComposeRequest, compose, read_clip
from grym_bridge.compose.harmony import plan_harmony, voice_lead
from grym_bridge.compose.styles import DRUM_NOTES, get_style
from grym_bridge.compose.theory import chord_on_degree, parse_key, parse_time_signature
from grym_bridge.errors import BadRequest

DIATONIC = [name for name, style in STYLES.items() if style.diatonic]
PITCHED = ("chords", "melody", "bass")


def _file_notes(path: str) -> list[tuple[int, int, int]]:
    """(channel, note, velocity) of every note-on in the file."""
    return [(m.channel, m.note, m.velocity) for m in mido.MidiFile(path) if m.type == "note_on" and m.velocity]


@pytest.mark.parametrize("style", DIATONIC)
@pytest.mark.parametrize("key", ["A minor", "Eb major", "F# dorian"])
def test_every_note_is_in_key_for_diatonic_styles(tmp_path: Path, style: str, key: str) -> None:
    scale = parse_key(key).pitch_classes
    for kind in PITCHED:
        result = compose(ComposeRequest(kind, key=key, style=style, bars=8, seed=11), tmp_path / f"{kind}.mid")
        pitches = [note for _ch, note, _v in _file_notes(result.path)]
        assert pitches, f"{kind} wrote no notes"
        outside = sorted({p % 12 for p in pitches} - scale)
        assert not outside, f"{style} {kind} in {key} has pitch classes {outside} outside the key"


def test_jazz_borrows_the_leading_tone_in_minor(tmp_path: Path) -> None:
    result = compose(ComposeRequest("chords", key="A minor", style="jazz", bars=4, seed=1, progression="ii V i"),
                     tmp_path / "jazz.mid")
    assert result.chords[:3] == ["Bm7b5", "E7", "Am7"]
    markers = [(m.text, m.time) for m in mido.MidiFile(result.path).tracks[0] if m.type == "marker"]
    assert markers[:3] == [("Bm7b5", 0), ("E7", 1920), ("Am7", 1920)]  # one bar apart, on the timeline
    assert 8 in {note % 12 for _c, note, _v in _file_notes(result.path)}  # G#, the raised seventh


@pytest.mark.parametrize("meter, bars", [("4/4", 8), ("3/4", 5), ("6/8", 4), ("7/8", 3), ("5/4", 2)])
@pytest.mark.parametrize("kind", ["chords", "melody", "bass", "drums"])
def test_exact_length_tempo_and_meter_in_the_file(tmp_path: Path, meter: str, bars: int, kind: str) -> None:
    tempo = 93.0
    result = compose(ComposeRequest(kind, key="D minor", style="lofi", bars=bars, tempo=tempo, time_signature=meter,
                                    seed=5), tmp_path / "out.mid")
    mid = mido.MidiFile(result.path)
    bar_beats = float(parse_time_signature(meter).bar_beats)
    metas = {m.type: m for m in mid.tracks[0] if m.is_meta}
    assert metas["set_tempo"].tempo == mido.bpm2tempo(tempo)
    # Every track ends on the last tick of the last bar; in seconds, at the tempo the file holds.
    assert [sum(m.time for m in track) for track in mid.tracks] == [round(bars * bar_beats * mid.ticks_per_beat)] * 2
    assert mid.length == pytest.approx(bars * bar_beats * metas["set_tempo"].tempo / 1e6, abs=1e-6)
    assert mid.length == pytest.approx(bars * bar_beats * 60.0 / tempo, rel=1e-5)
    assert (metas["time_signature"].numerator, metas["time_signature"].denominator) == tuple(map(int, meter.split("/")))
    assert all(n[1] + n[2] <= bars * bar_beats + 1e-3 for n in result.notes)
    assert all(n[1] >= 0 for n in result.notes)


def test_written_file_reads_back_as_the_reported_notes(tmp_path: Path) -> None:
    result = compose(ComposeRequest("melody", key="G mixolydian", style="pop", bars=4, seed=3), tmp_path / "m.mid")
    clip = read_clip(Path(result.path))
    assert clip.tempo == pytest.approx(result.tempo)
    assert clip.key == parse_key("G mixolydian") or clip.key == parse_key("C major")  # modes travel as their relative major
    assert [(n.pitch, n.velocity) for n in clip.sorted_notes()] == [(n[0], n[3]) for n in result.notes]
    assert [n.start for n in clip.sorted_notes()] == pytest.approx([n[1] for n in result.notes], abs=1 / 480)


@pytest.mark.parametrize("kind", ["chords", "melody", "bass", "drums"])
def test_same_seed_same_file_other_seed_other_notes(tmp_path: Path, kind: str) -> None:
    req = dict(key="C minor", style="trap", bars=4)
    a = compose(ComposeRequest(kind, seed=42, **req), tmp_path / "a.mid")
    b = compose(ComposeRequest(kind, seed=42, **req), tmp_path / "b.mid")
    assert Path(a.path).read_bytes() == Path(b.path).read_bytes()
    others = [compose(ComposeRequest(kind, seed=s, **req), tmp_path / f"c{s}.mid").notes for s in (1, 2, 3)]
    assert any(o != a.notes for o in others)


def test_parts_with_one_seed_share_their_chords(tmp_path: Path) -> None:
    req = dict(key="E minor", style="pop", bars=8, seed=9, humanize=0.0)
    chords = compose(ComposeRequest("chords", **req), tmp_path / "c.mid")
    bass = compose(ComposeRequest("bass", **req), tmp_path / "b.mid")
    assert chords.chords == bass.chords
    key = parse_key("E minor")
    harmony = plan_harmony(key, get_style("pop"), parse_time_signature("4/4"), 8, __import__("numpy").random.default_rng([9, 1]))
    for ev in harmony:  # the bass note at each chord change is that chord's root
        first = min((n for n in bass.notes if abs(n[1] - ev.start) < 1e-6), key=lambda n: n[0])
        assert first[0] % 12 == ev.chord.root


def test_voice_leading_moves_less_than_root_position() -> None:
    key = parse_key("C major")
    chords = [chord_on_degree(key, d, 4) for d in (2, 5, 1, 6, 4, 5, 1)]
    led = voice_lead(chords, center=62)
    root_position = [tuple(48 + 12 + ((pc - 0) % 12) for pc in c.tones) for c in chords]
    root_position = [tuple(sorted(v)) for v in root_position]

    def motion(vs: list[tuple[int, ...]]) -> int:
        return sum(sum(abs(x - y) for x, y in zip(a, b)) for a, b in zip(vs, vs[1:]))

    assert motion(led) < motion(root_position)
    assert all(max(abs(x - y) for x, y in zip(a, b)) <= 5 for a, b in zip(led, led[1:]))


def test_drums_use_gm_channel_and_the_style_grid(tmp_path: Path) -> None:
    result = compose(ComposeRequest("drums", style="house", bars=4, seed=2, humanize=0.0, swing=0.0), tmp_path / "d.mid")
    notes = _file_notes(result.path)
    assert {ch for ch, _n, _v in notes} == {9}
    assert {n for _c, n, _v in notes} <= set(DRUM_NOTES.values())
    kicks = sorted(n[1] for n in result.notes if n[0] == DRUM_NOTES["kick"])
    assert kicks == [float(b) for b in range(16)]  # four on the floor, exactly on the beat
    assert all(abs(n[1] * 4 - round(n[1] * 4)) < 1e-9 for n in result.notes)


def test_swing_moves_offbeats_towards_the_triplet(tmp_path: Path) -> None:
    straight = compose(ComposeRequest("drums", style="pop", bars=2, seed=2, humanize=0.0, swing=0.0), tmp_path / "s.mid")
    swung = compose(ComposeRequest("drums", style="pop", bars=2, seed=2, humanize=0.0, swing=1.0), tmp_path / "w.mid")
    hats = lambda r: sorted(n[1] for n in r.notes if n[0] == DRUM_NOTES["closed_hat"])  # noqa: E731
    assert hats(straight) == hats(swung)  # the pop hats sit on eighths: sixteenth swing leaves them
    lofi = compose(ComposeRequest("drums", style="lofi", bars=1, seed=2, humanize=0.0, swing=1.0), tmp_path / "l.mid")
    offbeat = [n[1] for n in lofi.notes if n[1] % 0.5 != 0]
    assert offbeat and all(abs((t % 0.5) - 1 / 3) < 1e-3 for t in offbeat)


def test_humanize_changes_timing_but_not_the_length(tmp_path: Path) -> None:
    tight = compose(ComposeRequest("melody", key="C major", bars=4, seed=8, humanize=0.0, swing=0.0), tmp_path / "t.mid")
    loose = compose(ComposeRequest("melody", key="C major", bars=4, seed=8, humanize=1.0, swing=0.0), tmp_path / "l.mid")
    assert [n[0] for n in tight.notes] == [n[0] for n in loose.notes]
    assert [n[1] for n in tight.notes] != [n[1] for n in loose.notes]
    assert mido.MidiFile(loose.path).length == pytest.approx(mido.MidiFile(tight.path).length)


def test_a_style_is_one_table_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grym_bridge.compose.styles import Style

    monkeypatch.setitem(STYLES, "waltz", Style("waltz", "oom-pah-pah", progressions=((1, 4, 5, 1),),
                                              chord_rhythm="....X---X---", bass="R-----------",
                                              drums={"kick": "X..........."}))
    result = compose(ComposeRequest("chords", key="G major", style="waltz", bars=4, time_signature="3/4", seed=1,
                                    humanize=0.0), tmp_path / "w.mid")
    assert result.chords == ["G", "C", "D", "G"]
    assert {n[1] % 3 for n in result.notes} == {1.0, 2.0}  # pah-pah on beats two and three


@pytest.mark.parametrize("fields, fragment", [
    (dict(kind="chords", style="polka"), "use one of pop, jazz"),
    (dict(kind="chords", bars=0), "bars must be"),
    (dict(kind="arpeggio"), "unknown composition kind"),
    (dict(kind="continue"), "needs a source clip"),
    (dict(kind="melody", tempo=1000), "tempo must be"),
    (dict(kind="drums", swing=2.0), "swing must be"),
    (dict(kind="chords", progression="I IX"), "'IX'"),
])
def test_bad_requests_name_the_argument_and_write_nothing(tmp_path: Path, fields: dict, fragment: str) -> None:
    out = tmp_path / "never.mid"
    with pytest.raises(BadRequest, match=fragment):
        compose(ComposeRequest(**fields), out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_default_output_goes_to_renders_with_provenance(tmp_path: Path) -> None:
    result = compose(ComposeRequest("bass", key="A minor", style="house", bars=2, seed=77), renders_dir=tmp_path)
    path = Path(result.path)
    assert path.parent == tmp_path / "midi" and path.suffix == ".mid"
    sidecar = path.with_suffix(".json").read_text()
    assert '"seed": 77' in sidecar and '"kind": "bass"' in sidecar

