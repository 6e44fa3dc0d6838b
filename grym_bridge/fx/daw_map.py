"""A chain expressed as the DAW's own devices, so a suggestion stays editable after it is applied.

REAPER gets its stock plugins (ReaEQ, ReaComp, ReaLimit, ReaVerbate, ReaDelay,
JS: Volume Adjustment) and Ableton Live its devices (EQ Eight, Compressor,
Glue Compressor, Limiter, Reverb, Delay, Utility, Redux, Saturator). Values
are in each device's own display units (Hz, dB, ms, %, Q or octaves), the
units a user reads on the device. Live's API stores some of them normalized
(EQ Eight's frequency, for one): the Max for Live frontend converts with the
parameter's `str_for_value`; REAPER's ReaScript sets ReaEQ band types with
`TrackFX_SetNamedConfigParm`. docs/daw_mapping.md is generated from this module
(`python -m grym_bridge.fx.daw_map`), and a test keeps the two equal.

Consecutive filters become bands of one EQ; identical first-order high- or
low-passes in a row (how suggestions build steeper slopes) become one band
of the matching slope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from grym_bridge.errors import BadRequest
from plugin_host import ChainError, parse_chain

DAWS = ("reaper", "ableton")
_EQ_PLUGINS = {"HighpassFilter", "LowpassFilter", "PeakFilter", "LowShelfFilter", "HighShelfFilter", "LadderFilter"}
_GLUE_RATIOS = (2.0, 4.0, 10.0)
_GLUE_ATTACKS_MS = (0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
_LIVE_LOOKAHEAD_MS = (1.5, 3.0, 6.0)


@dataclass
class DeviceParam:
    name: str
    value: Any
    unit: str = ""
    #: how the value was converted from the chain's parameter(s)
    conversion: str = ""


@dataclass
class DeviceMove:
    """One DAW device (or track control) standing for chain entries `plugins`."""

    plugins: list[int]
    source: str
    device: str | None
    params: list[DeviceParam] = field(default_factory=list)
    note: str = ""


@dataclass
class DawMapping:
    daw: str
    devices: list[DeviceMove]
    #: chain indices with no stock equivalent in this DAW
    unmapped: list[int] = field(default_factory=list)


@dataclass
class _Band:
    """An EQ band gathered from one or more chain entries."""

    kind: str  # high_pass, low_pass, bell, low_shelf, high_shelf
    hz: float
    gain_db: float = 0.0
    q: float = 0.707
    order: int = 2  # filter order (first-order stages count 1 each)
    plugins: list[int] = field(default_factory=list)
    source: str = ""


def _db(gain: float) -> float:
    return round(20.0 * math.log10(gain), 2) if gain > 0 else -150.0


def q_to_octaves(q: float) -> float:
    """Bandwidth in octaves of a peaking filter with quality `q` (REAPER's ReaEQ shows octaves)."""
    return 2.0 / math.log(2.0) * math.asinh(1.0 / (2.0 * q))


def _bands(entries: list[tuple[int, dict[str, Any]]]) -> list[_Band]:
    bands: list[_Band] = []
    for i, e in entries:
        name, p = e["plugin"], e["params"]
        if name in ("HighpassFilter", "LowpassFilter"):
            kind = "high_pass" if name == "HighpassFilter" else "low_pass"
            hz = p.get("cutoff_frequency_hz", 50.0)
            last = bands[-1] if bands else None
            if last and last.kind == kind and last.hz == hz and last.source == name:
                last.order += 1
                last.plugins.append(i)
                continue
            bands.append(_Band(kind, hz, q=0.5, order=1, plugins=[i], source=name))  # stacked: Q 0.5
        elif name == "LadderFilter":
            mode = p.get("mode", "LPF12")
            kind = {"H": "high_pass", "L": "low_pass", "B": "bell"}[mode[0]]
            bands.append(_Band(kind, p.get("cutoff_hz", 200.0), q=0.707 + 4 * p.get("resonance", 0.0),
                               order=4 if mode.endswith("24") else 2, plugins=[i], source=name))
        else:
            kind = {"PeakFilter": "bell", "LowShelfFilter": "low_shelf", "HighShelfFilter": "high_shelf"}[name]
            bands.append(_Band(kind, p.get("cutoff_frequency_hz", 440.0), p.get("gain_db", 0.0),
                               p.get("q", 0.7071), plugins=[i], source=name))
    return bands


_EQ8_TYPE = {"bell": "Bell", "low_shelf": "Low Shelf", "high_shelf": "High Shelf"}
_REAEQ_TYPE = {"high_pass": "High Pass", "low_pass": "Low Pass", "bell": "Band", "low_shelf": "Low Shelf",
               "high_shelf": "High Shelf"}


def _eq_eight(bands: list[_Band]) -> list[DeviceMove]:
    moves = []
    for start in range(0, len(bands), 8):  # EQ Eight has eight bands; more get another instance
        params: list[DeviceParam] = []
        for n, b in enumerate(bands[start:start + 8], 1):
            if b.kind in ("high_pass", "low_pass"):
                steep = "48" if b.order > 2 else "12"
                kind = ("Low Cut " if b.kind == "high_pass" else "High Cut ") + steep
                conv = f"{6 * b.order} dB/oct in the chain; EQ Eight offers 12 or 48"
            else:
                kind, conv = _EQ8_TYPE[b.kind], ""
            params += [DeviceParam(f"{n} Filter On A", True), DeviceParam(f"{n} Filter Type A", kind, "", conv),
                       DeviceParam(f"{n} Frequency A", round(b.hz, 1), "Hz")]
            if b.kind not in ("high_pass", "low_pass"):
                params.append(DeviceParam(f"{n} Gain A", round(b.gain_db, 2), "dB"))
            params.append(DeviceParam(f"{n} Resonance A", round(b.q, 3), "Q"))
        chunk = bands[start:start + 8]
        moves.append(DeviceMove([i for b in chunk for i in b.plugins], "+".join(b.source for b in chunk),
                                "EQ Eight", params))
    return moves


def _reaeq(bands: list[_Band]) -> list[DeviceMove]:
    params: list[DeviceParam] = []
    n = 0
    for b in bands:
        # ReaEQ's high- and low-pass bands are 12 dB/oct: steeper slopes take several bands
        for _ in range(max(1, round(b.order / 2)) if b.kind in ("high_pass", "low_pass") else 1):
            n += 1
            params += [DeviceParam(f"Band {n} Type", _REAEQ_TYPE[b.kind]),
                       DeviceParam(f"Band {n} Frequency", round(b.hz, 1), "Hz")]
            if b.kind not in ("high_pass", "low_pass"):
                params.append(DeviceParam(f"Band {n} Gain", round(b.gain_db, 2), "dB"))
            params.append(DeviceParam(f"Band {n} Bandwidth", round(q_to_octaves(b.q), 3), "oct",
                                      "octaves = 2/ln2 * asinh(1/(2Q))"))
    return [DeviceMove([i for b in bands for i in b.plugins], "+".join(b.source for b in bands), "ReaEQ", params)]


def _p(name: str, value: Any, unit: str = "", conversion: str = "") -> DeviceParam:
    return DeviceParam(name, round(value, 3) if isinstance(value, float) else value, unit, conversion)


def _freeverb_decay_ms(room_size: float) -> float:
    # Freeverb's comb feedback is 0.7 + 0.28 * room size around ~32 ms combs: RT60 = -3 * 32 ms / log10(feedback)
    return 1000.0 * 3.0 * 0.0316 / -math.log10(0.7 + 0.28 * min(room_size, 0.999))


def _ableton(name: str, p: dict[str, Any], mix: float) -> tuple[str | None, list[DeviceParam], str]:
    if name == "Compressor":
        ratio, attack = p.get("ratio", 1.0), p.get("attack_ms", 1.0)
        if any(abs(ratio - r) < 0.01 for r in _GLUE_RATIOS) and any(abs(attack - a) < 1e-3 for a in _GLUE_ATTACKS_MS):
            return "Glue Compressor", [_p("Threshold", p.get("threshold_db", 0.0), "dB"), _p("Ratio", ratio, ":1"),
                                       _p("Attack", attack, "ms"), _p("Release", p.get("release_ms", 100.0) / 1000,
                                                                      "s", "nearest of 0.1/0.2/0.4/0.6/0.8/1.2 s"),
                                       _p("Dry/Wet", 100.0 * mix, "%")], "bus-style ratio and attack"
        return "Compressor", [_p("Threshold", p.get("threshold_db", 0.0), "dB"), _p("Ratio", ratio, ":1"),
                              _p("Attack", attack, "ms"), _p("Release", p.get("release_ms", 100.0), "ms"),
                              _p("Dry/Wet", 100.0 * mix, "%")], ""
    if name == "BrickwallLimiter":
        look = min(_LIVE_LOOKAHEAD_MS, key=lambda v: abs(v - p.get("lookahead_ms", 5.0)))
        return "Limiter", [_p("Gain", 0.0, "dB"), _p("Ceiling", p.get("ceiling_db", -1.0), "dB"),
                           _p("Release", p.get("release_ms", 100.0), "ms"), _p("Lookahead", look, "ms", "nearest"),
                           _p("Mode", "True Peak" if p.get("true_peak") else "Standard", "", "Live 12")], ""
    if name == "Limiter":
        return "Limiter", [_p("Gain", -p.get("threshold_db", -10.0), "dB", "= -threshold"), _p("Ceiling", 0.0, "dB"),
                           _p("Release", p.get("release_ms", 100.0), "ms")], "pedalboard's Limiter drives into 0 dBFS"
    if name == "Gain":
        return "Utility", [_p("Gain", p.get("gain_db", 0.0), "dB")], ""
    if name == "StereoWidth":
        if p.get("crossover_hz", 0.0) > 0.0:  # width above a crossover: Utility's Bass Mono is the nearest
            return "Utility", [_p("Stereo Width", p.get("width_percent", 100.0), "%"), _p("Bass Mono", True),
                               _p("Bass Mono Freq", p["crossover_hz"], "Hz")], \
                "Live folds the lows under the crossover to mono (grym keeps them as they were, or as " \
                "low_width_percent says)"
        return "Utility", [_p("Stereo Width", p.get("width_percent", 100.0), "%")], ""
    if name == "Reverb":
        wet, dry = p.get("wet_level", 0.33), p.get("dry_level", 0.4)
        return "Reverb", [_p("DecayTime", round(_freeverb_decay_ms(p.get("room_size", 0.5))), "ms",
                             "from Freeverb's room size (approximate)"),
                          _p("Dry/Wet", 100.0 * mix * wet / max(wet + dry, 1e-9), "%", "wet / (wet + dry)"),
                          _p("Stereo Image", 120.0 * p.get("width", 1.0), "deg", "width x 120 deg")], \
            "a different reverb algorithm: set by ear from these"
    if name == "Delay":
        return "Delay", [_p("L Sync", False), _p("L Time", 1000.0 * p.get("delay_seconds", 0.5), "ms"),
                         _p("Link", True), _p("Feedback", 100.0 * p.get("feedback", 0.0), "%"),
                         _p("Dry/Wet", 100.0 * mix * p.get("mix", 0.5), "%")], ""
    if name == "Bitcrush":
        return "Redux", [_p("Bit Depth", p.get("bit_depth", 8.0), "bits")], ""
    if name == "Distortion":
        return "Saturator", [_p("Drive", p.get("drive_db", 25.0), "dB"), _p("Dry/Wet", 100.0 * mix, "%")], \
            "tanh drive: Saturator's Analog Clip curve is the closest"
    return None, [], "no stock Ableton device does this: render it with grym, or use a plug-in"


def _reaper(name: str, p: dict[str, Any], mix: float) -> tuple[str | None, list[DeviceParam], str]:
    wet = [_p("FX Wet", 100.0 * mix, "%", "REAPER's per-FX wet knob")] if mix < 1.0 else []
    if name == "Compressor":
        return "ReaComp", [_p("Threshold", p.get("threshold_db", 0.0), "dB"), _p("Ratio", p.get("ratio", 1.0), ":1"),
                           _p("Attack", p.get("attack_ms", 1.0), "ms"), _p("Release", p.get("release_ms", 100.0), "ms"),
                           *wet], ""
    if name == "BrickwallLimiter":
        return "ReaLimit", [_p("Threshold", 0.0, "dB"), _p("Ceiling", p.get("ceiling_db", -1.0), "dB"),
                            _p("Release", p.get("release_ms", 100.0), "ms"),
                            _p("True peak", bool(p.get("true_peak", False)))], ""
    if name == "Limiter":
        return "ReaLimit", [_p("Threshold", p.get("threshold_db", -10.0), "dB"), _p("Ceiling", 0.0, "dB"),
                            _p("Release", p.get("release_ms", 100.0), "ms")], ""
    if name == "Gain":
        return "JS: Volume Adjustment", [_p("Adjustment", p.get("gain_db", 0.0), "dB")], ""
    if name == "StereoWidth":
        width = p.get("width_percent", 100.0)
        if width <= 100.0:
            return "Track width", [_p("Width", width, "%")], "the track's own width control (stereo pan mode)"
        return None, [], "no stock REAPER plug-in widens beyond 100 %: render it with grym"
    if name == "Reverb":
        return "ReaVerbate", [_p("Room size", p.get("room_size", 0.5)), _p("Dampening", p.get("damping", 0.5)),
                              _p("Wet", _db(p.get("wet_level", 0.33) * mix), "dB", "20*log10(wet_level)"),
                              _p("Dry", _db(p.get("dry_level", 0.4)), "dB", "20*log10(dry_level)"),
                              _p("Stereo width", p.get("width", 1.0))], "ReaVerbate is a Freeverb too"
    if name == "Delay":
        m = p.get("mix", 0.5) * mix
        return "ReaDelay", [_p("Length (time)", 1000.0 * p.get("delay_seconds", 0.5), "ms"),
                            _p("Feedback", _db(p.get("feedback", 0.0)), "dB", "20*log10(feedback)"),
                            _p("Wet", _db(m), "dB", "20*log10(mix)"), _p("Dry", _db(1.0 - m), "dB")], ""
    return None, [], "no stock REAPER plug-in does this: render it with grym, or use a plug-in"


_DEVICE_MAPPERS: dict[str, Callable[[str, dict[str, Any], float], tuple[str | None, list[DeviceParam], str]]] = {
    "ableton": _ableton, "reaper": _reaper,
}


def map_chain(chain: Any, daw: str) -> DawMapping:
    """Express `chain` (any chain-spec form) as `daw`'s own devices, in chain order."""
    daw = daw.strip().lower()
    if daw in ("live", "ableton live"):
        daw = "ableton"
    if daw not in DAWS:
        raise BadRequest(f"unknown DAW {daw!r}: use one of {', '.join(DAWS)}")
    try:
        spec = parse_chain(chain)
    except ChainError as exc:
        raise BadRequest(str(exc), code="bad_chain") from None
    entries = [(i, p.to_json()) for i, p in enumerate(spec.plugins)]
    devices: list[DeviceMove] = []
    unmapped: list[int] = []
    run: list[tuple[int, dict[str, Any]]] = []

    def flush() -> None:
        if run:
            bands = _bands(run)
            devices.extend(_eq_eight(bands) if daw == "ableton" else _reaeq(bands))
            run.clear()

    for i, entry in entries:
        if entry["plugin"] in _EQ_PLUGINS and entry.get("mix", 1.0) >= 1.0:
            run.append((i, entry))
            continue
        flush()
        device, params, note = _DEVICE_MAPPERS[daw](entry["plugin"], entry["params"], entry.get("mix", 1.0))
        if device is None:
            unmapped.append(i)
        devices.append(DeviceMove([i], entry["plugin"], device, params, note))
    flush()
    if spec.mix < 1.0:
        devices.append(DeviceMove(list(range(len(entries))), "chain mix", "Audio Effect Rack" if daw == "ableton"
                                  else "FX chain wet", [_p("Dry/Wet", 100.0 * spec.mix, "%")],
                                  "the whole chain's dry/wet"))
    return DawMapping(daw, devices, unmapped)
