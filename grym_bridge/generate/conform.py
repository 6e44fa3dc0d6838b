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

Loudness and true peak are measured once, on the signal before a mono clip is
copied to both channels (a copy has the same true peak, and exactly the
channel count times the energy: the gating sees the same blocks), and the
gain is applied to that signal. With a CUDA device the 4x-oversampled true
peak, the slow part on a CPU, runs there (`true_peak_dbtp_torch`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from grym_bridge.analysis.loudness import _HALF_TAPS, KWeightedEnergy, _interpolator, true_peak_dbtp
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
    #: The file's interleaved 24-bit little-endian PCM, when the conform made it (`conform_gpu`); else None.
    pcm24: bytes | None = None


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


def normalize_loudness(x: np.ndarray, sample_rate: int, target_lufs: float | None, *, copies: int = 1,
                       device: str | None = None) -> tuple[np.ndarray, float, float, float]:
    """`x` brought to `target_lufs` (gain capped at +40 dB) and kept under -1 dBTP.

    `copies`: how many times each channel of `x` will be repeated in the file (2 for mono written as
    stereo); loudness is that of the file. Returns (audio, gain dB, loudness after the gain, true peak after
    the gain).
    """
    peak = true_peak_dbtp_torch(x, sample_rate, device) if device == "cuda" else true_peak_dbtp(x, sample_rate)
    energy = KWeightedEnergy(x, sample_rate)
    gain_db, measured = choose_gain(energy, peak, target_lufs, copies)
    if gain_db == 0.0:
        return x, 0.0, measured, peak  # no target, or silence (below the -70 LUFS gate): nothing to normalize
    y = x * np.float32(10.0 ** (gain_db / 20.0))
    lufs = loudness_after(energy, measured, gain_db, copies)
    return y.astype(np.float32, copy=False), float(gain_db), lufs, peak + gain_db  # a true peak scales with the gain


def choose_gain(energy: KWeightedEnergy, peak: float, target_lufs: float | None, copies: int) -> tuple[float, float]:
    """(gain dB, loudness measured before it) for a signal of `energy` and true peak `peak` dBTP.

    The gain brings it to `target_lufs`, at most +40 dB, lowered so the true peak stays under -1 dBTP;
    0 without a target or for silence (below the -70 LUFS gate).
    """
    measured = _lufs_scaled(energy, float(copies))
    if target_lufs is None or not math.isfinite(measured):
        return 0.0, measured
    gain_db = min(target_lufs - measured, MAX_GAIN_DB)
    if math.isfinite(peak) and peak + gain_db > PEAK_CEILING_DBTP:
        # A plain gain, not a limiter: the file ends up quieter than the target rather than clipped.
        gain_db = PEAK_CEILING_DBTP - peak
    return float(gain_db), measured


def loudness_after(energy: KWeightedEnergy, measured: float, gain_db: float, copies: int) -> float:
    """Integrated loudness of the signal of `energy` after a plain gain of `gain_db`."""
    if gain_db == 0.0:
        return measured
    # The same gating over energies scaled by the gain squared (float32 gain, as applied to the samples).
    return _lufs_scaled(energy, copies * float(np.float32(10.0 ** (gain_db / 20.0))) ** 2)


def _lufs_scaled(energy: KWeightedEnergy, factor: float) -> float:
    """Integrated loudness of the signal `energy` measured, with every sample's energy times `factor`."""
    scaled = copy.copy(energy)
    scaled.step_sums = energy.step_sums * factor
    scaled.total = energy.total * factor
    return scaled.integrated_lufs()


def true_peak_dbtp_torch(samples: np.ndarray, sample_rate: int, device: str = "cuda") -> float:
    """`analysis.loudness.true_peak_dbtp` computed with torch on `device` (a few ms less per clip on a GPU).

    The same 4x (2x from 96 kHz) Kaiser-windowed sinc interpolator, every position interpolated.
    """
    import torch

    x = np.asarray(samples, dtype=np.float32)
    x = x[np.newaxis, :] if x.ndim == 1 else x
    if x.size == 0:
        return float("-inf")
    factor = 4 if sample_rate < 96000 else 2 if sample_rate < 192000 else 1
    t = torch.from_numpy(np.ascontiguousarray(x)).to(device, non_blocking=False)
    best = t.abs().amax()
    if factor > 1:
        w = torch.from_numpy(np.ascontiguousarray(_interpolator(factor).T)).to(device)[:, None, :]
        # column p of the interpolator weighs x[n-5 .. n+6] for the position p/factor past x[n]
        padded = torch.nn.functional.pad(t[:, None, :], (_HALF_TAPS - 1, _HALF_TAPS))
        best = torch.maximum(best, torch.nn.functional.conv1d(padded, w).abs().amax())
    peak = float(best)
    return 20.0 * math.log10(peak) if peak > 0.0 else float("-inf")


def conform(samples: np.ndarray, source_rate: int, spec: ConformSpec, device: str | None = None) -> Conformed:
    """Conform model output `samples` (1-D or `(channels, frames)`) at `source_rate` to `spec`.

    `device` "cuda" measures the true peak on the GPU; anything else, on the CPU.
    """
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
    copies = spec.channels // x.shape[0] if x.shape[0] < spec.channels else 1
    # Measured as the file will be (a mono clip copied to stereo reads 3 LU louder), on one copy.
    x, gain_db, lufs, peak = normalize_loudness(x, spec.sample_rate, spec.target_lufs, copies=copies, device=device)
    if copies > 1:
        x = np.repeat(x, copies, axis=0)
    x = np.ascontiguousarray(x, dtype=np.float32)
    return Conformed(samples=x, sample_rate=spec.sample_rate, gain_db=gain_db, lufs=lufs, true_peak_dbtp=peak)
