"""Checking a chain on the clip itself before suggesting it.

Rules of thumb set a move's starting value; then the chain is run on the clip
(through plugin_host, the same code that renders) and measured, and the
values are corrected until the result meets the goal: a compressor's ratio
until the loudness range is where it should be, the make-up gain until the
integrated loudness is on target, the limiter's ceiling until the true peak
is under it. EQ moves are predicted from the chain's measured frequency
response instead (an impulse through the filters), which is exact for filters.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from grym_bridge.analysis import loudness, stereo_image
from grym_bridge.fx.types import LoudnessTarget
from plugin_host import builtin_plugins, process_array

Progress = Callable[[float, str], None]
_LOUDNESS_TOLERANCE_LU = 0.1
# True-peak meters differ by a few hundredths of a dB (interpolator lengths): stay 0.1 dB clear of the ceiling.
_TP_MARGIN_DB = 0.1


def eq_band_response(chain: list[dict[str, Any]], sample_rate: int, centres: np.ndarray) -> np.ndarray:
    """The gain (dB) a chain of linear filters applies in each third-octave band around `centres`."""
    n = 1 << 16
    impulse = np.zeros((1, n), np.float32)
    impulse[0, 0] = 1.0
    h = process_array(chain, impulse, sample_rate)[0] if chain else impulse[0]
    power = np.abs(np.fft.rfft(h.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    edge = 2.0 ** (1.0 / 6.0)
    out = np.zeros(centres.size)
    for i, c in enumerate(centres):
        sel = (freqs >= c / edge) & (freqs < c * edge)
        out[i] = 10.0 * math.log10(max(float(power[sel].mean()), 1e-30)) if sel.any() else 0.0
    return out


def measure(samples: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Integrated loudness, loudness range, true peak and stereo image of `(channels, samples)` audio."""
    energy = loudness.KWeightedEnergy(samples, sample_rate)
    correlation, width = stereo_image(samples)
    return {
        "lufs": energy.integrated_lufs(),
        "loudness_range_lu": energy.loudness_range_lu(),
        "true_peak_dbtp": loudness.true_peak_dbtp(samples, sample_rate),
        "stereo_correlation": correlation,
        "stereo_width": width,
    }


def short_term_percentiles(samples: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """The 10th and 95th percentiles of 3 s short-term loudness (the two ends of EBU's loudness range)."""
    blocks = loudness.KWeightedEnergy(samples, sample_rate).block_powers(3.0)
    with np.errstate(divide="ignore"):
        short = -0.691 + 10.0 * np.log10(blocks)
    short = short[short > -70.0]
    if short.size < 2:
        return (float(short[0]), float(short[0])) if short.size else (-70.0, -70.0)
    relative = -0.691 + 10.0 * math.log10(float(np.mean(10.0 ** ((short + 0.691) / 10.0)))) - 20.0
    short = short[short > relative]
    lo, hi = np.percentile(short, [10.0, 95.0])
    return float(lo), float(hi)


def fit_loudness(pre: np.ndarray, sample_rate: int, target: LoudnessTarget,
                 progress: Progress | None = None,
                 release_ms: float = 100.0) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """A make-up gain and true-peak limiter that bring `pre` to the target; and what they produce.

    The limiter lowers loudness where it works, so the gain is corrected from
    the measured result (a few passes); its ceiling is lowered by any true peak
    that slips past it (the limiter's own true-peak detection is close, not exact).
    A very peaky clip may not reach a loud target at all: driven harder, the
    limiter's release pumps and the result gets quieter. Then the loudest pass
    under the ceiling is returned (the caller compares it with the target), and
    the gain never leaves the Gain plugin's range.
    """
    before = loudness.integrated_lufs(pre, sample_rate)
    if not math.isfinite(before):
        return [], measure(pre, sample_rate)
    max_gain = builtin_plugins()["Gain"].params["gain_db"].maximum or 48.0
    gain = min(target.lufs - before, max_gain)
    ceiling = target.ceiling_dbtp - _TP_MARGIN_DB
    result: dict[str, float] = {}
    moves: list[dict[str, Any]] = []
    best: tuple[float, list[dict[str, Any]], dict[str, float]] | None = None
    last: tuple[float, float] | None = None  # the previous pass's gain and loudness
    for attempt in range(6):
        moves = [{"plugin": "Gain", "params": {"gain_db": round(gain, 2)}},
                 {"plugin": "BrickwallLimiter", "params": {"ceiling_db": round(ceiling, 2), "release_ms": release_ms,
                                                           "lookahead_ms": 5.0, "true_peak": True}}]
        out = process_array(moves, pre, sample_rate)
        result = measure(out, sample_rate)
        if progress:
            progress(min(0.95, 0.7 + 0.05 * attempt), f"checking loudness ({result['lufs']:.1f} LUFS)")
        error = target.lufs - result["lufs"]
        over = result["true_peak_dbtp"] - (target.ceiling_dbtp - _TP_MARGIN_DB)
        if over <= 0 and (best is None or abs(error) < best[0]):
            best = (abs(error), moves, result)
        if abs(error) <= _LOUDNESS_TOLERANCE_LU and over <= 0:
            break
        if over > 0:
            ceiling -= over + 0.02
        elif error > 0 and last is not None and gain - last[0] > 0.5 \
                and result["lufs"] <= last[1] + _LOUDNESS_TOLERANCE_LU:
            break  # more gain made it no louder: the limiter is saturated
        if error > 0 and gain >= max_gain:
            break
        last = (gain, result["lufs"])
        gain = min(gain + error, max_gain)
    if best is not None:
        return best[1], best[2]
    return moves, result
