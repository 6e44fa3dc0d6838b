"""Corrective moves: what is wrong with a clip, measured, and the move that fixes it.

Each finder looks at one kind of problem and returns `(entries, reason)`
pairs; the chain entries are plugin_host chain-spec dicts. Thresholds are
conservative (a few dB off the target curve, an LRA beyond what any
destination wants) so that a balanced mix gets few or no moves.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from grym_bridge.fx.checks import sub40_db
from grym_bridge.fx.spectrum import BandSpectrum, Region, deviation, q_for_octaves, regions, trend_deviation
from grym_bridge.fx.types import Reason
from grym_bridge.fx.verify import eq_band_response
from plugin_host import process_array

Move = tuple[list[dict[str, Any]], Reason]

#: (problem, description, low Hz, high Hz): a region is named by the zone holding its peak band.
ZONES = (
    ("boomy", "boom", 45.0, 160.0),
    ("mud", "low-mid mud", 160.0, 500.0),
    ("boxy", "boxiness", 500.0, 1100.0),
    ("honky", "honk", 1100.0, 2000.0),
    ("harsh", "harshness", 2000.0, 6000.0),
    ("sibilant", "sibilance and fizz", 6000.0, 20000.0),
)
EXCESS_DB = 3.0  # above the curve by more than this: a cut
DEFICIT_DB = 4.0  # below it by more: a boost, only where a boost is musical (dull top, thin low end)
RUMBLE_DB = 6.0
MAX_CUT_DB = 15.0
MAX_BOOST_DB = 6.0
MAX_EQ_MOVES = 4
TOO_DYNAMIC_LU = 12.0
DYNAMIC_GOAL_LU = 8.0
NARROW_WIDTH = 0.03
WIDTH_GOAL = 0.2
WIDE_WIDTH = 0.6


def _hz(f: float) -> str:
    return f"{f / 1000:.1f} kHz" if f >= 1000 else f"{f:.0f} Hz"


def _zone(peak_hz: float) -> tuple[str, str]:
    for problem, words, lo, hi in ZONES:
        if lo <= peak_hz < hi:
            return problem, words
    return "tonal", "an imbalance"


def _peak_move(region: Region, spectrum: BandSpectrum, dev: np.ndarray, sample_rate: int) -> list[dict[str, Any]]:
    """A peaking cut over the region, deepened until the predicted excess left is under a third."""
    q = round(max(0.4, min(4.0, q_for_octaves(region.octaves))), 3)
    sel = (spectrum.centres >= region.lo_hz) & (spectrum.centres <= region.hi_hz)
    gain = -min(MAX_CUT_DB, 1.2 * region.excess_db)
    entry: dict[str, Any] = {}
    for _ in range(4):
        entry = {"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": round(region.centre_hz, 1),
                                                    "gain_db": round(gain, 2), "q": q}}
        left = float((dev[sel] + eq_band_response([entry], sample_rate, spectrum.centres[sel])).mean())
        if left <= region.excess_db / 3 or gain <= -MAX_CUT_DB:
            break
        gain = max(-MAX_CUT_DB, gain - (left - region.excess_db / 4))
    return [entry]


#: A problem a request names: the band it lives in and whether it is too much (+1) or too little (-1).
NAMED_BANDS = {"mud": (150.0, 500.0, 1), "boom": (45.0, 150.0, 1), "harsh": (2000.0, 6000.0, 1),
               "sibilant": (5000.0, 12000.0, 1), "thin": (45.0, 200.0, -1), "dull": (5000.0, 16000.0, -1)}
NAMED_DB = 2.0  # a named problem needs this much bump (or dip) against the clip's own trend


def named_amount(excess_db: float) -> float:
    """How far a named problem's band must move (dB): 70 % of its measured excess or dip, 2 to 6 dB."""
    return round(max(2.0, min(6.0, 0.7 * abs(excess_db))), 2)


def named_move(spectrum: BandSpectrum, sample_rate: int, problem: str) -> list[Move]:
    """The fix for a problem the request names, where the clip measurably has it.

    The band is judged against the clip's own spectral trend (`trend_deviation`), not the mix target
    curve: the strongest run of third octaves in the problem's band standing `NAMED_DB` above (or
    below) the trend is moved back by `named_amount` (70 % of it, 2 to 6 dB; the reason states
    it and the check holds the chain to it), with a peaking cut (or a shelf for a dip) sized by the
    filters' own response.
    """
    lo, hi, sign = NAMED_BANDS[problem]
    dev = trend_deviation(spectrum, exclude=(lo, hi))
    found = sorted(regions(spectrum, dev, lo, hi, NAMED_DB, sign=sign), key=lambda r: -abs(r.excess_db) * r.octaves)
    if not found:
        sel = (spectrum.centres >= lo) & (spectrum.centres <= hi)
        worst = float((sign * dev[sel]).max()) if sel.any() else 0.0
        side = "above" if sign > 0 else "below"
        where = f"stands at most {worst:.1f} dB {side}" if worst > 0 else f"does not stand {side}"
        return [([], Reason(problem, f"asked to fix {problem}, but {_hz(lo)}-{_hz(hi)} {where} the clip's own "
                                     f"spectral trend (it takes {NAMED_DB:g} dB to be {problem}): nothing to change "
                                     "for it", round(worst, 2), NAMED_DB, "dB"))]
    region = found[0]
    amount = named_amount(region.excess_db)
    sel = (spectrum.centres >= region.lo_hz) & (spectrum.centres <= region.hi_hz)
    if sign > 0:
        q = round(max(0.4, min(4.0, q_for_octaves(region.octaves))), 3)
        entry = {"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": round(region.centre_hz, 1),
                                                    "gain_db": -(amount + 1.0), "q": q}}
    else:
        plugin, corner = ("LowShelfFilter", region.hi_hz) if problem == "thin" else ("HighShelfFilter", region.lo_hz)
        entry = {"plugin": plugin, "params": {"cutoff_frequency_hz": round(corner, 1), "gain_db": amount + 1.0,
                                              "q": 0.707}}
    for _ in range(4):  # size the gain so the band moves by the amount (and a little more), by the response
        moved = sign * -float(eq_band_response([entry], sample_rate, spectrum.centres[sel]).mean())
        gain = float(entry["params"]["gain_db"]) * (amount + 1.0) / max(moved, 0.1)
        entry["params"]["gain_db"] = round(max(-MAX_CUT_DB, min(MAX_BOOST_DB + 3.0, gain)), 2)
    words = (f"a {entry['params']['gain_db']:+.1f} dB {'cut' if sign > 0 else 'shelf'} at "
             f"{_hz(entry['params']['cutoff_frequency_hz'])}")
    return [([entry], Reason(problem, f"{problem}: {_hz(region.lo_hz)}-{_hz(region.hi_hz)} stands "
                                      f"{abs(region.excess_db):.1f} dB {'above' if sign > 0 else 'below'} the clip's "
                                      f"own spectral trend; {words} moves it back by at least {amount:g} dB",
                             round(region.excess_db, 2), amount, "dB",
                             [round(region.lo_hz, 1), round(region.hi_hz, 1)]))]


def is_broadband(spectrum: BandSpectrum, span_db: float = 30.0, min_bands: int = 10) -> bool:
    """True when at least `min_bands` third octaves of 63 Hz-8 kHz lie within `span_db` of the loudest:
    a mix or a full-range part, not a tone or a band-limited layer the target curve says nothing about."""
    sel = (spectrum.centres >= 63.0) & (spectrum.centres <= 8000.0)
    levels = spectrum.levels_db[sel]
    return bool(levels.size and np.count_nonzero(levels > levels.max() - span_db) >= min_bands)


#: The problem words a request may name, to the zones (problem codes) they mean.
NAMED_ZONES = {"mud": ("mud", "boxy"), "boom": ("boomy",), "harsh": ("harsh", "honky"), "sibilant": ("sibilant",),
               "thin": ("thin",), "dull": ("dull",)}


def tonal_moves(spectrum: BandSpectrum, sample_rate: int, only: set[str] | None = None) -> list[Move]:
    """Cuts for bands above the target curve, boosts for a dull top or thin bottom.

    `only` (problem codes such as mud, boomy, thin) keeps the moves for those problems: a request
    that names a problem gets that fix, and no others it did not ask for.
    """
    dev = deviation(spectrum)
    moves: list[Move] = []
    found = sorted(regions(spectrum, dev, 45.0, 16000.0, EXCESS_DB), key=lambda r: -r.excess_db * r.octaves)
    if only is not None:
        found = [r for r in found if _zone(r.peak_hz)[0] in only]
    for region in found[:MAX_EQ_MOVES]:
        problem, words = _zone(region.peak_hz)
        moves.append((_peak_move(region, spectrum, dev, sample_rate), Reason(
            problem, f"energy between {_hz(region.lo_hz)} and {_hz(region.hi_hz)} is {region.excess_db:.1f} dB "
                     f"above the target curve ({words}); cut around {_hz(region.centre_hz)}",
            round(region.excess_db, 2), 0.0, "dB", [round(region.lo_hz, 1), round(region.hi_hz, 1)])))
    for problem, words, lo, hi, plugin, corner in (
            ("dull", "a dull top end", 5000.0, 16000.0, "HighShelfFilter", 5000.0),
            ("thin", "a thin low end", 50.0, 200.0, "LowShelfFilter", 200.0)):
        if only is not None and problem not in only:
            continue
        for region in regions(spectrum, dev, lo, hi, DEFICIT_DB, sign=-1)[:1]:
            if region.octaves < 0.9:  # one band's dip is a notch in the music, not a tonal balance
                continue
            boost = round(min(MAX_BOOST_DB, -region.excess_db), 2)
            moves.append(([{"plugin": plugin, "params": {"cutoff_frequency_hz": corner, "gain_db": boost,
                                                         "q": 0.707}}],
                          Reason(problem, f"energy between {_hz(region.lo_hz)} and {_hz(region.hi_hz)} is "
                                          f"{-region.excess_db:.1f} dB below the target curve ({words}); "
                                          f"a {boost:+.1f} dB shelf at {_hz(corner)}",
                                 round(region.excess_db, 2), 0.0, "dB",
                                 [round(region.lo_hz, 1), round(region.hi_hz, 1)])))
    return moves


#: Rumble filters tried in order (24 dB per octave ladder high-passes, lowest corner first): the first that
#: takes the energy below 40 Hz down by RUMBLE_CUT_DB on the clip itself is suggested.
RUMBLE_CORNERS_HZ = (30.0, 35.0, 40.0, 45.0, 50.0, 60.0)
RUMBLE_CUT_DB = 12.0


def rumble_filter(cutoff_hz: float) -> dict[str, Any]:
    return {"plugin": "LadderFilter", "params": {"mode": "HPF24", "cutoff_hz": cutoff_hz, "resonance": 0.0,
                                                 "drive": 1.0}}


def rumble_move(spectrum: BandSpectrum, sample_rate: int, samples: np.ndarray | None = None,
                named: bool = False) -> list[Move]:
    """A 24 dB/octave high-pass for energy below the musical range (below 45 Hz, above the curve's roll-off).

    The corner is chosen by measurement: each candidate runs on the clip and the lowest one that
    lowers the energy below 40 Hz by 12 dB (against 100 Hz-5 kHz) wins, so as little of the bass
    as possible goes with the rumble. `named`: the request named rumble, so say so when there is none.
    """
    dev = deviation(spectrum)
    found = regions(spectrum, dev, 20.0, 45.0, RUMBLE_DB)
    if not found:
        if not named:
            return []
        below = [float(d) for c, d in zip(spectrum.centres, dev) if c < 45.0]
        worst = max(below) if below else 0.0
        return [([], Reason("rumble", f"asked to remove rumble, but the energy below 45 Hz is at most {worst:.1f} dB "
                                      f"above the target curve (under the {RUMBLE_DB:g} dB that would be rumble): no "
                                      "high-pass needed", round(worst, 2), RUMBLE_DB, "dB"))]
    region = max(found, key=lambda r: r.excess_db)
    entry, cut = rumble_filter(RUMBLE_CORNERS_HZ[-1]), 0.0
    if samples is not None:
        probe = samples[:, : int(8 * sample_rate)]  # eight seconds tell a steady rumble apart
        before = sub40_db(probe, sample_rate)
        for corner in RUMBLE_CORNERS_HZ:
            entry = rumble_filter(corner)
            cut = before - sub40_db(process_array([entry], probe, sample_rate), sample_rate)
            if cut >= RUMBLE_CUT_DB:
                break
    corner = entry["params"]["cutoff_hz"]
    measured = f", measured {cut:.1f} dB less below 40 Hz on the clip" if samples is not None else ""
    return [([entry], Reason("rumble", f"energy between {_hz(region.lo_hz)} and {_hz(region.hi_hz)}, below the "
                                       f"musical range, is {region.excess_db:.1f} dB above the target curve (rumble); "
                                       f"high-pass at {_hz(corner)}, 24 dB per octave{measured}",
                             round(region.excess_db, 2), 0.0, "dB", [round(region.lo_hz, 1), round(region.hi_hz, 1)]))]


def dynamics_moves(lra_lu: float, short_term: tuple[float, float], crest_db: float,
                   limit_lu: float = TOO_DYNAMIC_LU) -> list[Move]:
    """A compressor for too wide a loudness range; advice for a squashed one (nothing un-compresses)."""
    quiet, loud = short_term
    if lra_lu > limit_lu:
        threshold = max(-60.0, min(-6.0, quiet + 0.35 * (loud - quiet)))
        ratio = max(1.5, min(8.0, (loud - threshold) / max(1.0, DYNAMIC_GOAL_LU - (threshold - quiet))))
        entry = {"plugin": "Compressor", "params": {"threshold_db": round(threshold, 1), "ratio": round(ratio, 2),
                                                    "attack_ms": 10.0, "release_ms": 250.0}}
        return [([entry], Reason("too_dynamic", f"loudness range is {lra_lu:.1f} LU (loud parts {loud:.1f}, quiet "
                                                f"parts {quiet:.1f} LUFS short-term), more than {limit_lu:g} LU; "
                                                f"compress {ratio:.1f}:1 above {threshold:.0f} dBFS",
                                 round(lra_lu, 2), DYNAMIC_GOAL_LU, "LU"))]
    if 0 < lra_lu < 3.0 and crest_db < 9.0:
        return [([], Reason("squashed", f"loudness range is {lra_lu:.1f} LU and the crest factor {crest_db:.1f} dB: "
                                        "the clip is already heavily compressed; add no more compression or limiting",
                            round(lra_lu, 2), 5.0, "LU"))]
    return []


def compressor_ratio_fix(entry: dict[str, Any], lra_after: float) -> bool:
    """Tighten a too-dynamic compressor when the clip still measures too wide; False when at its limit."""
    params = entry["params"]
    if lra_after <= DYNAMIC_GOAL_LU + 1.5 or params["ratio"] >= 20.0:
        return False
    params["ratio"] = round(min(20.0, params["ratio"] * 1.6), 2)
    params["threshold_db"] = round(max(-60.0, params["threshold_db"] - 2.0), 1)
    return True


def stereo_moves(channels: int, correlation: float, width: float) -> list[Move]:
    """Width for a near-mono clip, narrowing for one too wide, a warning for one out of phase."""
    if channels < 2:
        return []
    if correlation < -0.2:
        return [([{"plugin": "StereoWidth", "params": {"width_percent": 60.0}}],
                 Reason("out_of_phase", f"left and right correlate at {correlation:.2f}: much of the clip cancels in "
                                        "mono; check a channel's polarity, and narrow to 60 % meanwhile",
                        round(correlation, 3), 0.3, ""))]
    if width < 1e-4:
        return [([{"plugin": "Reverb", "params": {"room_size": 0.25, "damping": 0.6, "wet_level": 0.25,
                                                  "dry_level": 0.8, "width": 1.0}}],
                 Reason("mono", "left and right are identical (a mono clip on two channels): mid/side width cannot "
                                "widen it; a short, wide room adds decorrelated space",
                        round(width, 4), WIDTH_GOAL, ""))]
    if width < NARROW_WIDTH:
        k = math.sqrt(WIDTH_GOAL * (1 - width) / (width * (1 - WIDTH_GOAL)))
        percent = round(min(400.0, 100.0 * k), 1)
        return [([{"plugin": "StereoWidth", "params": {"width_percent": percent}}],
                 Reason("too_narrow", f"the side signal holds {100 * width:.1f} % of the energy (correlation "
                                      f"{correlation:.2f}): nearly mono; widen to {percent:.0f} %",
                        round(width, 4), WIDTH_GOAL, ""))]
    if width > WIDE_WIDTH:
        k = math.sqrt(0.4 * (1 - width) / (width * 0.6))
        percent = round(max(0.0, 100.0 * k), 1)
        return [([{"plugin": "StereoWidth", "params": {"width_percent": percent}}],
                 Reason("too_wide", f"the side signal holds {100 * width:.0f} % of the energy: the clip will lose "
                                    f"level in mono; narrow to {percent:.0f} %", round(width, 4), 0.4, ""))]
    return []
