"""Meter from the tracked beats: 4/4, 3/4 or 6/8, where the bars start, and the DAW tempo.

Two questions, each read off what the beat tracker found:
- **how a beat divides**: onsets a third and two thirds of the way through the beats (a jig's
  eighth notes) against onsets halfway (straight eighths or sixteenths);
- **how beats group**: chords change, and kick and bass land, on the first beat of a bar. The
  accent of each beat (harmonic change plus low-band onset strength) is folded over groups of 3
  and of 4 beats; the grouping whose best phase stands out most wins, and that phase is the first
  downbeat.

A beat divided in three is 6/8 (the beat a dotted quarter), unless it is faster than any dotted
quarter (then it is swing: 4/4); divided in two and grouped in threes, 3/4; otherwise 4/4. The DAW's tempo counts quarter notes, so a 6/8 beat at 100
per minute is 150 BPM there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Settings chosen on the tune part of bench/evalset.py (see the module docstring there).
TERNARY_RATIO = 1.05  # thirds must beat halves by this much to call the beat compound
TRIPLE_MARGIN = 1.05  # a 3-beat grouping must stand out this much more than a 4-beat one
MIN_THIRDS = 0.1  # and be there at all: chords struck on the beat have neither thirds nor halves
#: A beat divided in three this fast is a swung quarter note (jazz at 140: 4/4 felt in 12/8), not
#: a dotted quarter: 6/8 beats on the tune part run at 64..112 per minute, swing at 140.
MAX_COMPOUND_BEAT_BPM = 126.0
LOW_WEIGHT = 1.0  # low-band (kick, bass) onset strength against harmonic change in the accent


@dataclass
class Meter:
    name: str  # "4/4", "3/4" or "6/8"
    beats_per_bar: int  # felt beats: 4, 3 or 2 (dotted quarters in 6/8)
    phase: int  # index into the beats of the first downbeat
    quarter_per_beat: float  # 1.0, or 1.5 in 6/8: DAW tempo = beat tempo x this
    ternary: float  # the thirds-over-halves ratio measured (for the curious)
    confidence: float  # 0..1, how clearly the chosen grouping won


def _at(env: np.ndarray, positions: np.ndarray, frame_rate: float, half_width: int) -> np.ndarray:
    """The envelope's maximum within `half_width` frames of each time in `positions` (seconds)."""
    centres = np.clip(np.round(positions * frame_rate).astype(int), 0, env.size - 1)
    window = np.clip(centres[..., None] + np.arange(-half_width, half_width + 1), 0, env.size - 1)
    return env[window].max(axis=-1)


def subdivision(env: np.ndarray, frame_rate: float, beats: np.ndarray, lag_frames: float) -> tuple[float, float]:
    """(ratio, level): the mean onset strength at 1/3 and 2/3 of each beat over that at 1/2 (or at
    1/4, 1/2, 3/4), > 1 for a compound beat; and that thirds strength itself (0..1 of the loud onsets)."""
    if beats.size < 3 or env.max() <= 0:
        return 1.0, 0.0
    scale = float(np.percentile(env, 99)) or float(env.max())
    norm = np.minimum(env / scale, 1.0)
    start = beats[:-1] - lag_frames / frame_rate
    length = np.diff(beats)
    hw = max(1, int(round(float(np.median(length)) * frame_rate / 24)))
    thirds = float(_at(norm, start[:, None] + length[:, None] * np.array([1 / 3, 2 / 3]), frame_rate, hw).mean())
    halves = _at(norm, start[:, None] + length[:, None] * np.array([1 / 4, 1 / 2, 3 / 4]), frame_rate, hw)
    # an eighth-note line fills the half; a sixteenth line also fills the quarters
    halves_score = max(float(halves[:, 1].mean()), float(halves.mean()))
    return (thirds + 1e-9) / (halves_score + 1e-9), thirds


def grouping(accent: np.ndarray, sizes: tuple[int, ...] = (3, 4)) -> dict[int, tuple[float, int]]:
    """Per group size: (how far its best phase stands out, that phase). Phase 0 is the first beat."""
    out: dict[int, tuple[float, int]] = {}
    mean = float(accent.mean()) if accent.size else 0.0
    for m in sizes:
        if accent.size < 2 * m or mean <= 0:
            out[m] = (1.0, 0)
            continue
        folded = [float(accent[p::m].mean()) for p in range(m)]
        p = int(np.argmax(folded))
        out[m] = (folded[p] / mean, p)
    return out


def estimate_meter(env: np.ndarray, low_env: np.ndarray, frame_rate: float, beats: np.ndarray,
                   harmonic_change: np.ndarray, lag_frames: float, fixed: str | None = None,
                   beat_bpm: float = 0.0) -> Meter:
    """The meter of a clip from its onset envelopes, tracked beats and per-beat harmonic change.

    `fixed` ("4/4", "3/4", "6/8": the session's time signature) skips the choice and only finds
    the first downbeat; `beat_bpm` is the tracked beat's tempo.
    """
    ratio, level = subdivision(env, frame_rate, beats, lag_frames)
    low = low_env / low_env.max() if low_env.size and low_env.max() > 0 else np.zeros_like(low_env)
    strength = _at(low, beats - lag_frames / frame_rate, frame_rate, 1) if beats.size else np.zeros(0)
    accent = harmonic_change[: beats.size] + LOW_WEIGHT * strength
    accent[:1] = np.maximum(accent[:1], accent.mean() if accent.size else 0.0)  # no change is measured into beat 0
    groups = grouping(accent)
    (s3, p3), (s4, p4) = groups[3], groups[4]
    if fixed is not None:
        name = fixed
    elif ratio >= TERNARY_RATIO and level >= MIN_THIRDS and beat_bpm < MAX_COMPOUND_BEAT_BPM:
        name = "6/8"
    elif s3 > TRIPLE_MARGIN * s4:
        name = "3/4"
    else:
        name = "4/4"
    if name == "3/4":
        return Meter(name, 3, p3, 1.0, ratio, float(np.clip((s3 - s4) / max(s3, 1e-9), 0.0, 1.0)))
    if name == "6/8":
        # bars of two dotted-quarter beats: the 4-beat fold spans two bars, its phase mod 2 is the bar's
        two = grouping(accent, (2,))[2]
        return Meter(name, 2, two[1], 1.5, ratio, float(np.clip(1.0 - TERNARY_RATIO / max(ratio, 1e-9), 0.0, 1.0)))
    return Meter(name, 4, p4, 1.0, ratio, float(np.clip((s4 - s3) / max(s4, 1e-9), 0.0, 1.0)))
