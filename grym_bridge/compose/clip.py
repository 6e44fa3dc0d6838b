"""Notes and clips: what every composer returns, and the feel applied to them (swing, humanize).

Times are in quarter-note beats from the clip's start, as floats; a clip knows
its exact length in bars so the written file ends exactly there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grym_bridge.compose.theory import Key, TimeSignature

DRUM_CHANNEL = 9  # General MIDI percussion (channel 10 counted from 1)


@dataclass(frozen=True)
class Note:
    """One note: MIDI pitch, start and length in beats, velocity 1..127, channel 0..15."""

    pitch: int
    start: float
    duration: float
    velocity: int = 96
    channel: int = 0

    @property
    def end(self) -> float:
        return self.start + self.duration

    def compact(self) -> list[float | int]:
        """[pitch, start_beat, duration_beats, velocity]: the note list clients get."""
        return [self.pitch, round(self.start, 4), round(self.duration, 4), self.velocity]


@dataclass
class Clip:
    """Notes with the tempo, meter, key and exact length they were composed for."""

    notes: list[Note]
    tempo: float
    time_signature: TimeSignature
    bars: int
    key: Key | None = None
    name: str = "grym"
    chords: list[tuple[float, str]] = field(default_factory=list)  # (start beat, symbol): written as markers

    @property
    def length_beats(self) -> float:
        return float(self.bars * self.time_signature.bar_beats)

    def sorted_notes(self) -> list[Note]:
        return sorted(self.notes, key=lambda n: (n.start, n.pitch))


def apply_feel(
    notes: list[Note],
    length_beats: float,
    rng: np.random.Generator,
    *,
    swing: float = 0.0,
    swing_unit: float = 0.25,
    humanize: float = 0.0,
) -> list[Note]:
    """Swing the off-beat subdivisions and humanize timing and velocity, keeping every note inside the clip.

    `swing` 0 is straight and 1 a full triplet feel: the second note of each
    pair of `swing_unit` beats moves from half-way towards two thirds of the
    pair. `humanize` 0..1 scales a small timing jitter (at most a 64th note)
    and a velocity jitter (at most +-12). Notes on beat 0 never move earlier,
    and no note ends after `length_beats`, so the clip length stays exact.
    """
    swing = float(np.clip(swing, 0.0, 1.0))
    humanize = float(np.clip(humanize, 0.0, 1.0))
    pair = 2 * swing_unit
    out: list[Note] = []
    for n in notes:
        start = n.start
        pos = start % pair
        if swing and abs(pos - swing_unit) < 1e-6:
            start += swing * pair / 6.0
        velocity = n.velocity
        if humanize:
            start += float(np.clip(rng.normal(0.0, humanize * 0.02), -0.0625, 0.0625))
            velocity += int(round(float(np.clip(rng.normal(0.0, humanize * 6.0), -12, 12))))
        start = min(max(start, 0.0), length_beats - 1e-3)
        duration = min(n.duration, length_beats - start)
        if n.start == 0.0:
            start, duration = 0.0, min(n.duration, length_beats)
        out.append(Note(n.pitch, start, max(duration, 1e-3), int(np.clip(velocity, 1, 127)), n.channel))
    return out
