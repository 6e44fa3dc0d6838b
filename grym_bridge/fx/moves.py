"""The moves of a suggestion as a list the engine can check, adjust, and drop from.

Each `Planned` move knows why it is there (its `Reason`), what it promised
(a direction such as brighter, a named problem such as mud, or a corrective
fix the clip measurably needed) and how to push it further when its check
fails. `settle` runs the whole chain on the clip, checks every promise,
strengthens the moves that fell short and drops those that still fail, saying
so in the reasons; `drop_conflicts` removes a move that would undo another
(a boost and a cut of the same band, or a duplicate filter) before that.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grym_bridge.fx.checks import Check, check_direction, check_fix, metrics
from grym_bridge.fx.types import Reason
from plugin_host import process_array

_EQ = {"PeakFilter", "LowShelfFilter", "HighShelfFilter"}
#: Which promise wins a conflict: what was asked beats what the engine found by itself.
#: A fix the clip measurably needs beats a style's broad shelf over the same band.
_PRIORITY = {"fix": 3, "corrective": 2, "direction": 1, "other": 0}


@dataclass
class Planned:
    entries: list[dict[str, Any]]
    reason: Reason
    kind: str = "other"  # fix, direction, corrective, other (dynamics, advice)
    name: str = ""  # the goal or problem it promises
    band_hz: tuple[float, float] | None = None
    check: Check | None = field(default=None, repr=False)
    strengthened: int = 0

    @property
    def promises(self) -> bool:
        return self.kind in ("fix", "direction", "corrective") and bool(self.entries)


def chain_of(items: list[Planned]) -> list[dict[str, Any]]:
    return [e for it in items for e in it.entries]


def _eq_span(entry: dict[str, Any]) -> tuple[float, float, float] | None:
    """(low Hz, high Hz, gain dB) an EQ entry acts on, or None for anything else."""
    if entry["plugin"] not in _EQ:
        return None
    p = entry["params"]
    f, g = float(p["cutoff_frequency_hz"]), float(p.get("gain_db", 0.0))
    if entry["plugin"] == "LowShelfFilter":
        return 20.0, f, g
    if entry["plugin"] == "HighShelfFilter":
        return f, 20000.0, g
    half = 0.5 * math.log2(1 + 1 / max(float(p.get("q", 1.0)), 0.1)) + 0.25
    return f / 2**half, f * 2**half, g


def _cut_corner(entry: dict[str, Any]) -> tuple[str, float] | None:
    """("high", corner) for a high-pass (it removes below the corner), ("low", corner) for a low-pass."""
    p = entry["params"]
    if entry["plugin"] in ("HighpassFilter", "LowpassFilter"):
        return ("high" if entry["plugin"] == "HighpassFilter" else "low"), float(p["cutoff_frequency_hz"])
    if entry["plugin"] == "LadderFilter" and str(p.get("mode", "")).startswith(("HPF", "LPF")):
        return ("high" if str(p["mode"]).startswith("HPF") else "low"), float(p["cutoff_hz"])
    return None


def _fights(e: dict[str, Any], f: dict[str, Any]) -> bool:
    """A boost of what a filter removes: a low boost under a high-pass's corner, a high boost over a low-pass's."""
    for a, b in ((e, f), (f, e)):
        corner, span = _cut_corner(a), _eq_span(b)
        if corner and span and span[2] > 0:
            centre = math.sqrt(span[0] * span[1]) if b["plugin"] == "PeakFilter" else (
                span[1] / 2 if b["plugin"] == "LowShelfFilter" else span[0] * 2)  # a shelf lifts an octave past its corner
            if (corner[0] == "high" and centre <= corner[1]) or (corner[0] == "low" and centre >= corner[1]):
                return True
    return False


def _overlap_octaves(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return math.log2(hi / lo) if hi > lo else 0.0


def _clash(e: dict[str, Any], f: dict[str, Any]) -> str | None:
    """Why entry `e` would undo entry `f`, or None."""
    if e == f and e["plugin"] != "Gain":
        return "the same filter is in the chain already"
    if _fights(e, f):
        return "it would boost what a filter in the chain removes"
    a, b = _eq_span(e), _eq_span(f)
    if a and b and a[2] * b[2] < 0 and _overlap_octaves(a, b) >= 1 / 3:
        return (f"it would {'boost' if a[2] > 0 else 'cut'} the band {max(a[0], b[0]):.0f}-{min(a[1], b[1]):.0f} Hz "
                f"that the other {'cuts' if a[2] > 0 else 'boosts'}")
    return None


def drop_conflicts(items: list[Planned]) -> list[Reason]:
    """Remove what would undo another move (opposite EQ over the same band, a boost of what a filter
    removes, an identical filter twice).

    The entry of the lower-priority move goes (a named fix over a corrective move over a direction);
    the rest of that move stays (a punch compressor keeps working without its low boost), and a move
    left with nothing is dropped. The reasons returned say what went and why.
    """
    notes: list[Reason] = []
    ranked = sorted(range(len(items)), key=lambda i: -_PRIORITY[items[i].kind])
    kept: list[int] = []
    for i in ranked:
        it = items[i]
        keep_entries = []
        for e in it.entries:
            clash = next(((items[j], why) for j in kept for f in items[j].entries for why in [_clash(e, f)] if why),
                         None)
            if clash is None:
                keep_entries.append(e)
                continue
            other, why = clash
            notes.append(Reason("dropped", f"dropped {e['plugin']} from '{it.reason.message[:50]}...': {why} "
                                           f"({other.kind} {other.name or other.reason.problem} wins)",
                                None, None, ""))
        if keep_entries or not it.entries:
            it.entries[:] = keep_entries
            kept.append(i)
    kept_set = set(kept)
    items[:] = [it for k, it in enumerate(items) if k in kept_set]
    return notes


def _strengthen(it: Planned) -> bool:
    """Push a move that fell short further; False when it is already at its limit."""
    changed = False
    for e in it.entries:
        p, name = e["params"], e["plugin"]
        if name in _EQ:
            g = float(p["gain_db"])
            c = it.check
            if it.kind == "fix" and c is not None and it.reason.target is not None:  # a named problem's amount
                moved = abs(c.before - c.after)
                overshot = moved > it.reason.target + 0.5 and (c.after * c.before < 0 or moved > 1.5 * abs(c.before))
            else:
                overshot = c is not None and it.kind != "direction" and abs(c.after) > abs(c.before) / 2 \
                    and c.after * c.before < 0
            new = g * 0.7 if overshot else (max(-18.0, g * 1.4) if g < 0 else min(9.0, g * 1.4))
            changed |= abs(new - g) > 0.05
            p["gain_db"] = round(new, 2)
            if it.kind == "direction" and name == "HighShelfFilter":  # a clip with little top: reach lower
                corner = max(1000.0, float(p["cutoff_frequency_hz"]) / 1.5)
                changed |= corner != p["cutoff_frequency_hz"]
                p["cutoff_frequency_hz"] = round(corner, 1)
            elif it.kind == "direction" and name == "LowShelfFilter":
                corner = min(600.0, float(p["cutoff_frequency_hz"]) * 1.3)
                changed |= corner != p["cutoff_frequency_hz"]
                p["cutoff_frequency_hz"] = round(corner, 1)
        elif name == "StereoWidth" and it.name in ("wider",):
            new = min(300.0, float(p["width_percent"]) + 40.0)
            changed |= new != p["width_percent"]
            p["width_percent"] = new
        elif name == "StereoWidth" and it.name == "narrower":
            new = max(0.0, float(p["width_percent"]) - 25.0)
            changed |= new != p["width_percent"]
            p["width_percent"] = new
        elif name == "StereoWidth" and it.name == "mono":
            new = min(250.0, float(p.get("crossover_hz", 120.0)) + 40.0)
            changed |= new != p.get("crossover_hz")
            p["crossover_hz"] = new
        elif name == "LadderFilter" and it.name == "rumble":
            new = min(80.0, float(p["cutoff_hz"]) + 10.0)
            changed |= new != p["cutoff_hz"]
            p["cutoff_hz"] = new
    return changed


def tune_punch(it: Planned, samples: np.ndarray, sample_rate: int, ceiling_dbtp: float) -> str:
    """Set a punch compressor by measurement: the most crest factor gained with the loudness kept.

    The result must come back to the clip's loudness with gain alone (a limiter would flatten the
    transients again) and lose at most 0.9 LU doing so under the true-peak ceiling, so each candidate
    (threshold under the loud parts, ratio, attack) runs on the clip and the best that keeps to it wins.
    Returns what was measured, for the reason.
    """
    from grym_bridge.fx.verify import measure

    if not any(e["plugin"] == "Compressor" for e in it.entries):
        return ""
    probe = samples[:, : int(8 * sample_rate)]
    ref = measure(probe, sample_rate)
    crest0 = metrics_crest(probe)
    peak_db = 20 * math.log10(max(float(np.abs(probe).max()), 1e-12))
    weight = [e for e in it.entries if e["plugin"] != "Compressor"]
    best: tuple[float, list[dict[str, Any]]] | None = None
    tried = 0
    for extras in (weight, []):  # the low boost adds peak level: without it when the peaks have no room
        for under in (4.0, 8.0, 12.0, 18.0, 24.0):
            for ratio in (2.0, 4.0, 6.0):
                for attack in (10.0, 25.0):
                    tried += 1
                    params = {"threshold_db": round(peak_db - under, 1), "ratio": ratio, "attack_ms": attack,
                              "release_ms": 150.0}
                    trial = [{"plugin": "Compressor", "params": params}] + copy.deepcopy(extras)
                    out = process_array(trial, probe, sample_rate)
                    got = measure(out, sample_rate)
                    makeup = min(ref["lufs"] - got["lufs"], ceiling_dbtp - 0.5 - got["true_peak_dbtp"])
                    if ref["lufs"] - (got["lufs"] + makeup) > 0.9:
                        continue
                    gained = metrics_crest(out) - crest0
                    if best is None or gained > best[0] + 0.05:
                        best = (gained, trial)
        if best is not None and best[0] >= 0.5:
            break
    if best is None:
        return "no compressor setting kept the loudness within 1 LU under the ceiling"
    it.entries[:] = best[1]
    p = best[1][0]["params"]
    kept = ", and +2 dB at 90 Hz for the kick's weight" if len(best[1]) > 1 else \
        " (no low boost: the peaks have no room for it)"
    return (f"a {p['ratio']:g}:1 compressor {peak_db - p['threshold_db']:.0f} dB under the peaks with a "
            f"{p['attack_ms']:g} ms attack lets the transients through over the body{kept}; chosen on the clip "
            f"from {tried} settings: +{best[0]:.1f} dB crest factor, loudness kept within 1 LU under the ceiling")


def metrics_crest(x: np.ndarray) -> float:
    """Sample peak over RMS (dB)."""
    rms = float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))
    return 20 * math.log10(max(float(np.abs(x).max()), 1e-12) / max(rms, 1e-12))


def check(it: Planned, before: dict[str, Any], after: dict[str, Any]) -> Check | None:
    if not it.promises:
        return None
    if it.kind == "direction":
        return check_direction(it.name, before, after)
    named = it.reason.target if it.kind == "fix" and it.name != "rumble" else None
    return check_fix(it.name, before, after, it.band_hz, named=named)


def settle(items: list[Planned], samples: np.ndarray, sample_rate: int, before: dict[str, Any],
           rounds: int = 3) -> tuple[list[Reason], dict[str, Any]]:
    """Run the chain on the clip, strengthen what falls short, drop what still fails; the notes and the result."""
    notes: list[Reason] = []
    after = before
    for attempt in range(rounds + 1):
        chain = chain_of(items)
        after = metrics(process_array(chain, samples, sample_rate), sample_rate) if chain else before
        failed = []
        for it in items:
            it.check = check(it, before, after)
            if it.check is not None and not it.check.passed:
                failed.append(it)
        if not failed:
            break
        last = attempt == rounds
        for it in failed:
            if not last and _strengthen(it):
                it.strengthened += 1
            else:
                notes.append(Reason("dropped", f"dropped the {it.kind} move for {it.name}: on the clip "
                                               f"{it.check.message() if it.check else ''}", None, None, ""))
                items.remove(it)
        if last:
            chain = chain_of(items)
            after = metrics(process_array(chain, samples, sample_rate), sample_rate) if chain else before
            for it in items:
                it.check = check(it, before, after)
    for it in items:
        if it.check is not None:
            what = "; ".join(_describe(e) for e in it.entries)
            adjusted = f"strengthened {it.strengthened}x on the clip to {what}; " if it.strengthened else ""
            it.reason.message += f" [{adjusted}checked: {it.check.message()}]"
    return notes, after


def _describe(entry: dict[str, Any]) -> str:
    return entry["plugin"] + "(" + ", ".join(f"{k}={v}" for k, v in entry["params"].items()) + ")"


def copied(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return copy.deepcopy(entries)
