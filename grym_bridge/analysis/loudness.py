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
from functools import lru_cache

import numpy as np

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
_BLOCK_S = 0.4
_STEP_S = 0.1
_SHORT_TERM_S = 3.0
_FILTER_BLOCK = 65536
_ANTI_SUBNORMAL = 1e-15  # squared (1e-30) it still stays clear of float32 subnormals


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


class KWeightedEnergy:
    """K-weighted, channel-weighted signal energy in 100 ms steps: what gating needs, computed once.

    Every gating block (400 ms for integrated loudness, 3 s for loudness
    range) starts on a 100 ms step and spans whole steps, so the per-step
    sums are all that is kept; integrated loudness and loudness range both
    read them.
    """

    def __init__(self, samples: np.ndarray, sample_rate: int) -> None:
        x = _as_2d(samples)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        from scipy import signal  # here, not at the top: scipy.signal takes ~1 s to import

        sos = k_weighting_sos(sample_rate).astype(x.dtype)
        weights = channel_weights(x.shape[0]).astype(x.dtype)
        channels, n = x.shape
        power = np.empty(n, dtype=x.dtype)
        state = np.zeros((sos.shape[0], channels, 2), dtype=x.dtype)
        # An IIR filter fed digital silence decays into subnormal floats, which the
        # CPU handles ~100x slower (a click track took 0.8 s). A +-1e-15 signal at
        # Nyquist keeps the state and its square normal; its loudness is about -300 LUFS.
        nudge = np.full(_FILTER_BLOCK, _ANTI_SUBNORMAL, dtype=x.dtype)
        nudge[1::2] = -_ANTI_SUBNORMAL
        # in blocks, the state carried across: memory stays bounded for a 20-minute
        # file, and cache-sized blocks make it 20% faster than one pass
        for start in range(0, n, _FILTER_BLOCK):
            block = x[:, start : start + _FILTER_BLOCK] + nudge[: min(_FILTER_BLOCK, n - start)]
            filtered, state = signal.sosfilt(sos, block, axis=-1, zi=state)
            np.einsum("c,cn,cn->n", weights, filtered, filtered, out=power[start : start + _FILTER_BLOCK])
        self._keep(_sum_steps(power, sample_rate), power.shape[0], sample_rate)

    def _keep(self, sums: np.ndarray, samples: int, sample_rate: int) -> None:
        """Keep every step's sum (the last, partial one counts towards the total only)."""
        self.sample_rate = sample_rate
        self.samples = int(samples)
        self.step = _STEP_S * sample_rate  # samples per step (need not be whole)
        sums = np.asarray(sums, dtype=np.float64)
        self.total = float(sums.sum())
        self.step_sums = sums[: int(self.samples // self.step + 1e-9)]

    @classmethod
    def from_step_sums(cls, sums: np.ndarray, samples: int, sample_rate: int) -> "KWeightedEnergy":
        """The energy of a signal whose weighted power was summed per 100 ms step elsewhere (on a GPU).

        `sums` holds every step's sum, the last (partial) one included, as `__init__` makes them.
        """
        energy = cls.__new__(cls)
        energy._keep(sums, samples, sample_rate)
        return energy

    @classmethod
    def from_power(cls, power: np.ndarray, sample_rate: int) -> "KWeightedEnergy":
        """The energy of a signal from its channel-weighted K-weighted power per sample, computed elsewhere."""
        power = np.asarray(power)
        return cls.from_step_sums(_sum_steps(power, sample_rate), power.shape[0], sample_rate)

    def block_powers(self, block_s: float) -> np.ndarray:
        """Mean power of every `block_s` block on the 100 ms grid; a clip shorter than a block is one block."""
        steps = int(round(block_s / _STEP_S))
        if self.step_sums.size < steps:
            return np.array([self.total / self.samples]) if self.samples else np.zeros(0)
        c = np.concatenate(([0.0], np.cumsum(self.step_sums)))
        return (c[steps:] - c[:-steps]) / (steps * self.step)

    def integrated_lufs(self) -> float:
        """Gated integrated loudness (LUFS); `-inf` when every block is below the absolute gate."""
        blocks = self.block_powers(_BLOCK_S)
        gated = blocks[_lufs(blocks) > ABSOLUTE_GATE_LUFS]
        if gated.size == 0:
            return float("-inf")
        relative = _lufs(gated.mean()) + RELATIVE_GATE_LU
        gated = gated[_lufs(gated) > relative]
        return float(_lufs(gated.mean())) if gated.size else float("-inf")

    def loudness_range_lu(self) -> float:
        """EBU Tech 3342 loudness range (LU); 0.0 when there is too little to gate (under 3 s)."""
        if self.samples < _SHORT_TERM_S * self.sample_rate:
            return 0.0
        short = _lufs(self.block_powers(_SHORT_TERM_S))
        short = short[short > ABSOLUTE_GATE_LUFS]
        if short.size < 2:
            return 0.0
        relative = _lufs(np.mean(10.0 ** ((short + 0.691) / 10.0))) + LRA_RELATIVE_GATE_LU
        short = short[short > relative]
        if short.size < 2:
            return 0.0
        lo, hi = np.percentile(short, [10.0, 95.0])
        return float(hi - lo)


def _sum_steps(power: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-sample power summed over each 100 ms step (a step need not be a whole number of samples)."""
    bounds = np.round(np.arange(0.0, power.shape[0], _STEP_S * sample_rate)).astype(np.int64)
    return np.add.reduceat(power, bounds).astype(np.float64) if power.shape[0] else np.zeros(0)


def _lufs(p: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(p)


def integrated_lufs(samples: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (BS.1770-4, gated); `-inf` for silence."""
    return KWeightedEnergy(samples, sample_rate).integrated_lufs()


def loudness_range_lu(samples: np.ndarray, sample_rate: int) -> float:
    """Loudness range in LU (EBU Tech 3342); 0.0 for clips shorter than 3 s."""
    return KWeightedEnergy(samples, sample_rate).loudness_range_lu()


def sample_peak_dbfs(samples: np.ndarray) -> float:
    """Largest absolute sample value in dBFS; `-inf` for digital silence."""
    x = np.asarray(samples)
    peak = max(float(x.max()), -float(x.min())) if x.size else 0.0  # no |x| copy of a long file
    return 20.0 * math.log10(peak) if peak > 0.0 else float("-inf")


# --- true peak --------------------------------------------------------------

_HALF_TAPS = 6  # the interpolator reaches 6 samples each side: 12 taps per phase
_KAISER_BETA = 4.0  # flat within +-0.3 dB up to 80% of Nyquist
_ROW = 32  # positions interpolated per matrix row
_ROWS_PER_PRODUCT = 2048
_BLOCK_SAMPLES = 65536  # a multiple of _ROW


def _interpolator(factor: int) -> np.ndarray:
    """(12, factor-1) weights: column p-1 gives the value p/factor of the way from x[n] to x[n+1].

    A Kaiser-windowed sinc reaching 6 samples each side; row i weighs x[n-5+i].
    Phase 0 (the samples themselves) needs no computing.
    """
    phases = np.arange(1, factor) / factor
    t = phases[None, :] + (_HALF_TAPS - 1) - np.arange(2 * _HALF_TAPS)[:, None]
    window = np.i0(_KAISER_BETA * np.sqrt(np.clip(1.0 - (t / _HALF_TAPS) ** 2, 0.0, None))) / np.i0(_KAISER_BETA)
    return (np.sinc(t) * window).astype(np.float32)


@lru_cache(maxsize=4)
def _banded(factor: int) -> np.ndarray:
    """The interpolator for `_ROW` consecutive positions as one (_ROW + 11, _ROW * (factor-1)) matrix.

    One matrix product per block of rows then interpolates everything: each
    row reads its samples once (1.3x the signal) instead of the 12x copy a
    12-tap window per position needs, and BLAS does the arithmetic.
    """
    w = _interpolator(factor)
    taps, phases = w.shape
    band = np.zeros((_ROW + taps - 1, _ROW * phases), dtype=np.float32)
    for j in range(_ROW):
        band[j : j + taps, j * phases : (j + 1) * phases] = w
    band.flags.writeable = False  # cached and shared between threads
    return band


def _row_max(padded: np.ndarray, rows: int) -> np.ndarray:
    """max |x| over each run of `_ROW` samples of `padded` (which starts 5 samples early)."""
    m = np.abs(padded[_HALF_TAPS - 1 : _HALF_TAPS - 1 + rows * _ROW]).reshape(rows, _ROW)
    while m.shape[1] > 1:  # halving beats numpy's slow reduction over a short axis (5 ms -> 1)
        half = m.shape[1] // 2
        m = np.maximum(m[:, :half], m[:, half:])
    return m[:, 0]


def true_peak_dbtp(samples: np.ndarray, sample_rate: int) -> float:
    """True peak in dBTP: the peak of the signal oversampled 4x (2x from 96 kHz, none from 192 kHz).

    Only where it can matter: an interpolated value can exceed the sample peak
    P only if a sample within reach of the interpolator exceeds P divided by
    the interpolator's largest gain (about 2, -6 dB). Rows of positions with
    no such sample nearby are skipped. Works through the signal in blocks, so
    a long file needs no full-length copies.
    """
    x = _as_2d(np.asarray(samples, dtype=np.float32))
    if x.size == 0:
        return float("-inf")
    best = max(float(x.max()), -float(x.min()))  # the sample peak
    factor = 4 if sample_rate < 96000 else 2 if sample_rate < 192000 else 1
    if best == 0.0 or factor == 1:
        return 20.0 * math.log10(best) if best > 0.0 else float("-inf")
    band = _banded(factor)
    threshold = best / float(np.abs(_interpolator(factor)).sum(axis=0).max())
    n = x.shape[1]
    block_rows = _BLOCK_SAMPLES // _ROW
    peak = best
    padded = np.zeros(_BLOCK_SAMPLES + 2 * _ROW + 2 * _HALF_TAPS, dtype=np.float32)
    for channel in x:
        for start in range(0, n, _BLOCK_SAMPLES):
            # this block's positions plus one row either side, whose maxima count towards the reach
            lo = start - _ROW
            rows = min(block_rows, -(-(n - start) // _ROW)) + 2
            padded[:] = 0.0
            src_lo, src_hi = max(0, lo - (_HALF_TAPS - 1)), min(n, lo - (_HALF_TAPS - 1) + padded.size)
            padded[src_lo - (lo - (_HALF_TAPS - 1)) : src_hi - (lo - (_HALF_TAPS - 1))] = channel[src_lo:src_hi]
            row_max = _row_max(padded, rows)
            reach = np.maximum(np.maximum(row_max[1:-1], row_max[:-2]), row_max[2:])
            hot = np.flatnonzero(reach > threshold) + 1  # rows of this block, counted from the margin row
            if hot.size == 0:
                continue
            windows = np.lib.stride_tricks.sliding_window_view(padded, band.shape[0])[::_ROW][:rows]
            for first in range(0, hot.size, _ROWS_PER_PRODUCT):
                y = windows[hot[first : first + _ROWS_PER_PRODUCT]] @ band
                peak = max(peak, float(y.max()), float(-y.min()))
    return 20.0 * math.log10(peak)
