"""Standard MIDI files through mido: writing a clip (atomically) and reading one back."""

from __future__ import annotations

import math
from pathlib import Path

import mido

from grym_bridge.files import atomic_open
from grym_bridge.compose.clip import Clip, Note
from grym_bridge.compose.theory import Key, TimeSignature, parse_key
from grym_bridge.errors import GrymError

TICKS_PER_BEAT = 480
MAX_MIDI_BYTES = 8 * 1024 * 1024


class MidiFileError(GrymError):
    """A MIDI file cannot be read: missing, not a Standard MIDI File, empty or too large."""

    code = "bad_midi"


def clip_to_midifile(clip: Clip) -> mido.MidiFile:
    """A type-1 file: a conductor track (tempo, meter, key) and one track of notes, both ending exactly at the clip's end."""
    total = round(clip.length_beats * TICKS_PER_BEAT)
    ts = clip.time_signature
    meta = [
        mido.MetaMessage("track_name", name=clip.name, time=0),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(clip.tempo), time=0),
        mido.MetaMessage("time_signature", numerator=ts.numerator, denominator=ts.denominator, time=0),
    ]
    if clip.key is not None:
        meta.append(mido.MetaMessage("key_signature", key=clip.key.midi_key_signature(), time=0))
    conductor = mido.MidiTrack(meta)
    now = 0
    for beat, symbol in clip.chords:  # chord names as markers: REAPER and most DAWs show them on the timeline
        tick = min(max(round(beat * TICKS_PER_BEAT), now), total)
        conductor.append(mido.MetaMessage("marker", text=symbol, time=tick - now))
        now = tick
    conductor.append(mido.MetaMessage("end_of_track", time=total - now))

    # (tick, order, message): note-offs sort before note-ons at the same tick so repeated notes re-strike.
    events: list[tuple[int, int, mido.Message]] = []
    by_voice: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for n in clip.notes:
        start = min(max(round(n.start * TICKS_PER_BEAT), 0), total - 1)
        end = min(max(round(n.end * TICKS_PER_BEAT), start + 1), total)
        by_voice.setdefault((n.channel, n.pitch), []).append((start, end, n.velocity))
    for (channel, pitch), spans in by_voice.items():
        spans.sort()
        for i, (start, end, velocity) in enumerate(spans):
            if i + 1 < len(spans):
                end = min(end, max(spans[i + 1][0], start + 1))  # one note-on per key at a time
            events.append((start, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
            events.append((end, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=64)))
    events.sort(key=lambda e: (e[0], e[1], e[2].note))
    notes_track = mido.MidiTrack([mido.MetaMessage("track_name", name=clip.name, time=0)])
    now = 0
    for tick, _order, msg in events:
        notes_track.append(msg.copy(time=tick - now))
        now = tick
    notes_track.append(mido.MetaMessage("end_of_track", time=total - now))
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.extend([conductor, notes_track])
    return mid


def write_clip(clip: Clip, path: Path) -> Path:
    """Write `clip` to `path` (a temporary file renamed into place, so readers never see half a file)."""
    path = Path(path)
    mid = clip_to_midifile(clip)
    with atomic_open(path, "wb") as fh:
        mid.save(file=fh)
    return path


def _key_from_signature(text: str) -> Key | None:
    try:
        return parse_key(text[:-1] + " minor" if text.endswith("m") else text + " major")
    except GrymError:
        return None


def read_clip(path: Path) -> Clip:
    """Read every note of a Standard MIDI File with its tempo, meter and key signature (when written)."""
    path = Path(path)
    if not path.is_file():
        raise MidiFileError(f"MIDI file {path} does not exist: give the path of a .mid file")
    if path.stat().st_size > MAX_MIDI_BYTES:
        raise MidiFileError(f"MIDI file {path} is larger than {MAX_MIDI_BYTES // 2**20} MB: give a clip, not a song collection")
    try:
        mid = mido.MidiFile(path)
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError... for broken files
        raise MidiFileError(f"{path} is not a readable Standard MIDI File ({exc}); export the clip as .mid") from None
    per_beat = mid.ticks_per_beat or TICKS_PER_BEAT
    tempo, ts, key = 120.0, TimeSignature(4, 4), None
    seen_tempo = seen_ts = False
    notes: list[Note] = []
    open_notes: dict[tuple[int, int], list[tuple[int, int]]] = {}
    tick = 0
    for msg in mido.merge_tracks(mid.tracks):
        tick += msg.time
        if msg.type == "set_tempo" and not seen_tempo:
            tempo, seen_tempo = round(mido.tempo2bpm(msg.tempo), 3), True
        elif msg.type == "time_signature" and not seen_ts:
            ts, seen_ts = TimeSignature(msg.numerator, msg.denominator), True
        elif msg.type == "key_signature" and key is None:
            key = _key_from_signature(msg.key)
        elif msg.type == "note_on" and msg.velocity > 0:
            open_notes.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
        elif msg.type in ("note_off", "note_on"):
            stack = open_notes.get((msg.channel, msg.note))
            if stack:
                start, velocity = stack.pop(0)
                notes.append(Note(msg.note, start / per_beat, max(tick - start, 1) / per_beat, velocity, msg.channel))
    if not notes:
        raise MidiFileError(f"{path} has no notes: give a clip with at least a few notes")
    bar_beats = float(ts.bar_beats)
    bars = max(1, math.ceil(tick / per_beat / bar_beats - 1e-6))
    notes.sort(key=lambda n: (n.start, n.pitch))
    return Clip(notes, tempo, ts, bars, key, name=path.stem)
