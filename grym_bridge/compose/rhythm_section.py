"""Bass lines that follow the chords, and drum patterns per style with fills and ghost notes."""

from __future__ import annotations

import numpy as np

from grym_bridge.compose.clip import DRUM_CHANNEL, Note
from grym_bridge.compose.harmony import ChordEvent, pattern_events, split_at_changes
from grym_bridge.compose.styles import DRUM_NOTES, Style
from grym_bridge.compose.theory import Key, TimeSignature

_DRUM_VELOCITY = {"X": 118, "x": 94, "o": 48, "r": 80}


def _in_register(pc: int, floor: int) -> int:
    """The pitch of class `pc` in the octave starting at `floor`."""
    return floor + ((pc - floor) % 12)


def _approach(key: Key, target: int, previous: int) -> int:
    """The scale note a step above or below `target`, whichever is nearer the previous bass note."""
    degree = key.degree_of(target)
    below = key.pitch_of_degree_index(degree - 1)
    above = key.pitch_of_degree_index(degree + 1)
    return below if abs(below - previous) <= abs(above - previous) else above


def compose_bass(
    key: Key, style: Style, ts: TimeSignature, bars: int, harmony: list[ChordEvent], rng: np.random.Generator
) -> list[Note]:
    """The style's bass pattern on the roots, thirds and fifths of `harmony`.

    The last note of every fourth bar becomes, half the time, an approach
    note into the next chord's root: the line breathes without leaving the key.
    """
    pattern = style.bass
    events = pattern_events(pattern, ts, bars)
    bar_beats = float(ts.bar_beats)
    last_in_bar = {}
    for i, (start, _dur, _sym) in enumerate(events):
        last_in_bar[int(start // bar_beats)] = i
    notes: list[Note] = []
    previous = _in_register(harmony[0].chord.root, style.bass_octave)
    for start, dur, sym, idx in split_at_changes(events, harmony):
        bar = int(start // bar_beats)
        is_last = events[last_in_bar[bar]][0] <= start and bar % 4 == 3 and bar + 1 < bars
        if is_last and dur <= 1.0 and sym != "A" and rng.random() < 0.5:
            sym = "A"
        chord = harmony[idx].chord
        root = _in_register(chord.root, style.bass_octave)
        if sym == "R":
            pitch = root
        elif sym == "O":
            pitch = root + 12
        elif sym in ("3", "5"):
            tone = chord.tones[1 if sym == "3" else 2]
            pitch = root + ((tone - chord.root) % 12)
        elif sym == "A":
            nxt = harmony[min(idx + 1, len(harmony) - 1)].chord.root
            pitch = _approach(key, _in_register(nxt, style.bass_octave), previous)
        else:
            continue
        velocity = 100 if abs(start - round(start)) < 1e-9 else 88
        notes.append(Note(pitch, start, dur, velocity))
        previous = pitch
    return notes


def compose_drums(style: Style, ts: TimeSignature, bars: int, rng: np.random.Generator) -> list[Note]:
    """The style's drum patterns, with snare ghost notes and a fill closing every fourth bar."""
    notes: list[Note] = []
    steps = ts.steps_per_bar
    fill_steps = min(4, steps // 2)
    for name, pattern in style.drums.items():
        pitch = DRUM_NOTES[name]
        for bar in range(bars):
            bar_start = float(bar * ts.bar_beats)
            fill_bar = bars >= 2 and (bar % 4 == 3 or bar == bars - 1)
            for i in range(steps):
                ch = pattern[i % len(pattern)]
                in_fill = fill_bar and i >= steps - fill_steps
                if name in ("snare", "clap") and in_fill:
                    ch = "X" if i == steps - 1 else "x"
                elif name == "crash" and i == 0 and bar % 4 != 0:
                    ch = "."  # a crash marks the start of a phrase only
                elif name in ("snare", "rim") and ch == "." and rng.random() < 0.06 + 0.12 * style.humanize:
                    ch = "o"
                if ch == ".":
                    continue
                t = bar_start + i * 0.25
                if ch == "r":
                    notes.append(Note(pitch, t, 0.125, _DRUM_VELOCITY["r"], DRUM_CHANNEL))
                    notes.append(Note(pitch, t + 0.125, 0.125, _DRUM_VELOCITY["r"] - 12, DRUM_CHANNEL))
                else:
                    notes.append(Note(pitch, t, 0.25, _DRUM_VELOCITY.get(ch, 94), DRUM_CHANNEL))
    return notes
