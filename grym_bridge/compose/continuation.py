"""Continuing a clip from the note and rhythm transitions learned from it (and from remembered patterns).

The clip becomes a list of events (notes starting together). Two Markov
models are counted from the events:

- pitch: order 2 over (step of the top note in scale degrees, chord shape
  under it), backing off to order 1 and then to the plain token counts.
  Scale degrees make the model transposition-free and keep every generated
  note in the key; drum clips use the set of drum notes as the token.
- rhythm: the next inter-onset interval given (position in the bar,
  previous interval), backing off to the position alone, then to all.

Extra sequences (MIDI patterns from feature memory) add their counts at a
lower weight, so the user's own clip leads.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Hashable

import numpy as np

from grym_bridge.compose.clip import DRUM_CHANNEL, Note
from grym_bridge.compose.theory import MODES, Key, TimeSignature

GRID = 1.0 / 12.0  # onsets snap to 1/48 of a bar in 4/4: sixteenths and triplets both land on it

# Krumhansl-Kessler key profiles, for clips without a (believable) key signature.
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_key(notes: list[Note]) -> Key:
    """The major or minor key whose profile best matches the duration-weighted pitch classes."""
    hist = np.zeros(12)
    for n in notes:
        if n.channel != DRUM_CHANNEL:
            hist[n.pitch % 12] += n.duration
    best, best_r = Key(0, "major"), -2.0
    for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1]) if hist.any() else 0.0
            if r > best_r + 1e-9:
                best, best_r = Key(tonic, mode), r
    return best


def in_key_fraction(notes: list[Note], key: Key) -> float:
    """Share of the pitched notes' duration that lies in `key`."""
    pitched = [n for n in notes if n.channel != DRUM_CHANNEL]
    total = sum(n.duration for n in pitched)
    return sum(n.duration for n in pitched if key.contains(n.pitch)) / total if total else 1.0


def source_key(notes: list[Note], declared: Key | None) -> Key:
    """The declared key if it fits the notes as well as the estimate does (it may name a mode), else the estimate."""
    estimate = estimate_key(notes)
    if declared is not None and declared.mode in MODES and in_key_fraction(notes, declared) >= in_key_fraction(notes, estimate) - 1e-9:
        return declared
    return estimate


@dataclass
class _Event:
    time: float
    pitches: tuple[int, ...]
    duration: float
    velocity: int


def _events(notes: list[Note]) -> list[_Event]:
    groups: dict[int, list[Note]] = defaultdict(list)
    for n in notes:
        groups[round(n.start / GRID)].append(n)
    out = []
    for slot in sorted(groups):
        group = groups[slot]
        out.append(_Event(slot * GRID, tuple(sorted({n.pitch for n in group})),
                          float(np.mean([n.duration for n in group])), max(n.velocity for n in group)))
    return out


@dataclass
class _Counts:
    table: dict[Hashable, dict[Hashable, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))

    def add(self, context: Hashable, token: Hashable, weight: float) -> None:
        self.table[context][token] += weight

    def sample(self, context: Hashable, rng: np.random.Generator) -> Hashable | None:
        row = self.table.get(context)
        if not row:
            return None
        tokens = sorted(row, key=repr)  # a fixed order, so a seed always gives the same clip
        weights = np.array([row[t] for t in tokens])
        return tokens[int(rng.choice(len(tokens), p=weights / weights.sum()))]


class TransitionModel:
    """Pitch and rhythm transitions counted from one or more note sequences."""

    def __init__(self, key: Key, ts: TimeSignature, drums: bool) -> None:
        self.key, self.ts, self.drums = key, ts, drums
        self.pitch = _Counts()
        self.rhythm = _Counts()
        self.durations: list[float] = []
        self.velocities: list[int] = []

    def _token_stream(self, events: list[_Event], key: Key) -> list[Hashable]:
        if self.drums:
            return [ev.pitches for ev in events]
        tokens, prev_top = [], None
        for ev in events:
            degrees = [key.degree_of(p) for p in ev.pitches]
            top = degrees[-1]
            shape = tuple(sorted({top - d for d in degrees[:-1]}))
            tokens.append((0 if prev_top is None else top - prev_top, shape))
            prev_top = top
        return tokens

    def learn(self, notes: list[Note], key: Key, weight: float = 1.0) -> None:
        """Count the transitions of one sequence (its own key makes its degrees)."""
        events = _events([n for n in notes if (n.channel == DRUM_CHANNEL) == self.drums])
        if len(events) < 2:
            return
        tokens = self._token_stream(events, key)
        bar = float(self.ts.bar_beats)
        for i in range(1, len(tokens)):
            self.pitch.add(("1", tokens[i - 1]), tokens[i], weight)
            self.pitch.add("0", tokens[i], weight)
            if i >= 2:
                self.pitch.add(("2", tokens[i - 2], tokens[i - 1]), tokens[i], weight)
        iois = [round((b.time - a.time) / GRID) for a, b in zip(events, events[1:])]
        for i, ioi in enumerate(iois):
            if ioi <= 0:
                continue
            pos = round((events[i].time % bar) / GRID)
            prev = iois[i - 1] if i > 0 else None
            self.rhythm.add((pos, prev), ioi, weight)
            self.rhythm.add(pos, ioi, weight)
            self.rhythm.add("all", ioi, weight)
        self.durations.extend(ev.duration / max(GRID, (b.time - ev.time)) for ev, b in zip(events, events[1:]))
        self.velocities.extend(ev.velocity for ev in events)

    def next_token(self, history: list[Hashable], rng: np.random.Generator) -> Hashable:
        for context in ((("2", history[-2], history[-1]) if len(history) >= 2 else None),
                        (("1", history[-1]) if history else None), "0"):
            if context is not None:
                token = self.pitch.sample(context, rng)
                if token is not None:
                    return token
        return history[-1] if history else (0, ())

    def next_ioi(self, pos: int, prev: int | None, rng: np.random.Generator) -> int:
        for context in ((pos, prev), pos, "all"):
            ioi = self.rhythm.sample(context, rng)
            if ioi is not None:
                return int(ioi)
        return round(1.0 / GRID)


def continue_notes(
    source: list[Note], key: Key, ts: TimeSignature, source_beats: float, bars: int,
    rng: np.random.Generator, extra: list[list[Note]] | None = None, extra_weight: float = 0.5,
) -> list[Note]:
    """`bars` bars that follow `source`, timed from 0 (the source's end), in `key` and at the source's density."""
    drums = all(n.channel == DRUM_CHANNEL for n in source)
    model = TransitionModel(key, ts, drums)
    model.learn(source, key)
    for seq in extra or []:
        if seq:
            model.learn(seq, estimate_key(seq), extra_weight)
    events = _events([n for n in source if (n.channel == DRUM_CHANNEL) == drums])
    history = model._token_stream(events, key)[-2:]
    channel = DRUM_CHANNEL if drums else next(n.channel for n in source if n.channel != DRUM_CHANNEL)
    degrees = [key.degree_of(p) for ev in events for p in ev.pitches] if not drums else [0]
    lo, hi = min(degrees), max(degrees)
    top = key.degree_of(events[-1].pitches[-1]) if not drums else 0
    bar = float(ts.bar_beats)
    end = float(bars * bar)
    t = events[-1].time - source_beats  # continue from the source's last onset, counted from its end
    prev_ioi = round((events[-1].time - events[-2].time) / GRID) if len(events) >= 2 else None
    out: list[Note] = []
    while True:
        ioi = model.next_ioi(round((t % bar) / GRID) % round(bar / GRID), prev_ioi, rng)  # % keeps t<0 in the bar
        t += ioi * GRID
        prev_ioi = ioi
        if t >= end - 1e-9:
            break
        token = model.next_token(history, rng)
        history = (history + [token])[-2:]
        if t < -1e-9:
            continue
        velocity = int(model.velocities[int(rng.integers(len(model.velocities)))]) if model.velocities else 90
        ratio = float(model.durations[int(rng.integers(len(model.durations)))]) if model.durations else 1.0
        duration = min(max(ratio * ioi * GRID, GRID), end - t)
        if drums:
            out.extend(Note(p, t, duration, velocity, channel) for p in token)  # type: ignore[union-attr]
            continue
        step, shape = token  # type: ignore[misc]
        top += step
        if top > hi + 2 or top < lo - 2:  # keep the register of the source: turn the line around
            top -= 2 * step
        top = min(max(top, lo - 2), hi + 2)
        for offset in (0, *shape):
            out.append(Note(key.pitch_of_degree_index(top - offset), t, duration, velocity, channel))
    return out
