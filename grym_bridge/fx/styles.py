"""Style targets: warm, bright, dark, punchy, wide, airy, lofi.

A style is a direction, not a preset: each one reads the measurement it is
about (spectral tilt for bright and dark, stereo width for wide, the
short-term loudness for punchy) and sizes its move by how far the clip
already is from the style, so "bright" on a bright mix is a touch, on a dull
one a real lift.
"""

from __future__ import annotations

from typing import Any, Callable

from grym_bridge.errors import BadRequest
from grym_bridge.fx.corrective import Move
from grym_bridge.fx.types import Reason

STYLES = ("warm", "bright", "dark", "punchy", "wide", "airy", "lofi")
#: Width moves act above this: below it the kick and bass stay in the centre.
CROSSOVER_HZ = 150.0


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _shelf(kind: str, hz: float, gain: float) -> dict[str, Any]:
    return {"plugin": kind, "params": {"cutoff_frequency_hz": hz, "gain_db": round(gain, 2), "q": 0.707}}


def _warm(m: dict[str, Any]) -> list[Move]:
    tilt = m["spectral_tilt_db_per_oct"]
    lift = round(_clamp(1.5 + 0.5 * (tilt + 3.0), 1.0, 3.0), 2)
    return [([_shelf("LowShelfFilter", 300.0, lift), _shelf("HighShelfFilter", 7000.0, -lift)],
             Reason("style", f"style 'warm': the spectrum tilts {tilt:.1f} dB per octave; +{lift:.1f} dB below "
                             f"300 Hz and -{lift:.1f} dB above 7 kHz darken and thicken it",
                    round(tilt, 2), round(tilt - 1.0, 2), "dB/oct"))]


def _bright(m: dict[str, Any]) -> list[Move]:
    tilt = m["spectral_tilt_db_per_oct"]
    lift = round(_clamp(3.0 - 0.75 * (tilt + 3.0), 1.0, 5.0), 2)
    return [([_shelf("HighShelfFilter", 4500.0, lift)],
             Reason("style", f"style 'bright': the spectrum tilts {tilt:.1f} dB per octave; a +{lift:.1f} dB shelf "
                             "above 4.5 kHz lifts presence and air", round(tilt, 2), round(tilt + 0.8, 2), "dB/oct"))]


def _dark(m: dict[str, Any]) -> list[Move]:
    tilt = m["spectral_tilt_db_per_oct"]
    cut = round(_clamp(4.0 + 0.75 * (tilt + 3.0), 2.0, 8.0), 2)
    return [([_shelf("HighShelfFilter", 3500.0, -cut)],
             Reason("style", f"style 'dark': the spectrum tilts {tilt:.1f} dB per octave; a -{cut:.1f} dB shelf "
                             "above 3.5 kHz softens the top", round(tilt, 2), round(tilt - 1.2, 2), "dB/oct"))]


def _airy(m: dict[str, Any]) -> list[Move]:
    air = m["bands_db"].get("air", -120.0) - m["bands_db"].get("mid", 0.0)
    lift = round(_clamp(3.0 - 0.1 * (air + 15.0), 1.5, 5.0), 2)
    return [([_shelf("HighShelfFilter", 11000.0, lift)],
             Reason("style", f"style 'airy': the air band (6-20 kHz) sits {air:.1f} dB against the mids; a "
                             f"+{lift:.1f} dB shelf above 11 kHz opens the top", round(air, 2), round(air + lift, 2),
                    "dB"))]


def _punchy(m: dict[str, Any]) -> list[Move]:
    loud = m["short_term_loud_lufs"]
    threshold = round(_clamp(loud - 8.0, -50.0, -6.0), 1)
    return [([{"plugin": "Compressor", "params": {"threshold_db": threshold, "ratio": 4.0, "attack_ms": 30.0,
                                                  "release_ms": 120.0}},
              {"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": 90.0, "gain_db": 2.0, "q": 1.0}}],
             Reason("style", f"style 'punchy': a 4:1 compressor with a slow 30 ms attack lets transients through "
                             f"above the body (threshold {threshold:.0f} dBFS, 8 dB under the loud parts at "
                             f"{loud:.1f} LUFS), and +2 dB at 90 Hz adds weight to the kick",
                    round(m["crest_factor_db"], 2), None, "dB"))]


def _wide(m: dict[str, Any]) -> list[Move]:
    width = m["stereo_width"]
    if m["channels"] < 2:
        return [([], Reason("style", "style 'wide': the file has one channel, and a mono file stays mono through "
                                     "any effect; bounce the track to stereo first", 0.0, None, ""))]
    if width < 1e-4:
        return [([{"plugin": "Reverb", "params": {"room_size": 0.3, "damping": 0.5, "wet_level": 0.3,
                                                  "dry_level": 0.8, "width": 1.0}}],
                  Reason("style", "style 'wide': the clip is mono, so mid/side width has nothing to widen; a short "
                                  "wide room spreads it", round(width, 4), 0.25, ""))]
    percent = round(_clamp(100.0 * (1.0 + (0.35 - width) * 2.0), 110.0, 200.0), 1)
    return [([{"plugin": "StereoWidth", "params": {"width_percent": percent, "crossover_hz": CROSSOVER_HZ}}],
             Reason("style", f"style 'wide': the side signal holds {100 * width:.0f} % of the energy; widen to "
                             f"{percent:.0f} % above {CROSSOVER_HZ:g} Hz (the kick and bass stay centred)",
                    round(width, 4), None, ""))]


def _narrow(m: dict[str, Any]) -> list[Move]:
    width = m["stereo_width"]
    percent = round(_clamp(100.0 * (0.6 - width), 40.0, 80.0), 1)
    return [([{"plugin": "StereoWidth", "params": {"width_percent": percent}}],
             Reason("style", f"narrower: the side signal holds {100 * width:.0f} % of the energy; narrow to "
                             f"{percent:.0f} %", round(width, 4), None, ""))]


def _mono_low(m: dict[str, Any]) -> list[Move]:
    return [([{"plugin": "StereoWidth", "params": {"width_percent": 100.0, "crossover_hz": 120.0,
                                                  "low_width_percent": 0.0}}],
             Reason("style", "low end in mono: the side below 120 Hz is folded to the centre (24 dB per octave "
                             "split), the width above it kept", round(m["stereo_width"], 4), None, ""))]


def _lofi(m: dict[str, Any]) -> list[Move]:
    return [([{"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 150.0}},
              {"plugin": "LadderFilter", "params": {"mode": "LPF12", "cutoff_hz": 4500.0, "resonance": 0.0,
                                                    "drive": 1.0}},
              {"plugin": "Bitcrush", "params": {"bit_depth": 10.0}},
              {"plugin": "Distortion", "params": {"drive_db": 8.0}, "mix": 0.3}],
             Reason("style", f"style 'lofi': band-limit to 150 Hz-4.5 kHz (the spectral centroid drops from "
                             f"{m['spectral_centroid_hz']:.0f} Hz), 10-bit grit and a little drive",
                    round(m["spectral_centroid_hz"], 1), None, "Hz"))]


_BUILDERS: dict[str, Callable[[dict[str, Any]], list[Move]]] = {
    "warm": _warm, "bright": _bright, "dark": _dark, "punchy": _punchy, "wide": _wide, "airy": _airy, "lofi": _lofi,
    "narrow": _narrow, "mono": _mono_low,
}
#: Request words (a plan's goals) to the styles that carry them out.
GOAL_STYLES = {"darker": "dark", "brighter": "bright", "warmer": "warm", "punchier": "punchy", "wider": "wide",
               "airier": "airy", "lofi": "lofi", "narrower": "narrow", "mono": "mono"}
STYLE_GOALS = {v: k for k, v in GOAL_STYLES.items()}


def style_moves(style: str, measured: dict[str, Any]) -> list[Move]:
    """The moves of `style` sized for the clip `measured` describes."""
    key = style.strip().lower()
    if key not in _BUILDERS:
        raise BadRequest(f"unknown style {style!r}: use one of {', '.join(STYLES)}")
    return _BUILDERS[key](measured)
