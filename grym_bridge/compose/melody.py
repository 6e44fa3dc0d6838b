"""A melody over the chords: a two-bar rhythmic motif, chord tones on strong beats, steps between.

Pitches move on scale-degree indices (see `Key.degree_of`), so every note is
in the key whatever the style.
"""

from __future__ import annotations

import numpy as np

from grym_bridge.compose.clip import Note
from grym_bridge.compose.harmony import ChordEvent, chord_at
from grym_bridge.compose.styles import Style
from grym_bridge.compose.theory import Key, TimeSignature

_STEP_CHOICES = np.array([-2, -1, 1, 2])
_STEP_WEIGHTS = np.array([1.0, 3.0, 3.0, 1.0])


def _grid(ts: TimeSignature, grid: float) -> list[float]:
    """Onset positions inside one bar."""
    bar = float(ts.bar_beats)
    count = max(1, int(bar / grid + 1e-9))
    return [i * grid for i in range(count)]


def _motif(ts: TimeSignature, style: Style, rng: np.random.Generator, bars: int) -> list[float]:
    """Onsets (in beats from the motif's start) of a motif `bars` bars long; it always starts on its downbeat."""
    onsets = []
    for bar in range(bars):
        for pos in _grid(ts, style.melody_grid):
            on_beat = abs(pos - round(pos)) < 1e-9
            weight = 1.7 if pos == 0 else (1.3 if on_beat else 0.8)
            if (bar == 0 and pos == 0) or rng.random() < min(0.95, style.melody_density * weight):
                onsets.append(bar * float(ts.bar_beats) + pos)
    return onsets


def _mutate(onsets: list[float], ts: TimeSignature, style: Style, rng: np.random.Generator, span: float) -> list[float]:
    """A variation of the motif's rhythm: about a quarter of the steps flipped, the downbeat kept."""
    grid = [b * float(ts.bar_beats) + p for b in range(round(span / float(ts.bar_beats))) for p in _grid(ts, style.melody_grid)]
    present = set(onsets)
    out = [t for t in grid if (t in present) != (t != 0 and rng.random() < 0.25)]
    return out or [0.0]


def compose_melody(
    key: Key, style: Style, ts: TimeSignature, bars: int, harmony: list[ChordEvent], rng: np.random.Generator
) -> list[Note]:
    """A melody line over `harmony`, ending each four-bar phrase on a held chord tone."""
    total = float(bars * ts.bar_beats)
    motif_bars = 2 if bars >= 2 else 1
    span = motif_bars * float(ts.bar_beats)
    motif = _motif(ts, style, rng, motif_bars)
    onsets: list[float] = []
    phrase = 0
    while phrase * span < total - 1e-9:
        rhythm = motif if phrase % 2 == 0 else _mutate(motif, ts, style, rng, span)
        onsets.extend(phrase * span + t for t in rhythm if phrase * span + t < total - 1e-9)
        phrase += 1

    lo, hi = key.degree_of(style.melody_range[0]) + 1, key.degree_of(style.melody_range[1])
    degree = (lo + hi) // 2
    notes = []
    for i, t in enumerate(onsets):
        chord = harmony[chord_at(harmony, t)].chord
        on_beat = abs(t - round(t)) < 1e-9
        if on_beat or i == 0:
            # Strong beat: the chord tone nearest to where the line is, a little randomness in the pick.
            options = [d for d in range(max(lo, degree - 4), min(hi, degree + 4) + 1)
                       if key.pitch_of_degree_index(d) % 12 in chord.tones]
            if options:
                dist = np.array([abs(d - degree) for d in options], dtype=float)
                weights = 1.0 / (1.0 + dist)
                degree = int(rng.choice(options, p=weights / weights.sum()))
        else:
            degree += int(rng.choice(_STEP_CHOICES, p=_STEP_WEIGHTS / _STEP_WEIGHTS.sum()))
        if degree < lo:
            degree = lo + (lo - degree)
        if degree > hi:
            degree = hi - (degree - hi)
        degree = min(max(degree, lo), hi)
        nxt = onsets[i + 1] if i + 1 < len(onsets) else total
        bar_end = (int(t // float(ts.bar_beats)) + 1) * float(ts.bar_beats)
        phrase_end = (i + 1 == len(onsets)) or int(nxt // (4 * float(ts.bar_beats))) != int(t // (4 * float(ts.bar_beats)))
        length = (nxt - t) if phrase_end else min(nxt - t, 2.0) * 0.9
        length = min(length, total - t, max(bar_end - t, 0.25) if not phrase_end else total - t)
        velocity = 92 if on_beat else 78
        notes.append(Note(key.pitch_of_degree_index(degree), t, max(length, 0.05), velocity))
    return notes
