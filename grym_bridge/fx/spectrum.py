"""The long-term spectrum in third-octave bands, the target curve, and where a clip departs from it.

The analysis' seven bands say *that* the low mids are heavy; an EQ move needs
to know *where* (180-320 Hz, not 250-500 Hz), so suggestions read third-octave
levels (ISO 266 centres, 25 Hz to 16 kHz) of the channels' mean power
spectrum. The target curve is the long-term average shape of finished mixes:
a steady -3 dB per octave across the musical range (pink noise is 0 dB per
octave in third-octave bands), falling away by 12 dB per octave below 40 Hz.
A clip is compared to the curve after the best level offset, so loudness and
shape are separate questions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

#: ISO 266 third-octave centres from 25 Hz to 16 kHz (exact base-2 values).
CENTRES = 1000.0 * 2.0 ** (np.arange(-16, 13) / 3.0)
_EDGE = 2.0 ** (1.0 / 6.0)
TARGET_TILT_DB_PER_OCT = -3.0
_LOW_LIMIT_HZ = 40.0
# The level offset is fitted on the part of the spectrum every kind of music fills.
_FIT_RANGE = (63.0, 8000.0)
FLOOR_DB = -150.0


@dataclass
class BandSpectrum:
    """Third-octave levels (dB, a full-scale sine reads about 0) at `CENTRES` up to Nyquist."""

    centres: np.ndarray
    levels_db: np.ndarray

    def level_between(self, lo_hz: float, hi_hz: float) -> float:
        """Total level (dB) of the bands whose centres lie in [lo_hz, hi_hz]."""
        sel = (self.centres >= lo_hz * 0.999) & (self.centres <= hi_hz * 1.001)
        power = np.sum(10.0 ** (self.levels_db[sel] / 10.0))
        return 10.0 * math.log10(power) if power > 0 else FLOOR_DB


def band_spectrum(samples: np.ndarray, sample_rate: int) -> BandSpectrum:
    """Long-term third-octave levels of `(channels, samples)` audio (Welch, ~1.3 Hz resolution)."""
    x = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    nper = min(x.shape[1], 2 ** int(round(math.log2(sample_rate * 0.75))))
    freqs, psd = signal.welch(x, fs=sample_rate, nperseg=nper, axis=-1, scaling="density")
    mean_psd = psd.mean(axis=0) if psd.ndim == 2 else psd
    df = freqs[1] - freqs[0] if freqs.size > 1 else float(sample_rate)
    centres = CENTRES[CENTRES * _EDGE < sample_rate / 2]
    levels = np.empty(centres.size)
    for i, c in enumerate(centres):
        sel = (freqs >= c / _EDGE) & (freqs < c * _EDGE)
        power = float(mean_psd[sel].sum() * df) * 2.0  # x2: a full-scale sine reads 0 dB
        levels[i] = 10.0 * math.log10(power) if power > 0 else FLOOR_DB
    return BandSpectrum(centres, levels)


def target_curve(centres: np.ndarray, tilt_db_per_oct: float = TARGET_TILT_DB_PER_OCT) -> np.ndarray:
    """The target shape (dB, 0 at 1 kHz) at `centres`."""
    octaves = np.log2(centres / 1000.0)
    curve = tilt_db_per_oct * octaves
    below = centres < _LOW_LIMIT_HZ
    curve[below] -= 12.0 * np.log2(_LOW_LIMIT_HZ / centres[below])
    return curve


def deviation(spectrum: BandSpectrum, reference: np.ndarray | None = None) -> np.ndarray:
    """Level minus reference shape (the target curve by default), after the best level offset (dB)."""
    ref = target_curve(spectrum.centres) if reference is None else reference
    fit = (spectrum.centres >= _FIT_RANGE[0]) & (spectrum.centres <= _FIT_RANGE[1])
    diff = spectrum.levels_db - ref
    return diff - float(np.median(diff[fit]))


def trend_deviation(spectrum: BandSpectrum, exclude: tuple[float, float] | None = None,
                    lo_hz: float = 50.0, hi_hz: float = 12000.0) -> np.ndarray:
    """Level minus the clip's own trend: a straight line (dB against octaves) fitted over [lo, hi],
    leaving out `exclude` (the band in question) and empty bands (60 dB under the loudest).

    A named problem ("fix the mud") is judged against the clip itself, not against the shape of a
    finished mix: a bass-heavy track is not muddy for being bass-heavy, only for a bump in the low mids.
    """
    c, levels = spectrum.centres, spectrum.levels_db
    x = np.log2(c / 1000.0)
    span = (c >= lo_hz) & (c <= hi_hz)
    fit = span & (levels > (levels[span].max() if span.any() else levels.max()) - 60.0)
    if exclude is not None:
        fit &= ~((c >= exclude[0] / _EDGE) & (c <= exclude[1] * _EDGE))
    if np.count_nonzero(fit) < 4:
        return levels - float(np.median(levels))
    slope, offset = np.polyfit(x[fit], levels[fit], 1)
    return levels - (slope * x + offset)


def spectral_distance(a: BandSpectrum, b: BandSpectrum, lo_hz: float = 40.0, hi_hz: float = 16000.0) -> float:
    """RMS difference (dB) of two spectra's shapes over [lo_hz, hi_hz], level offset removed."""
    n = min(a.centres.size, b.centres.size)
    sel = (a.centres[:n] >= lo_hz) & (a.centres[:n] <= hi_hz)
    diff = a.levels_db[:n][sel] - b.levels_db[:n][sel]
    diff = diff - diff.mean()
    return float(np.sqrt(np.mean(diff**2)))


@dataclass
class Region:
    """A run of adjacent bands off the curve in one direction, `excess_db` their mean deviation."""

    lo_hz: float
    hi_hz: float
    excess_db: float
    peak_hz: float

    @property
    def centre_hz(self) -> float:
        return math.sqrt(self.lo_hz * self.hi_hz)

    @property
    def octaves(self) -> float:
        return math.log2(self.hi_hz / self.lo_hz)


def regions(spectrum: BandSpectrum, dev: np.ndarray, lo_hz: float, hi_hz: float, threshold_db: float,
            sign: int = 1) -> list[Region]:
    """Runs of bands within [lo_hz, hi_hz] whose deviation exceeds `threshold_db` (sign -1: a deficit)."""
    out: list[Region] = []
    run: list[int] = []
    idx = [i for i, c in enumerate(spectrum.centres) if lo_hz <= c <= hi_hz]
    for i in idx + [None]:  # type: ignore[list-item]
        if i is not None and sign * dev[i] > threshold_db:
            run.append(i)
            continue
        if run:
            sel = np.array(run)
            peak = int(sel[np.argmax(sign * dev[sel])])
            out.append(Region(float(spectrum.centres[run[0]] / _EDGE), float(spectrum.centres[run[-1]] * _EDGE),
                              float(dev[sel].mean()), float(spectrum.centres[peak])))
            run = []
    return out


def q_for_octaves(octaves: float) -> float:
    """The Q of a peaking filter whose bandwidth is `octaves` wide."""
    n = 2.0 ** max(octaves, 0.1)
    return math.sqrt(n) / (n - 1.0)
