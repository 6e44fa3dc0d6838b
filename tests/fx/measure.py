"""Independent measurements for the fx tests: pyloudnorm, scipy's Welch and polyphase resampling.

Nothing here imports grym_bridge's analysis or fx code, so a test that renders a
suggestion and measures it with these cannot agree with a bug by construction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf
from scipy import signal

SR = 44100


def read(path: str | Path) -> np.ndarray:
    data, sr = sf.read(str(path), dtype="float64", always_2d=True)
    assert sr == SR
    return data.T


def lufs(x: np.ndarray) -> float:
    return float(pyloudnorm.Meter(SR).integrated_loudness(np.asarray(x, dtype=np.float64).T))


def true_peak_dbtp(x: np.ndarray) -> float:
    up = signal.resample_poly(np.asarray(x, dtype=np.float64), 4, 1, axis=-1)
    return float(20 * np.log10(np.max(np.abs(up))))


def _psd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f, p = signal.welch(np.asarray(x, dtype=np.float64), fs=SR, nperseg=16384, axis=-1)
    return f, np.atleast_2d(p).mean(axis=0)


def band_db(x: np.ndarray, lo: float, hi: float) -> float:
    f, p = _psd(x)
    return float(10 * np.log10(p[(f >= lo) & (f < hi)].sum()))


def band_excess_db(x: np.ndarray, clean: np.ndarray, lo: float, hi: float) -> float:
    """How far [lo, hi) stands above the clean material's balance, against the rest of 50 Hz-12 kHz."""
    def balance(y: np.ndarray) -> float:
        f, p = _psd(y)
        rest = (f >= 50) & (f < 12000) & ((f < lo / 2) | (f >= hi * 2))
        return float(10 * np.log10(p[(f >= lo) & (f < hi)].sum() / p[rest].sum()))
    return balance(x) - balance(clean)


def third_octaves_db(x: np.ndarray) -> np.ndarray:
    """Third-octave levels 40 Hz-16 kHz (level offset removed), for spectral distances."""
    f, p = _psd(x)
    centres = 1000 * 2.0 ** (np.arange(-14, 13) / 3)
    levels = np.array([10 * np.log10(p[(f >= c / 2 ** (1 / 6)) & (f < c * 2 ** (1 / 6))].sum()) for c in centres])
    return levels - levels.mean()


def spectral_distance_db(a: np.ndarray, b: np.ndarray) -> float:
    d = third_octaves_db(a) - third_octaves_db(b)
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


def side_fraction(x: np.ndarray) -> float:
    """Side energy over mid + side energy (0 = mono)."""
    mid, side = (x[0] + x[1]) / 2, (x[0] - x[1]) / 2
    return float(np.sum(side**2) / (np.sum(mid**2) + np.sum(side**2)))


def centroid_hz(x: np.ndarray) -> float:
    f, p = _psd(x)
    return float((f * p).sum() / p.sum())


def mid_centroid_hz(x: np.ndarray) -> float:
    """The spectral centroid of the mid (L+R)/2: tonal balance apart from width."""
    return centroid_hz(np.atleast_2d(x).mean(axis=0))


def sub40_balance_db(x: np.ndarray) -> float:
    """Energy below 40 Hz against 100 Hz-5 kHz (dB)."""
    f, p = _psd(x)
    return float(10 * np.log10(p[f < 40].sum() / p[(f >= 100) & (f < 5000)].sum()))


def low_side_db(x: np.ndarray, hi: float = 120.0) -> float:
    """Side against mid energy below `hi` (dB): how far from mono the low end is."""
    f, pm = _psd((x[0] + x[1]) / 2)
    _, ps = _psd((x[0] - x[1]) / 2)
    sel = (f >= 20) & (f < hi)
    return float(10 * np.log10(ps[sel].sum() / pm[sel].sum()))


def crest_db(x: np.ndarray) -> float:
    """Sample peak over RMS (dB), all channels together."""
    x = np.asarray(x, dtype=np.float64)
    return float(20 * np.log10(np.abs(x).max() / np.sqrt(np.mean(x**2))))


def warmth_db(x: np.ndarray) -> float:
    """100-400 Hz against 4-12 kHz (dB) of the mid."""
    m = np.atleast_2d(x).mean(axis=0)
    return band_db(m, 100, 400) - band_db(m, 4000, 12000)
