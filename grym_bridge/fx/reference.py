"""Reference matching: the EQ and loudness that make a clip sound like a reference (Matchering's job).

The difference of the two long-term spectra (shapes only, level offset
removed, lightly smoothed so a single note's band does not drive a filter)
is fitted with one peaking filter per octave plus shelves at both ends; the
gains are refined against the chain's own measured response until the
predicted difference stops shrinking. Loudness follows the reference's
integrated loudness under the configured true-peak ceiling, and the stereo
width its side-energy share.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from grym_bridge.fx.spectrum import BandSpectrum, spectral_distance
from grym_bridge.fx.types import Reason
from grym_bridge.fx.verify import eq_band_response

_PEAK_CENTRES = (63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)
_LOW_SHELF_HZ, _HIGH_SHELF_HZ = 40.0, 12000.0
_MAX_GAIN_DB = 12.0
_FIT_RANGE = (40.0, 16000.0)


def _eq(gains: np.ndarray) -> list[dict[str, Any]]:
    chain: list[dict[str, Any]] = [{"plugin": "LowShelfFilter", "params": {
        "cutoff_frequency_hz": _LOW_SHELF_HZ, "gain_db": round(float(gains[0]), 2), "q": 0.707}}]
    for hz, g in zip(_PEAK_CENTRES, gains[1:-1]):
        chain.append({"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": hz, "gain_db": round(float(g), 2),
                                                         "q": 1.41}})
    chain.append({"plugin": "HighShelfFilter", "params": {"cutoff_frequency_hz": _HIGH_SHELF_HZ,
                                                          "gain_db": round(float(gains[-1]), 2), "q": 0.707}})
    return chain


def _smooth(x: np.ndarray) -> np.ndarray:
    padded = np.pad(x, 1, mode="edge")
    return (padded[:-2] + 2 * padded[1:-1] + padded[2:]) / 4.0


def match_eq(source: BandSpectrum, reference: BandSpectrum, sample_rate: int) -> tuple[list[dict[str, Any]], Reason]:
    """An EQ that moves `source`'s spectral shape onto `reference`'s, and the reason with both distances."""
    n = min(source.centres.size, reference.centres.size)
    centres = source.centres[:n]
    fit = (centres >= _FIT_RANGE[0]) & (centres <= _FIT_RANGE[1])
    wanted = _smooth(reference.levels_db[:n] - source.levels_db[:n])
    wanted = wanted - float(np.mean(wanted[fit]))
    anchors = np.array((_LOW_SHELF_HZ * 0.8,) + _PEAK_CENTRES + (_HIGH_SHELF_HZ * 1.2,))
    at = [int(np.argmin(np.abs(np.log2(centres / a)))) for a in anchors]
    gains = np.clip(wanted[at], -_MAX_GAIN_DB, _MAX_GAIN_DB)
    best_gains, best_error = gains.copy(), np.inf
    for _ in range(8):  # neighbouring filters overlap: correct each gain by the residual at its centre
        response = eq_band_response(_eq(gains), sample_rate, centres)
        residual = wanted - (response - float(np.mean(response[fit])))
        error = float(np.sqrt(np.mean(residual[fit] ** 2)))
        if error < best_error - 1e-3:
            best_gains, best_error = gains.copy(), error
        else:
            break
        gains = np.clip(gains + 0.8 * residual[at], -_MAX_GAIN_DB, _MAX_GAIN_DB)
    chain = [e for e in _eq(best_gains) if abs(e["params"]["gain_db"]) >= 0.25]
    before = spectral_distance(source, reference)
    return chain, Reason("reference", f"the spectrum differs from the reference's by {before:.1f} dB RMS "
                                      f"(40 Hz-16 kHz, third octaves); a matching EQ leaves {best_error:.1f} dB",
                         round(before, 2), round(best_error, 2), "dB")


def match_width(channels: int, width: float, ref_channels: int, ref_width: float) -> list[tuple[list[dict[str, Any]],
                                                                                              Reason]]:
    """Mid/side width that brings the clip's side-energy share to the reference's (both must be stereo)."""
    if channels < 2 or ref_channels < 2 or width < 1e-4 or abs(ref_width - width) < 0.05:
        return []
    w, r = min(width, 0.95), min(ref_width, 0.95)
    percent = round(max(0.0, min(400.0, 100.0 * math.sqrt(r * (1 - w) / (w * (1 - r))))), 1)
    return [([{"plugin": "StereoWidth", "params": {"width_percent": percent}}],
             Reason("reference", f"the side signal holds {100 * width:.0f} % of the energy, the reference's "
                                 f"{100 * ref_width:.0f} %; width {percent:.0f} % matches it", round(width, 3),
                    round(ref_width, 3), ""))]
