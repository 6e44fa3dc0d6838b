"""What a request asks of a chain, measured on the clip: each direction met, each named problem reduced.

A move is only suggested once the chain, run on the clip itself, shows it
does what its reason says. `metrics` measures a clip once; a `Check` compares
one measurement before and after with the amount the move promised:

- brighter / darker: the spectral centroid up / down by 5 %;
- warmer: the 100-400 Hz band up against 4-12 kHz by 1 dB; airier: 10-20 kHz up against the mids by 1 dB;
- wider / narrower: the side share of the energy up / down by 10 % of itself;
- mono: the side below 120 Hz 12 dB lower against the mid there;
- punchier: the crest factor (peak over RMS) up by 0.5 dB;
- lofi: the top (10-20 kHz against the mids) down by 6 dB;
- rumble: energy below 40 Hz 12 dB lower against 100 Hz-5 kHz;
- mud, boom, harsh, sibilant, thin, dull named by a request: the band, against the clip's own
  spectral trend, moved back by the amount its reason states (`corrective.named_amount`);
- a problem the engine found by itself: its excess over the target curve at least halved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal

from grym_bridge.fx.spectrum import band_spectrum, deviation, trend_deviation


def _band_power(f: np.ndarray, p: np.ndarray, lo: float, hi: float) -> float:
    return float(p[(f >= lo) & (f < hi)].sum()) + 1e-30


def sub40_db(samples: np.ndarray, sample_rate: int) -> float:
    """Energy below 40 Hz against 100 Hz-5 kHz (dB): what a rumble filter must lower."""
    x = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    f, psd = signal.welch(x, fs=sample_rate, nperseg=min(x.shape[1], 16384), axis=-1)
    p = psd.mean(axis=0)
    return 10 * math.log10(_band_power(f, p, 0, 40) / _band_power(f, p, 100, 5000))


def metrics(samples: np.ndarray, sample_rate: int) -> dict[str, Any]:
    """The measurements the checks read, from `(channels, samples)` audio."""
    x = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    nper = min(x.shape[1], 16384)
    # Tonal balance is read on the mid (what a mono listener hears): a width move scales the side only,
    # so it must not count as brighter or less warm.
    mono = x[:2].mean(axis=0) if x.shape[0] >= 2 else x[0]
    f, p = signal.welch(mono, fs=sample_rate, nperseg=nper)
    out: dict[str, Any] = {
        "centroid_hz": float((f * p).sum() / max(p.sum(), 1e-30)),
        "warmth_db": 10 * math.log10(_band_power(f, p, 100, 400) / _band_power(f, p, 4000, 12000)),
        "air_db": 10 * math.log10(_band_power(f, p, 10000, 20000) / _band_power(f, p, 500, 2000)),
        "sub40_db": 10 * math.log10(_band_power(f, p, 0, 40) / _band_power(f, p, 100, 5000)),
    }
    rms = float(np.sqrt(np.mean(x**2)))
    out["crest_db"] = 20 * math.log10(max(float(np.abs(x).max()), 1e-12) / max(rms, 1e-12))
    if x.shape[0] >= 2:
        mid, side = (x[0] + x[1]) / 2, (x[0] - x[1]) / 2
        em, es = float(np.sum(mid**2)), float(np.sum(side**2))
        out["side_fraction"] = es / max(em + es, 1e-30)
        fm, pm = signal.welch(mid, fs=sample_rate, nperseg=nper)
        _, ps = signal.welch(side, fs=sample_rate, nperseg=nper)
        out["low_side_db"] = 10 * math.log10(_band_power(fm, ps, 20, 120) / _band_power(fm, pm, 20, 120))
    else:
        out["side_fraction"], out["low_side_db"] = 0.0, -120.0
    spectrum = band_spectrum(mono[None, :].astype(np.float32), sample_rate)
    out["spectrum"] = (spectrum.centres, deviation(spectrum))
    out["bands"] = spectrum
    return out


def band_deviation(m: dict[str, Any], lo_hz: float, hi_hz: float) -> float:
    """Mean deviation (dB) from the target curve of the third octaves whose centres lie in [lo, hi]."""
    centres, dev = m["spectrum"]
    sel = (centres >= lo_hz * 0.999) & (centres <= hi_hz * 1.001)
    return float(dev[sel].mean()) if sel.any() else 0.0


@dataclass
class Check:
    """One promise of the chain, measured on the clip before and after."""

    name: str
    measure: str
    before: float
    after: float
    required: str
    passed: bool
    unit: str = ""

    def message(self) -> str:
        verdict = "met" if self.passed else "NOT met"
        return (f"{self.name}: {self.measure} {self.before:.2f} -> {self.after:.2f}{(' ' + self.unit) if self.unit else ''} "
                f"(needed {self.required}): {verdict}")


#: direction -> (metric, sign, least change, relative?, unit, what it means)
DIRECTIONS: dict[str, tuple[str, int, float, bool, str]] = {
    "brighter": ("centroid_hz", +1, 0.05, True, "Hz"),
    "darker": ("centroid_hz", -1, 0.05, True, "Hz"),
    "lofi": ("air_db", -1, 6.0, False, "dB"),
    "warmer": ("warmth_db", +1, 1.0, False, "dB"),
    "airier": ("air_db", +1, 1.0, False, "dB"),
    "wider": ("side_fraction", +1, 0.10, True, ""),
    "narrower": ("side_fraction", -1, 0.10, True, ""),
    "mono": ("low_side_db", -1, 12.0, False, "dB"),
    "punchier": ("crest_db", +1, 0.5, False, "dB"),
}


def check_direction(goal: str, before: dict[str, Any], after: dict[str, Any]) -> Check:
    """Whether `after` moved from `before` the way `goal` says, by at least the stated amount."""
    key, sign, least, relative, unit = DIRECTIONS[goal]
    b, a = float(before[key]), float(after[key])
    need = least * abs(b) if relative else least
    if goal == "mono" and b < -30.0:  # already mono down low: staying there is the goal
        return Check(goal, key, b, a, "at or below -30 dB", a <= -30.0, unit)
    words = f"{'+' if sign > 0 else '-'}{least * 100:.0f} %" if relative else f"{'+' if sign > 0 else '-'}{least:g} {unit}"
    return Check(goal, key, b, a, words, sign * (a - b) >= need - 1e-9, unit)


def check_fix(problem: str, before: dict[str, Any], after: dict[str, Any],
              band_hz: tuple[float, float] | None, named: float | None = None) -> Check:
    """Whether the problem was reduced by its stated amount.

    A named problem (`named`: the dB its band must move, as its reason states) is measured against the
    clip's own trend, as it was found, and must move by that much without overshooting past one and a
    half times its excess; one the engine found by itself against the target curve of finished mixes,
    its excess at least halved.
    """
    if problem == "rumble":
        b, a = before["sub40_db"], after["sub40_db"]
        return Check("rumble", "energy below 40 Hz against 100 Hz-5 kHz", b, a, "-12 dB", a <= b - 12.0, "dB")
    lo, hi = band_hz or (20.0, 20000.0)
    if named is not None:
        def trend(m: dict[str, Any]) -> float:
            spectrum = m["bands"]
            dev = trend_deviation(spectrum, exclude=(lo, hi))
            sel = (spectrum.centres >= lo * 0.999) & (spectrum.centres <= hi * 1.001)
            return float(dev[sel].mean()) if sel.any() else 0.0
        b, a = trend(before), trend(after)
        where = f"level against the clip's own trend, {lo:.0f}-{hi:.0f} Hz"
        moved = (b - a) if b > 0 else (a - b)
        return Check(problem, where, b, a, f"moved back by {named:g} dB", named - 0.05 <= moved <= max(
            1.5 * abs(b), named + 1.5), "dB")
    else:
        b, a = band_deviation(before, lo, hi), band_deviation(after, lo, hi)
        where = f"deviation from the target curve, {lo:.0f}-{hi:.0f} Hz"
    # At least halved, and not overshot into the opposite problem by more than half of it either.
    if b < 0:  # a deficit (thin, dull)
        return Check(problem, where, b, a, "deficit halved", b / 2 <= a <= -b / 2, "dB")
    return Check(problem, where, b, a, "excess halved", -b / 2 <= a <= b / 2, "dB")
