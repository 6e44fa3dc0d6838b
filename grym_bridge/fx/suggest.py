"""The suggestion engine: from a clip's analysis to a chain with a measured reason for every move.

Steps, in chain order:
1. measure: the analysis, third-octave spectrum, short-term loudness spread;
2. rumble high-pass, then tonal EQ (corrective, or matching a reference);
3. the style's moves;
4. dynamics (a compressor for too wide a loudness range), then stereo width;
5. verify on the clip: tighten the compressor if the range is still too wide;
6. loudness: make-up gain and a true-peak limiter fitted to the target on the clip itself.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from grym_bridge.analysis import Analysis, analyze, loudness, stereo_image
from grym_bridge.audio_io import Audio
from grym_bridge.fx import corrective, reference as reference_eq
from grym_bridge.fx.checks import metrics
from grym_bridge.fx.corrective import NAMED_ZONES, Move
from grym_bridge.fx.moves import Planned, chain_of, check, copied, drop_conflicts, settle, tune_punch
from grym_bridge.fx.spectrum import band_spectrum, deviation, spectral_distance
from grym_bridge.fx.styles import GOAL_STYLES, STYLE_GOALS, style_moves
from grym_bridge.fx.types import LoudnessTarget, Reason, Suggestion
from grym_bridge.fx.verify import fit_loudness, measure, short_term_percentiles
from plugin_host import process_array

Progress = Callable[[float, str], None]
#: Gain alone (no limiter) keeps this far under the ceiling: true-peak meters differ by a few tenths
#: of a dB on sharp transients (drum hits), and the true-peak limiter is not there to catch them.
GAIN_ONLY_MARGIN_DB = 0.5


def _note(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(fraction, message)


def _measured(audio: Audio, analysis: Analysis, short_term: tuple[float, float]) -> dict[str, Any]:
    return {
        "channels": audio.channels, "lufs": analysis.lufs_integrated, "true_peak_dbtp": analysis.true_peak_dbtp,
        "loudness_range_lu": analysis.loudness_range_lu, "crest_factor_db": analysis.crest_factor_db,
        "stereo_correlation": analysis.stereo_correlation, "stereo_width": analysis.stereo_width,
        "spectral_centroid_hz": analysis.spectral_centroid_hz,
        "spectral_tilt_db_per_oct": analysis.spectral_tilt_db_per_oct, "bands_db": dict(analysis.bands_db),
        "short_term_quiet_lufs": short_term[0], "short_term_loud_lufs": short_term[1],
    }


def _loudness_reasons(before: dict[str, Any], target: LoudnessTarget, gain_db: float, ceiling: float,
                      indices: list[int]) -> list[Reason]:
    lufs, tp = before["lufs"], before["true_peak_dbtp"]
    reasons = []
    if lufs < target.lufs - 1.0:
        problem, words = "too_quiet", f"{target.lufs - lufs:.1f} LU below"
    elif lufs > target.lufs + 1.0:
        problem, words = "too_loud", f"{lufs - target.lufs:.1f} LU above"
    else:
        problem, words = "loudness", "close to"
    reasons.append(Reason(problem, f"integrated loudness is {lufs:.1f} LUFS, {words} the {target.name} target of "
                                   f"{target.lufs:g} LUFS; {gain_db:+.1f} dB of gain into a true-peak limiter at "
                                   f"{ceiling:.2f} dBTP", round(lufs, 2), target.lufs, "LUFS", None, indices))
    if math.isfinite(tp) and tp > target.ceiling_dbtp:
        reasons.append(Reason("over_ceiling", f"true peak is {tp:.1f} dBTP, above the {target.ceiling_dbtp:g} dBTP "
                                              "ceiling; the limiter holds it under", round(tp, 2),
                              target.ceiling_dbtp, "dBTP", None, indices[-1:]))
    return reasons


def _relative_target(goals: list[str], lufs: float, ceiling: float) -> LoudnessTarget | None:
    """"louder" is 3 LU up (never past -5 LUFS), "quieter" 3 LU down, when no destination was named."""
    if "louder" in goals:
        return LoudnessTarget("louder", round(max(lufs, min(lufs + 3.0, -5.0)), 2), ceiling)
    if "quieter" in goals:
        return LoudnessTarget("quieter", round(lufs - 3.0, 2), ceiling)
    return None


def suggest(audio: Audio, *, target: LoudnessTarget | None = None, style: str | None = None,
            reference: Audio | None = None, analysis: Analysis | None = None,
            progress: Progress | None = None, goals: Sequence[str] = (), fix: Sequence[str] = (),
            ceiling_dbtp: float = -1.0) -> Suggestion:
    """Suggest a chain for `audio`: corrective moves, `style`, `reference` matching, `target` loudness.

    `goals` are a request's directions (darker, wider, punchier, tighter, louder, quieter, mono...)
    and `fix` the problems it names (rumble, mud, boom, harsh, sibilant, thin, dull). With either,
    the chain holds what was asked (and a rumble filter where the clip measurably has rumble), not
    every fix the engine could find. Every move comes with a `Reason` holding its
    measurement; the chain is run on the clip and each promise checked (`Suggestion.checks`): a move
    that falls short is strengthened, then dropped with a reason that says so. Loudness is matched
    to the clip's own unless loudness was the request.
    """
    # 1. measure
    _note(progress, 0.0, "analysing")
    samples, sr = audio.samples, audio.sample_rate
    analysis = analysis or analyze(audio)
    spectrum = band_spectrum(samples, sr)
    short_term = short_term_percentiles(samples, sr)
    measured = _measured(audio, analysis, short_term)
    measured["band_deviation_db"] = {f"{c:.0f}": round(float(d), 2)
                                     for c, d in zip(spectrum.centres, deviation(spectrum))}
    _note(progress, 0.3, "finding moves")
    if not math.isfinite(analysis.lufs_integrated) or analysis.lufs_integrated < -70.0:
        return Suggestion(chain=[], reasons=[Reason("silent", "the clip is silent (below the -70 LUFS gate): "
                                                              "nothing to suggest")],
                          source=str(audio.path) if audio.path else None, target=target, style=style,
                          measured=measured)
    goals = [g for g in goals if g != "tighter"] + [f for f in ("mud", "boom") if "tighter" in goals]
    fixes = list(dict.fromkeys(list(fix) + [g for g in goals if g in NAMED_ZONES]))
    goals = [g for g in goals if g not in NAMED_ZONES]
    directions = list(dict.fromkeys(([STYLE_GOALS.get(style, style)] if style else [])
                                    + [g for g in goals if g in GOAL_STYLES]))
    # A request in words asks for what it names; `style` alone (grym suggest --style) is a full suggestion
    # with the style on top, its corrective moves checked like the rest.
    requested = bool(fixes or goals)
    ceiling = target.ceiling_dbtp if target is not None else ceiling_dbtp
    target = target or _relative_target(goals, analysis.lufs_integrated, ceiling)
    before = metrics(samples, sr)

    items: list[Planned] = []
    notes: list[Reason] = []

    def add(moves: list[Move], kind: str, name: str = "") -> None:
        for entries, reason in moves:
            band = tuple(reason.band_hz) if reason.band_hz else None
            problem = name or next((n for n, zones in NAMED_ZONES.items() if reason.problem in zones), reason.problem)
            if kind != "direction" and problem not in NAMED_ZONES and problem != "rumble":
                kind = "other"
            items.append(Planned(entries, reason, kind, problem, band))  # type: ignore[arg-type]

    # 2. spectrum: rumble, then the named problems (or every measured one when nothing was asked)
    add(corrective.rumble_move(spectrum, sr, samples, named="rumble" in fixes),
        "fix" if "rumble" in fixes else "corrective")
    ref_measured = None
    if reference is not None:
        ref_spectrum = band_spectrum(reference.samples, reference.sample_rate)
        add([reference_eq.match_eq(spectrum, ref_spectrum, sr)], "other")
        ref_measured = measure(reference.samples, reference.sample_rate)
        measured["reference_distance_db"] = round(spectral_distance(spectrum, ref_spectrum), 2)
        if target is None or target.name == "reference":
            target = LoudnessTarget("reference", round(ref_measured["lufs"], 2),
                                    target.ceiling_dbtp if target else -1.0)
    elif requested:
        for n in fixes:
            if n != "rumble":
                add(corrective.named_move(spectrum, sr, n), "fix", n)
    elif corrective.is_broadband(spectrum):
        add(corrective.tonal_moves(spectrum, sr), "corrective")
    else:
        notes.append(Reason("narrow_band", "the clip's energy sits in a few bands (a tone, a single "
                                           "instrument or a filtered part): tonal-balance moves are for full-range "
                                           "material, so none are suggested"))
    # 3. directions (a style is one)
    for d in directions:
        add([(copied(e), r) for e, r in style_moves(GOAL_STYLES.get(d, d), measured)], "direction", d)
    # 4. dynamics and stereo: a mastering request or a plain suggestion; a directed one only fixes phase
    limit = 20.0 if target is not None and target.name == "broadcast" else corrective.TOO_DYNAMIC_LU
    if not requested or (target is not None and target.name not in ("louder", "quieter")):
        add(corrective.dynamics_moves(analysis.loudness_range_lu, short_term, analysis.crest_factor_db, limit), "other")
    stereo = corrective.stereo_moves(audio.channels, analysis.stereo_correlation, analysis.stereo_width)
    if reference is not None:  # the reference decides the width: it replaces the generic stereo fixes
        _, ref_width = stereo_image(reference.samples)
        stereo = reference_eq.match_width(audio.channels, analysis.stereo_width, reference.channels, ref_width)
    if requested:
        stereo = [m for m in stereo if m[1].problem == "out_of_phase"]
    elif style == "wide":  # the style widens already; a second widening move would double it
        stereo = [m for m in stereo if m[1].problem not in ("mono", "too_narrow")]
    add(stereo, "other")

    # 5. check on the clip: conflicts out, each promise measured, a short one strengthened or dropped
    _note(progress, 0.45, "checking the chain on the clip")
    notes += drop_conflicts(items)
    for it in items:
        if it.kind == "direction" and it.name == "punchier":
            said = tune_punch(it, samples, sr, ceiling)
            if said:
                it.reason.message = f"style 'punchy': {said}"
    notes += settle(items, samples, sr, before)[0]
    chain = chain_of(items)
    pre = process_array(chain, samples, sr) if chain else samples
    compressor = next((e for it in items if it.reason.problem == "too_dynamic" for e in it.entries), None)
    for _ in range(4):
        if compressor is None:
            break
        lra = measure(pre, sr)["loudness_range_lu"]
        if not corrective.compressor_ratio_fix(compressor, lra):
            break
        pre = process_array(chain, samples, sr)
    reasons: list[Reason] = []
    chain = []
    for it in items:
        it.reason.plugins = list(range(len(chain), len(chain) + len(it.entries)))
        chain.extend(it.entries)
        reasons.append(it.reason)
    reasons += notes

    # 6. loudness: on target, or back to the clip's own
    predicted = measure(pre, sr)
    if target is None and (requested or style) and chain and math.isfinite(predicted["lufs"]):
        target = LoudnessTarget("matched", round(analysis.lufs_integrated, 2), ceiling)
    if target is not None:
        _note(progress, 0.7, f"fitting loudness to {target.lufs:g} LUFS")
        chain, reasons, predicted = _fit(chain, reasons, pre, sr, target, measured, progress)
    checks = _final_checks(items, chain, samples, sr, before)
    if reference is not None and ref_measured is not None:
        measured["reference"] = ref_measured
    _note(progress, 1.0, "done")
    return Suggestion(chain=chain, reasons=reasons, source=str(audio.path) if audio.path else None,
                      target=target if target is None or target.name != "matched" else None, style=style,
                      reference=str(reference.path) if reference is not None and reference.path else None,
                      measured=measured, checks=checks,
                      predicted={k: (round(v, 3) if isinstance(v, float) and np.isfinite(v) else v)
                                 for k, v in predicted.items()})


def _fit(chain: list[dict[str, Any]], reasons: list[Reason], pre: np.ndarray, sr: int, target: LoudnessTarget,
         measured: dict[str, Any], progress: Progress | None) -> tuple[list[dict[str, Any]], list[Reason], dict]:
    """Gain (and a true-peak limiter only where the peaks need one) to the target, checked on the clip."""
    if target.name == "matched":
        # Gain alone where the peaks allow it: up to 1 LU short of the clip's loudness rather than a
        # limiter, which would flatten the very transients a punchier chain brings out.
        gain = round(measured["lufs"] - loudness.integrated_lufs(pre, sr), 2)
        peak = measure(pre, sr)["true_peak_dbtp"]
        room = target.ceiling_dbtp - GAIN_ONLY_MARGIN_DB - peak
        gain = round(min(gain, room), 2) if gain - room <= 0.9 else gain
        trial = process_array([{"plugin": "Gain", "params": {"gain_db": gain}}], pre, sr)
        result = measure(trial, sr)
        if result["true_peak_dbtp"] <= target.ceiling_dbtp - GAIN_ONLY_MARGIN_DB + 0.05:
            if abs(gain) >= 0.05:
                reasons.append(Reason("loudness_matched", f"{gain:+.1f} dB brings the result back to the clip's "
                                                          f"{measured['lufs']:.1f} LUFS, so the change is heard, "
                                                          "not the level", round(result["lufs"], 2),
                                      round(measured["lufs"], 2), "LUFS", None, [len(chain)]))
                chain = chain + [{"plugin": "Gain", "params": {"gain_db": gain}}]
            return chain, reasons, result
    moves, predicted = fit_loudness(pre, sr, target, progress)
    if not moves:
        return chain, reasons, predicted
    if target.name != "matched" and predicted["lufs"] < target.lufs - 0.5:
        chain, moves, predicted = _push_louder(chain, reasons, pre, sr, target, measured, moves, predicted, progress)
    indices = [len(chain), len(chain) + 1]
    chain = chain + moves
    if target.name == "matched":
        reasons.append(Reason("loudness_matched", f"{moves[0]['params']['gain_db']:+.1f} dB and a true-peak limiter "
                                                  f"at {moves[1]['params']['ceiling_db']:.2f} dBTP bring the result "
                                                  f"back to the clip's {measured['lufs']:.1f} LUFS",
                              round(predicted["lufs"], 2), target.lufs, "LUFS", None, indices))
    else:
        reasons.extend(_loudness_reasons(measured, target, moves[0]["params"]["gain_db"],
                                         moves[1]["params"]["ceiling_db"], indices))
    reached = predicted["lufs"]
    if math.isfinite(reached) and abs(reached - target.lufs) > 0.5:
        reasons.append(Reason("target_unreachable", f"the limiter reaches only {reached:.1f} LUFS on this "
                                                    f"clip (its peaks are far above its average); to get "
                                                    f"to {target.lufs:g} LUFS, compress it first or choose "
                                                    "a quieter target", round(reached, 2), target.lufs,
                              "LUFS", None, indices))
    return chain, reasons, predicted


def _push_louder(chain: list[dict[str, Any]], reasons: list[Reason], pre: np.ndarray, sr: int,
                 target: LoudnessTarget, measured: dict[str, Any], moves: list[dict[str, Any]], predicted: dict,
                 progress: Progress | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict]:
    """A loud target the limiter alone cannot reach: a faster limiter release, then a fast compressor
    ahead of it (3:1 from 7 dB under the loud parts), each tried on the clip; the loudest under the
    ceiling wins, and a compressor kept is given its own reason."""
    best = (predicted["lufs"], [], moves, predicted)
    threshold = round(max(-60.0, min(-6.0, measured["short_term_loud_lufs"] - 7.0)), 1)
    comp = {"plugin": "Compressor", "params": {"threshold_db": threshold, "ratio": 3.0, "attack_ms": 2.0,
                                               "release_ms": 60.0}}
    for extra in ([], [comp]):
        staged = process_array(extra, pre, sr) if extra else pre
        for release in (30.0, 10.0):
            m, p = fit_loudness(staged, sr, target, progress, release_ms=release)
            if m and p["lufs"] > best[0] + 0.05:
                best = (p["lufs"], extra, m, p)
        if best[0] >= target.lufs - 0.5:
            break
    _, extra, moves, predicted = best
    if extra:
        reasons.append(Reason("loudness_compression", f"the {target.name} target of {target.lufs:g} LUFS is out of "
                                                      f"the limiter's reach alone: a fast 3:1 compressor from "
                                                      f"{threshold:g} dBFS (7 dB under the loud parts) goes first",
                              round(measured["lufs"], 2), target.lufs, "LUFS", None, [len(chain)]))
    return chain + extra, moves, predicted


def _final_checks(items: list[Planned], chain: list[dict[str, Any]], samples: np.ndarray, sr: int,
                  before: dict[str, Any]) -> list[dict[str, Any]]:
    """Every promise measured once more on the whole chain, loudness stage included."""
    if not any(it.promises for it in items):
        return []
    after = metrics(process_array(chain, samples, sr), sr)
    out = []
    for it in items:
        c = check(it, before, after)
        if c is not None:
            out.append({"name": c.name, "measure": c.measure, "before": round(c.before, 3),
                        "after": round(c.after, 3), "required": c.required, "passed": c.passed, "unit": c.unit})
    return out
