"""Loudness and peaks: ITU-R BS.1770-4 / EBU R128 integrated loudness, loudness range, true peak.

All functions take float samples shaped `(channels, samples)` (or 1-D for
mono) at their original sample rate: the K-weighting filters are derived for
that rate, so nothing is resampled.

Conventions (they matter to callers):
- Silence (or anything quieter than the -70 LUFS absolute gate) has an
  integrated loudness of `-inf`; `grym_bridge.results.to_jsonable` turns it
  into JSON `null`. Peaks of digital silence are `-inf` dBFS likewise.
- Channel weights follow BS.1770-4 for the usual layouts: 1 to 4 channels are
  weighted 1.0 each; with 5 channels (L R C Ls Rs) the surrounds get 1.41;
  with 6 or more (L R C LFE Ls Rs ...) the LFE (4th) is left out and the 5th
  and 6th get 1.41.
- A clip shorter than one 400 ms gating block is measured as one block.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
_BLOCK_S = 0.4
_STEP_S = 0.1
_SHORT_TERM_S = 3.0


def _as_2d(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples)
    return x[np.newaxis, :] if x.ndim == 1 else x


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """The two K-weighting biquads (high shelf, then RLB high-pass) for `sample_rate`.

    BS.1770 tabulates them for 48 kHz only; these are the same analog
    prototypes mapped with the bilinear transform, so any rate gets the same
    curve (at 48 kHz they match the standard's coefficients to 1e-8).
    """
    fs = float(sample_rate)
    # stage 1: +4 dB high shelf modelling the head
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / fs)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
        1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0,
    ]
    # stage 2: the "revised low-frequency B" high-pass
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / fs)
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770-4 channel weights for `channels` (see the module docstring for the layouts)."""
    w = np.ones(channels, dtype=np.float64)
    if channels == 5:
        w[3:5] = 1.41
    elif channels >= 6:
        w[3] = 0.0
        w[4:6] = 1.41
    return w


def weighted_power(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-sample K-weighted power summed over channels with their weights (float64, 1-D).

    Integrated loudness and loudness range both start from this, so callers
    that want both compute it once and pass it to `integrated_lufs_from_power`
    and `loudness_range_from_power`.
    """
    x = _as_2d(samples)
    filtered = signal.sosfilt(k_weighting_sos(sample_rate).astype(x.dtype), x, axis=-1)
    w = channel_weights(x.shape[0])
    return np.einsum("c,cn->n", w, filtered.astype(np.float64) ** 2)


def _block_powers(power: np.ndarray, sample_rate: int, block_s: float, step_s: float) -> np.ndarray:
    """Mean power of every `block_s` window stepped by `step_s` (a clip shorter than a window is one window)."""
    n = power.shape[0]
    length = int(round(block_s * sample_rate))
    step = int(round(step_s * sample_rate))
    if n == 0:
        return np.zeros(0)
    if n <= length:
        return np.array([power.mean()])
    csum = np.concatenate(([0.0], np.cumsum(power)))
    starts = np.arange(0, n - length + 1, step)
    return (csum[starts + length] - csum[starts]) / length


def _lufs(p: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(p)


def integrated_lufs_from_power(power: np.ndarray, sample_rate: int) -> float:
    """Gated integrated loudness (LUFS) from `weighted_power` output."""
    blocks = _block_powers(power, sample_rate, _BLOCK_S, _STEP_S)
    gated = blocks[_lufs(blocks) > ABSOLUTE_GATE_LUFS]
    if gated.size == 0:
        return float("-inf")
    relative = _lufs(gated.mean()) + RELATIVE_GATE_LU
    gated = gated[_lufs(gated) > relative]
    return float(_lufs(gated.mean())) if gated.size else float("-inf")


def loudness_range_from_power(power: np.ndarray, sample_rate: int) -> float:
    """EBU Tech 3342 loudness range (LU) from `weighted_power` output; 0.0 when there is too little to gate."""
    if power.shape[0] < int(_SHORT_TERM_S * sample_rate):
        return 0.0
    short = _lufs(_block_powers(power, sample_rate, _SHORT_TERM_S, _STEP_S))
    short = short[short > ABSOLUTE_GATE_LUFS]
    if short.size < 2:
        return 0.0
    relative = _lufs(np.mean(10.0 ** ((short + 0.691) / 10.0))) + LRA_RELATIVE_GATE_LU
    short = short[short > relative]
    if short.size < 2:
        return 0.0
    lo, hi = np.percentile(short, [10.0, 95.0])
    return float(hi - lo)


def integrated_lufs(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (BS.1770-4, gated); `-inf` for silence."""
    return integrated_lufs_from_power(weighted_power(samples, sample_rate), sample_rate)


def loudness_range_lu(samples: np.ndarray, sample_rate: int) -> float:
    """Loudness range in LU (EBU Tech 3342); 0.0 for clips shorter than 3 s."""
    return loudness_range_from_power(weighted_power(samples, sample_rate), sample_rate)


def sample_peak_dbfs(samples: np.ndarray) -> float:
    """Largest absolute sample value in dBFS; `-inf` for digital silence."""
    peak = float(np.max(np.abs(samples))) if np.size(samples) else 0.0
    return 20.0 * math.log10(peak) if peak > 0.0 else float("-inf")


# --- true peak --------------------------------------------------------------

_TAPS_PER_PHASE = 12
_BLOCK = 4096


def _interpolator(factor: int) -> np.ndarray:
    """A Kaiser-windowed sinc whose zeros fall on the original samples (a Nyquist filter).

    Phase 0 of the polyphase filter is then the identity, so only the
    in-between phases need computing.
    """
    n = np.arange(-_TAPS_PER_PHASE * factor // 2, _TAPS_PER_PHASE * factor // 2 + 1)
    h = np.sinc(n / factor) * np.kaiser(n.size, 6.0)
    return h


def true_peak_dbtp(samples: np.ndarray, sample_rate: int) -> float:
    """True peak in dBTP: the peak of the signal oversampled 4x (2x from 96 kHz, none from 192 kHz).

    Work is skipped where it cannot matter: blocks are visited loudest first,
    and the search stops once a block's bound (its sample peak times the
    interpolator's largest gain) cannot beat the peak found so far. On a
    brick-wall-limited master every block is visited; on typical material
    only a few are.
    """
    x = _as_2d(np.asarray(samples, dtype=np.float32))
    factor = 4 if sample_rate < 96000 else 2 if sample_rate < 192000 else 1
    best = float(np.max(np.abs(x))) if x.size else 0.0
    if factor == 1 or best == 0.0:
        return 20.0 * math.log10(best) if best > 0.0 else float("-inf")
    h = _interpolator(factor)
    gain = max(float(np.abs(h[p::factor]).sum()) for p in range(factor))
    half = h.size // factor + 1
    n = x.shape[1]
    nblocks = -(-n // _BLOCK)
    padded = np.zeros((x.shape[0], nblocks * _BLOCK), dtype=np.float32)
    padded[:, :n] = np.abs(x)
    block_max = padded.reshape(x.shape[0], nblocks, _BLOCK).max(axis=(0, 2))
    # a block's interpolated values also depend on its neighbours' edge samples
    bound = block_max.copy()
    bound[1:] = np.maximum(bound[1:], block_max[:-1])
    bound[:-1] = np.maximum(bound[:-1], block_max[1:])
    for b in np.argsort(bound)[::-1]:
        if bound[b] * gain <= best:
            break
        lo, hi = max(0, b * _BLOCK - half), min(n, (b + 1) * _BLOCK + half)
        y = signal.upfirdn(h, x[:, lo:hi], up=factor, axis=-1)
        best = max(best, float(np.max(np.abs(y))))
    return 20.0 * math.log10(best)
