"""Mix recommendations for several stems at once: gain staging, masking, pan and width.

1. gain staging: one trim for every stem (the balance is the producer's) so the
   summed stems peak at the configured headroom below 0 dBTP;
2. masking: for every pair, the third-octave bands where both stems are
   strong (near their own loudest band) and close in level; the stem that
   matters less there (by role, else by how central the band is to it) gets
   a peaking cut;
3. pan and width: the low end, kick, snare and lead vocal in the centre (a stem that carries
   low end, a drum bus with its kick, is never panned; width acts above the crossover only);
   stems that mask each other in the mids on opposite sides; low-frequency
   stems narrowed to keep the bass mono, pads and keys widened if narrow.

Roles come from the file name (kick, bass, vox, keys, ...); unknown stems are
judged by their spectrum alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grym_bridge.analysis import loudness, stereo_image
from grym_bridge.audio_io import Audio, resample
from grym_bridge.errors import BadRequest
from grym_bridge.fx.spectrum import BandSpectrum, band_spectrum, q_for_octaves
from grym_bridge.fx.styles import CROSSOVER_HZ
from grym_bridge.fx.types import Reason

Progress = Callable[[float, str], None]

#: role -> (priority: higher keeps its frequencies, centred?, words in file names)
ROLES: dict[str, tuple[int, bool, tuple[str, ...]]] = {
    "vocal": (9, True, ("vocal", "vox", "voice", "lead_vox", "singer")),
    "kick": (8, True, ("kick", "bd", "bassdrum")),
    "snare": (7, True, ("snare", "sd", "clap")),
    "bass": (6, True, ("bass", "sub", "808")),
    "lead": (5, False, ("lead", "melody", "solo")),
    "drums": (4, False, ("drum", "perc", "hat", "hh", "cymbal", "tom", "ride", "overhead")),
    "guitar": (3, False, ("guitar", "gtr")),
    "keys": (3, False, ("keys", "piano", "rhodes", "organ", "synth", "chord")),
    "pad": (2, False, ("pad", "string", "strings", "atmo", "ambience", "fx")),
}
_PROMINENT_DB = 10.0  # a band within this of the stem's loudest band is one the stem is "about"
_CLOSE_DB = 6.0  # and two stems this close in level there mask each other
_MASK_RANGE = (40.0, 8000.0)
_MAX_CONFLICTS_PER_PAIR = 1


@dataclass
class StemAdvice:
    path: str
    name: str
    role: str
    lufs: float
    true_peak_dbtp: float
    stereo_width: float
    gain_db: float
    pan: float  # -1 (left) .. +1 (right)
    width_percent: float
    chain: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class MaskingConflict:
    a: str
    b: str
    lo_hz: float
    hi_hz: float
    level_gap_db: float
    cut_stem: str
    move: dict[str, Any]


@dataclass
class MixRecommendation:
    stems: list[StemAdvice]
    conflicts: list[MaskingConflict]
    reasons: list[Reason]
    headroom_db: float
    mix_true_peak_dbtp: float
    mix_true_peak_after_dbtp: float


def guess_role(name: str) -> str:
    """The stem's role from its file name ("02_Kick In.wav" -> kick), else "other"."""
    words = re.split(r"[^a-z0-9]+", name.lower())
    for role, (_, _, keys) in ROLES.items():
        if any(w in keys or any(w.startswith(k) for k in keys if len(k) > 3) for w in words):
            return role
    return "other"


def _priority(role: str) -> int:
    return ROLES.get(role, (1, False, ()))[0]


def _mixdown(stems: list[Audio], gains_db: list[float]) -> np.ndarray:
    n = max(a.frames for a in stems)
    out = np.zeros((2, n), np.float32)
    for a, g in zip(stems, gains_db):
        x = a.samples if a.channels >= 2 else np.repeat(a.samples[:1], 2, axis=0)
        out[:, : a.frames] += x[:2] * np.float32(10 ** (g / 20))
    return out


def _conflicts(names: list[str], roles: list[str], spectra: list[BandSpectrum]) -> list[tuple[int, int, float, float,
                                                                                            float, np.ndarray]]:
    """(i, j, lo, hi, gap, band mask) for every pair's strongest shared region."""
    found = []
    for i, j in combinations(range(len(names)), 2):
        a, b = spectra[i], spectra[j]
        n = min(a.centres.size, b.centres.size)
        c = a.centres[:n]
        la, lb = a.levels_db[:n], b.levels_db[:n]
        rng = (c >= _MASK_RANGE[0]) & (c <= _MASK_RANGE[1])
        shared = rng & (la > la[rng].max() - _PROMINENT_DB) & (lb > lb[rng].max() - _PROMINENT_DB) \
            & (np.abs(la - lb) < _CLOSE_DB)
        runs, run = [], []
        for k in range(n):
            if shared[k]:
                run.append(k)
            elif run:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
        for r in sorted(runs, key=lambda r: -float(np.minimum(la[r], lb[r]).sum()))[:_MAX_CONFLICTS_PER_PAIR]:
            edge = 2 ** (1 / 6)
            mask = np.zeros(n, bool)
            mask[r] = True
            found.append((i, j, float(c[r[0]] / edge), float(c[r[-1]] * edge),
                          float(np.abs(la[r] - lb[r]).mean()), mask))
    return found


def _hz(f: float) -> str:
    return f"{f / 1000:.1f} kHz" if f >= 1000 else f"{f:.0f} Hz"


def recommend_mix(stems: list[Audio], *, headroom_db: float = 6.0, names: list[str] | None = None,
                  progress: Progress | None = None) -> MixRecommendation:
    """Recommendations for `stems` (two or more, any rates: resampled to the first's)."""
    if len(stems) < 2:
        raise BadRequest("a mix recommendation needs two or more stems; for one clip use `grym suggest`")
    sr = stems[0].sample_rate
    stems = [a if a.sample_rate == sr else Audio(resample(a.samples, a.sample_rate, sr), sr, a.path) for a in stems]
    names = names or [Path(a.path).stem if a.path else f"stem {k + 1}" for k, a in enumerate(stems)]
    roles = [guess_role(n) for n in names]

    # 1. gain staging
    mix_tp = loudness.true_peak_dbtp(_mixdown(stems, [0.0] * len(stems)), sr)
    trim = round(-headroom_db - mix_tp, 2) if math.isfinite(mix_tp) else 0.0
    mix_after = loudness.true_peak_dbtp(_mixdown(stems, [trim] * len(stems)), sr)
    reasons = [Reason("gain_staging", f"the stems sum to a true peak of {mix_tp:+.1f} dBTP; {trim:+.1f} dB on every "
                                      f"stem leaves {headroom_db:g} dB of headroom and keeps the balance",
                      round(mix_tp, 2), -headroom_db, "dBTP")]
    advice = []
    spectra = []
    for k, (a, name, role) in enumerate(zip(stems, names, roles)):
        if progress:
            progress(0.1 + 0.6 * k / len(stems), f"measuring {name}")
        corr, width = stereo_image(a.samples)
        tp = loudness.true_peak_dbtp(a.samples, sr)
        item = StemAdvice(str(a.path) if a.path else name, name, role, loudness.integrated_lufs(a.samples, sr), tp,
                          width, trim, 0.0, 100.0)
        if tp > -0.1:
            item.reasons.append(Reason("clipping", f"{name} peaks at {tp:+.1f} dBTP on its own: it may already be "
                                                   "clipped; re-export it with headroom", round(tp, 2), -1.0, "dBTP"))
        advice.append(item)
        spectra.append(band_spectrum(a.samples * np.float32(10 ** (trim / 20)), sr))

    # 2. masking
    conflicts = []
    for i, j, lo, hi, gap, _ in _conflicts(names, roles, spectra):
        ci = spectra[i].level_between(lo, hi) - spectra[i].levels_db.max()
        cj = spectra[j].level_between(lo, hi) - spectra[j].levels_db.max()
        # the one with the lower role priority yields; with equal roles, the one the region matters less to
        key_i, key_j = (_priority(roles[i]), ci), (_priority(roles[j]), cj)
        keep, cut = (i, j) if key_i >= key_j else (j, i)
        depth = round(min(6.0, 3.0 + (_CLOSE_DB - gap) / 2), 1)
        centre = math.sqrt(lo * hi)
        move = {"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": round(centre, 1), "gain_db": -depth,
                                                   "q": round(max(0.5, min(4.0, q_for_octaves(math.log2(hi / lo)))),
                                                              3)}}
        target = advice[cut]
        target.chain.append(move)
        target.reasons.append(Reason("masking", f"{names[i]} and {names[j]} both carry strong energy between "
                                                f"{_hz(lo)} and {_hz(hi)} ({gap:.1f} dB apart, each near its loudest "
                                                f"band); cut {names[cut]} by {depth:g} dB at {_hz(centre)} so "
                                                f"{names[keep]} speaks", round(gap, 2), _CLOSE_DB, "dB",
                                     [round(lo, 1), round(hi, 1)], [len(target.chain) - 1]))
        conflicts.append(MaskingConflict(names[i], names[j], round(lo, 1), round(hi, 1), round(gap, 2),
                                         names[cut], move))

    # 3. pan and width
    _pan_and_width(advice, spectra, conflicts)
    if progress:
        progress(1.0, "done")
    return MixRecommendation(advice, conflicts, reasons, headroom_db, round(mix_tp, 2), round(mix_after, 2))


def _centroid(s: BandSpectrum) -> float:
    p = 10 ** (s.levels_db / 10)
    return float((p * s.centres).sum() / p.sum()) if p.sum() > 0 else 1000.0


def _low_end(s: BandSpectrum) -> bool:
    """Whether a stem carries low end (a kick in a drum bus, a bass): a band under the crossover within
    10 dB of its loudest band. Such a stem is never panned: the low end stays in the centre."""
    low = s.levels_db[s.centres < CROSSOVER_HZ]
    return bool(low.size and low.max() > s.levels_db.max() - 10.0)


def _pan_and_width(advice: list[StemAdvice], spectra: list[BandSpectrum], conflicts: list[MaskingConflict]) -> None:
    centred = [a for a, s in zip(advice, spectra)
               if ROLES.get(a.role, (0, False, ()))[1] or _centroid(s) < 200 or _low_end(s)]
    for a, s in zip(advice, spectra):
        if a in centred:
            why = "anchors the mix" if ROLES.get(a.role, (0, False, ()))[1] else \
                f"carries low end (below {CROSSOVER_HZ:g} Hz), which stays in the centre"
            a.reasons.append(Reason("pan", f"{a.name} ({a.role}) {why}: keep it centred", 0.0, 0.0, ""))
    side = 1.0
    spread = 0.3
    placed: dict[str, float] = {}
    for c in conflicts:  # stems that mask each other in the mids go to opposite sides
        if c.lo_hz < 250:
            continue
        for name in (c.a, c.b):
            stem = next(a for a in advice if a.name == name)
            if stem in centred or name in placed:
                continue
            other = placed.get(c.b if name == c.a else c.a)
            placed[name] = -other if other else spread * side
            side = -side
    for a in advice:
        if a in centred:
            a.pan = 0.0
            continue
        if a.name not in placed:
            placed[a.name] = spread * side
            side = -side
            spread = min(0.7, spread + 0.1)
        a.pan = round(placed[a.name], 2)
        a.reasons.append(Reason("pan", f"pan {a.name} {abs(a.pan) * 100:.0f} % {'left' if a.pan < 0 else 'right'} to "
                                       "give it its own place", a.pan, a.pan, ""))
    for a, s in zip(advice, spectra):
        low = a.role in ("bass", "kick") or _centroid(s) < 200
        if low and a.stereo_width > 0.05:
            a.width_percent = 0.0
            a.chain.append({"plugin": "StereoWidth", "params": {"width_percent": 0.0}})
            a.reasons.append(Reason("width", f"{a.name} is low-frequency material with {100 * a.stereo_width:.0f} % "
                                             "side energy: fold it to mono so the low end stays solid in mono and "
                                             "on club systems", round(a.stereo_width, 3), 0.0, "",
                                    None, [len(a.chain) - 1]))
        elif a.role in ("pad", "keys", "guitar") and 1e-4 < a.stereo_width < 0.05:
            a.width_percent = 140.0
            a.chain.append({"plugin": "StereoWidth", "params": {"width_percent": 140.0, "crossover_hz": CROSSOVER_HZ}})
            a.reasons.append(Reason("width", f"{a.name} is nearly mono ({100 * a.stereo_width:.1f} % side energy) "
                                             "for a supporting part: widen it to 140 % above "
                                             f"{CROSSOVER_HZ:g} Hz to make room in the centre",
                                    round(a.stereo_width, 3), 0.1, "", None, [len(a.chain) - 1]))
