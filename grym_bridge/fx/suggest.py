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
from typing import Any, Callable

import numpy as np

from grym_bridge.analysis import Analysis, analyze, stereo_image
from grym_bridge.audio_io import Audio
from grym_bridge.fx import corrective, reference as reference_eq
from grym_bridge.fx.corrective import Move
from grym_bridge.fx.spectrum import band_spectrum, deviation, spectral_distance
from grym_bridge.fx.styles import style_moves
from grym_bridge.fx.types import LoudnessTarget, Reason, Suggestion
from grym_bridge.fx.verify import fit_loudness, measure, short_term_percentiles
from plugin_host import process_array

Progress = Callable[[float, str], None]


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


def suggest(audio: Audio, *, target: LoudnessTarget | None = None, style: str | None = None,
            reference: Audio | None = None, analysis: Analysis | None = None,
            progress: Progress | None = None) -> Suggestion:
    """Suggest a chain for `audio`: corrective moves, `style`, `reference` matching, `target` loudness.

    Every move comes with a `Reason` holding its measurement; the chain has been
    run on the clip to check the loudness, true peak and loudness range it produces.
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

    chain: list[dict[str, Any]] = []
    reasons: list[Reason] = []

    def add(moves: list[Move]) -> None:
        for entries, reason in moves:
            reason.plugins = list(range(len(chain), len(chain) + len(entries)))
            chain.extend(entries)
            reasons.append(reason)

    # 2. spectrum
    add(corrective.rumble_move(spectrum, sr))
    ref_measured = None
    if reference is not None:
        ref_spectrum = band_spectrum(reference.samples, reference.sample_rate)
        add([reference_eq.match_eq(spectrum, ref_spectrum, sr)])
        ref_measured = measure(reference.samples, reference.sample_rate)
        measured["reference_distance_db"] = round(spectral_distance(spectrum, ref_spectrum), 2)
        if target is None or target.name == "reference":
            target = LoudnessTarget("reference", round(ref_measured["lufs"], 2),
                                    target.ceiling_dbtp if target else -1.0)
    elif corrective.is_broadband(spectrum):
        add(corrective.tonal_moves(spectrum, sr))
    else:
        reasons.append(Reason("narrow_band", "the clip's energy sits in a few bands (a tone, a single "
                                             "instrument or a filtered part): tonal-balance moves are for full-range "
                                             "material, so none are suggested"))
    # 3. style
    if style:
        add(style_moves(style, measured))
    # 4. dynamics and stereo
    limit = 20.0 if target is not None and target.name == "broadcast" else corrective.TOO_DYNAMIC_LU
    dynamics = corrective.dynamics_moves(analysis.loudness_range_lu, short_term, analysis.crest_factor_db, limit)
    add(dynamics)
    stereo = corrective.stereo_moves(audio.channels, analysis.stereo_correlation, analysis.stereo_width)
    if reference is not None:  # the reference decides the width: it replaces the generic stereo fixes
        _, ref_width = stereo_image(reference.samples)
        stereo = reference_eq.match_width(audio.channels, analysis.stereo_width, reference.channels, ref_width)
    if style == "wide":  # the style widens already; a second widening move would double it
        stereo = [m for m in stereo if m[1].problem not in ("mono", "too_narrow")]
    add(stereo)

    # 5. verify dynamics on the clip
    _note(progress, 0.45, "checking the chain on the clip")
    pre = process_array(chain, samples, sr) if chain else samples
    compressor = next((chain[i] for r in reasons if r.problem == "too_dynamic" for i in r.plugins), None)
    for _ in range(4):
        if compressor is None:
            break
        lra = measure(pre, sr)["loudness_range_lu"]
        if not corrective.compressor_ratio_fix(compressor, lra):
            break
        pre = process_array(chain, samples, sr)

    # 6. loudness on target
    predicted = measure(pre, sr)
    if target is not None:
        _note(progress, 0.7, f"fitting loudness to {target.lufs:g} LUFS")
        moves, predicted = fit_loudness(pre, sr, target, progress)
        if moves:
            indices = [len(chain), len(chain) + 1]
            chain.extend(moves)
            reasons.extend(_loudness_reasons(measured, target, moves[0]["params"]["gain_db"],
                                             moves[1]["params"]["ceiling_db"], indices))
            reached = predicted["lufs"]
            if math.isfinite(reached) and abs(reached - target.lufs) > 1.0:
                reasons.append(Reason("target_unreachable", f"the limiter reaches only {reached:.1f} LUFS on this "
                                                            f"clip (its peaks are far above its average); to get "
                                                            f"to {target.lufs:g} LUFS, compress it first or choose "
                                                            "a quieter target", round(reached, 2), target.lufs,
                                      "LUFS", None, indices))
    if reference is not None and ref_measured is not None:
        measured["reference"] = ref_measured
    _note(progress, 1.0, "done")
    return Suggestion(chain=chain, reasons=reasons, source=str(audio.path) if audio.path else None,
                      target=target, style=style, reference=str(reference.path) if reference is not None and
                      reference.path else None, measured=measured,
                      predicted={k: (round(v, 3) if isinstance(v, float) and np.isfinite(v) else v)
                                 for k, v in predicted.items()})
