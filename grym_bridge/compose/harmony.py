"""Chord progressions laid out in time, voice-led voicings, and the step patterns the parts share."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from grym_bridge.compose.clip import Note
from grym_bridge.compose.styles import Style
from grym_bridge.compose.theory import MODES, Chord, Key, TimeSignature, chord_on_degree


@dataclass(frozen=True)
class ChordEvent:
    """A chord sounding from `start` for `duration` beats; `degree` is 1-based."""

    start: float
    duration: float
    degree: int
    chord: Chord

    @property
    def end(self) -> float:
        return self.start + self.duration


def plan_harmony(
    key: Key, style: Style, ts: TimeSignature, bars: int, rng: np.random.Generator,
    progression: tuple[int, ...] | None = None,
) -> list[ChordEvent]:
    """Lay the style's progression (or the given one) over `bars` bars, cycling it as needed."""
    prog = progression or style.progressions[int(rng.integers(len(style.progressions)))]
    total = float(bars * ts.bar_beats)
    span = float(ts.bar_beats) / style.chords_per_bar
    count = math.ceil(total / span - 1e-9)
    events = []
    for i in range(count):
        degree = prog[i % len(prog)]
        scale = None
        # Jazz's V (and vii) in minor takes the raised leading tone of harmonic minor.
        if not style.diatonic and key.mode == "minor" and degree in (5, 7):
            scale = MODES["harmonic minor"]
        chord = chord_on_degree(key, degree, style.chord_size, scale)
        if style.chord_size == 5 and (chord.tones[4] - chord.root) % 12 == 1:
            chord = chord_on_degree(key, degree, 4, scale)  # a minor ninth over the root clashes: play the seventh
        start = i * span
        events.append(ChordEvent(start, min(span, total - start), degree, chord))
    return events


def chord_at(harmony: list[ChordEvent], beat: float) -> int:
    """Index of the chord sounding at `beat`."""
    for i, ev in enumerate(harmony):
        if ev.start <= beat + 1e-9 < ev.end:
            return i
    return len(harmony) - 1


def pattern_events(pattern: str, ts: TimeSignature, bars: int) -> list[tuple[float, float, str]]:
    """(start, duration, symbol) for every note a step pattern starts, bar by bar.

    A symbol starts a note, `-` holds the previous one, `.` (or the bar's end) stops it.
    """
    out: list[tuple[float, float, str]] = []
    steps = ts.steps_per_bar
    for bar in range(bars):
        bar_start = float(bar * ts.bar_beats)
        current: list | None = None
        for i in range(steps):
            ch = pattern[i % len(pattern)]
            if ch == "-":
                if current is not None:
                    current[1] += 0.25
                continue
            if current is not None:
                out.append((current[0], current[1], current[2]))
                current = None
            if ch != ".":
                current = [bar_start + i * 0.25, 0.25, ch]
        if current is not None:
            out.append((current[0], current[1], current[2]))
    return out


def split_at_changes(
    events: list[tuple[float, float, str]], harmony: list[ChordEvent]
) -> list[tuple[float, float, str, int]]:
    """Cut held notes where the chord changes; the piece after the cut is struck again on the new chord."""
    out = []
    for start, dur, sym in events:
        t, end = start, start + dur
        while t < end - 1e-9:
            idx = chord_at(harmony, t)
            seg_end = min(end, harmony[idx].end)
            out.append((t, seg_end - t, sym, idx))
            t = seg_end
    return out


def _candidate_voicings(pcs: tuple[int, ...], low: int, high: int, max_span: int) -> list[tuple[int, ...]]:
    options = [[p for p in range(low, high + 1) if p % 12 == pc] for pc in pcs]
    out = []
    for combo in itertools.product(*options):
        v = tuple(sorted(combo))
        if len(set(v)) == len(v) and v[-1] - v[0] <= max_span:
            out.append(v)
    return out


def _movement(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    if len(a) == len(b):
        return float(sum(abs(x - y) for x, y in zip(a, b)))
    return float(sum(min(abs(x - y) for y in a) for x in b))


def voice_lead(chords: list[Chord], center: int, low: int = 48, high: int = 79) -> list[tuple[int, ...]]:
    """Voicings for `chords` that move as little as possible from each one to the next.

    Ninth chords drop their fifth (four voices, as players voice them). The
    first voicing sits nearest `center`; later ones minimise the summed
    voice motion, with a small pull back to `center` so the line cannot drift.
    """
    result: list[tuple[int, ...]] = []
    prev: tuple[int, ...] | None = None
    for chord in chords:
        pcs = chord.tones if len(chord.tones) < 5 else chord.tones[:2] + chord.tones[3:]
        cands = _candidate_voicings(pcs, low, high, max_span=17)

        def cost(v: tuple[int, ...]) -> float:
            pull = abs(sum(v) / len(v) - center)
            return pull if prev is None else _movement(prev, v) + 0.35 * pull

        best = min(cands, key=lambda v: (cost(v), v))
        result.append(best)
        prev = best
    return result


def render_chords(
    harmony: list[ChordEvent], style: Style, ts: TimeSignature, bars: int
) -> list[Note]:
    """The chord part: voice-led voicings played in the style's chord rhythm."""
    voicings = voice_lead([ev.chord for ev in harmony], style.chord_center)
    notes = []
    for start, dur, _sym, idx in split_at_changes(pattern_events(style.chord_rhythm, ts, bars), harmony):
        on_beat = abs(start - round(start)) < 1e-9
        velocity = 84 if on_beat else 74
        notes.extend(Note(p, start, dur, velocity) for p in voicings[idx])
    return notes
