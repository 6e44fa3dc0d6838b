"""Fitting generated audio to the session: bar length, loop point, fades, loudness, rate, channels.

A model gives mono audio at its own rate (16 kHz for AudioLDM) and roughly
the length asked for. `conform` turns that into what a DAW clip slot wants:
exactly `bars` whole bars at the session tempo (or exactly `duration_s`), at
the DAW's sample rate, mono or stereo, loudness-normalized, and either

- a **loop**: the model generated a little more than the loop; that tail is
  crossfaded (equal power) into the loop's start, so the last sample flows
  into the first one the way the model's own audio continued; or
- a **one-shot**: a short fade-in against a click at the start, and a fade-out.

Time-stretching to the tempo is not done: the model is asked for the exact
length instead, and the cut lands on the bar line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from grym_bridge.analysis.loudness import integrated_lufs, true_peak_dbtp
from grym_bridge.audio_io import resample
from grym_bridge.errors import BadRequest

#: Loudness normalization never raises the level by more than this (near-silent audio stays quiet).
MAX_GAIN_DB = 40.0
#: Peaks are kept under this after normalization.
PEAK_CEILING_DBTP = -1.0
#: Extra audio asked of the model, so resampling and rounding never leave the cut a frame short.
SOURCE_MARGIN_S = 0.1


@dataclass(frozen=True)
class ConformSpec:
    """How to conform: the target length in frames at `sample_rate`, loop or one-shot, and levels."""

    frames: int
    sample_rate: int
    channels: int = 2
    loop: bool = False
    crossfade_s: float = 0.05
    fade_in_s: float = 0.005
    fade_out_s: float = 0.05
    target_lufs: float | None = -14.0

    def source_seconds(self) -> float:
        """How much audio to ask the model for: the target plus the loop's crossfade tail."""
        return self.frames / self.sample_rate + (self.crossfade_s if self.loop else 0.0) + SOURCE_MARGIN_S


@dataclass(frozen=True)
class Conformed:
    """Conformed samples `(channels, frames)` and what was done to them."""

    samples: np.ndarray
    sample_rate: int
    gain_db: float
    lufs: float
    true_peak_dbtp: float


def bars_to_frames(bars: float, tempo_bpm: float, beats_per_bar: int, sample_rate: int) -> int:
    """Frames in `bars` bars of `beats_per_bar` beats at `tempo_bpm` (rounded to the nearest frame)."""
    if bars <= 0:
        raise BadRequest(f"bars: must be at least 1, got {bars}")
    if tempo_bpm <= 0:
        raise BadRequest(f"tempo: must be more than 0 BPM, got {tempo_bpm}")
    return int(round(bars * beats_per_bar * 60.0 / tempo_bpm * sample_rate))


def _fade(n: int, rising: bool) -> np.ndarray:
    """An equal-power (sine) fade of `n` frames."""
    t = (np.arange(n, dtype=np.float64) + 0.5) / max(n, 1)
    curve = np.sin(0.5 * np.pi * t) if rising else np.cos(0.5 * np.pi * t)
    return curve.astype(np.float32)


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """`x` cut to `n` frames, or repeated until it is that long (a model may give a few frames less)."""
    if x.shape[-1] >= n:
        return x[..., :n]
    reps = math.ceil(n / max(x.shape[-1], 1))
    return np.tile(x, (1,) * (x.ndim - 1) + (reps,))[..., :n]


def make_loop(x: np.ndarray, frames: int, crossfade: int) -> np.ndarray:
    """A loop of exactly `frames`: the `crossfade` frames after the loop end are blended into its start."""
    crossfade = max(0, min(crossfade, frames // 2))
    src = _fit_length(x, frames + crossfade)
    out = src[..., :frames].copy()
    if crossfade:
        tail = src[..., frames : frames + crossfade]
        out[..., :crossfade] = out[..., :crossfade] * _fade(crossfade, True) + tail * _fade(crossfade, False)
    return out


def make_one_shot(x: np.ndarray, frames: int, fade_in: int, fade_out: int) -> np.ndarray:
    """`x` cut to exactly `frames`, with a fade-in and a fade-out."""
    out = _fit_length(x, frames).copy()
    fade_in, fade_out = min(fade_in, frames // 2), min(fade_out, frames // 2)
    if fade_in:
        out[..., :fade_in] *= _fade(fade_in, True)
    if fade_out:
        out[..., frames - fade_out :] *= _fade(fade_out, False)
    return out


def normalize_loudness(x: np.ndarray, sample_rate: int, target_lufs: float | None) -> tuple[np.ndarray, float, float]:
    """`x` brought to `target_lufs` (gain capped at +40 dB) and kept under -1 dBTP; (audio, gain dB, true peak)."""
    peak = true_peak_dbtp(x, sample_rate)
    if target_lufs is None:
        return x, 0.0, peak
    measured = integrated_lufs(x, sample_rate)
    if not math.isfinite(measured):
        return x, 0.0, peak  # silence (below the -70 LUFS gate): nothing to normalize
    gain_db = min(target_lufs - measured, MAX_GAIN_DB)
    if math.isfinite(peak) and peak + gain_db > PEAK_CEILING_DBTP:
        # A plain gain, not a limiter: the file ends up quieter than the target rather than clipped.
        gain_db = PEAK_CEILING_DBTP - peak
    y = x * np.float32(10.0 ** (gain_db / 20.0))
    return y.astype(np.float32, copy=False), float(gain_db), peak + gain_db  # a true peak scales with the gain


def conform(samples: np.ndarray, source_rate: int, spec: ConformSpec) -> Conformed:
    """Conform model output `samples` (1-D or `(channels, frames)`) at `source_rate` to `spec`."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[np.newaxis, :]
    if x.size == 0 or not np.isfinite(x).all():
        raise BadRequest("the model returned empty or non-finite audio; try another seed or more steps")
    x = resample(x, source_rate, spec.sample_rate)
    if x.shape[0] > spec.channels:
        x = x.mean(axis=0, keepdims=True)
    if spec.loop:
        x = make_loop(x, spec.frames, int(round(spec.crossfade_s * spec.sample_rate)))
    else:
        x = make_one_shot(
            x, spec.frames, int(round(spec.fade_in_s * spec.sample_rate)), int(round(spec.fade_out_s * spec.sample_rate))
        )
    if x.shape[0] < spec.channels:
        x = np.repeat(x, spec.channels, axis=0)
    # Measured after the channel count is final: a mono file copied to stereo reads 3 LU louder.
    x, gain_db, peak = normalize_loudness(x, spec.sample_rate, spec.target_lufs)
    x = np.ascontiguousarray(x, dtype=np.float32)
    return Conformed(samples=x, sample_rate=spec.sample_rate, gain_db=gain_db,
                     lufs=integrated_lufs(x, spec.sample_rate), true_peak_dbtp=peak)
