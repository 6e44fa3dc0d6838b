"""What pedalboard's built-in effects are and which parameters they take.

The plugin list, parameter names, order, types and defaults are read from
pedalboard itself (its classes and their pybind11 signatures), so a new
pedalboard release brings its new effects along. pedalboard does not publish
parameter ranges for its native effects (only external plugins have them),
and it accepts some nonsense silently (a 1 MHz cutoff, +1000 dB of gain, NaN),
so the limits live in `_RANGES`, with a fallback by unit suffix for parameters
this table has not met yet.
"""

from __future__ import annotations

import enum
import functools
import inspect
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pedalboard

from plugin_host.errors import suggest
from plugin_host.extras import EXTRAS

# Classes that are not effects one puts in a chain: abstract bases, containers,
# and hosts for external plugins (those are loaded by path, see vst3.py).
_NOT_EFFECTS = {
    "Plugin", "PluginContainer", "ExternalPlugin", "VST3Plugin", "AudioUnitPlugin",
    "IIRFilter", "Pedalboard", "Chain", "Mix",
}

# (min, max, unit) per plugin and parameter. Where pedalboard's own setter checks
# a range, this mirrors it so the error can list every range at once.
_RANGES: dict[str, dict[str, tuple[float, float, str]]] = {
    "Bitcrush": {"bit_depth": (0.0, 32.0, "bits")},
    "BrickwallLimiter": {"ceiling_db": (-60.0, 0.0, "dBFS"), "release_ms": (1.0, 5000.0, "ms"),
                         "lookahead_ms": (0.0, 50.0, "ms")},
    "Chorus": {"rate_hz": (0.0, 100.0, "Hz"), "depth": (0.0, 1.0, ""), "centre_delay_ms": (1.0, 100.0, "ms"),
               "feedback": (-1.0, 1.0, ""), "mix": (0.0, 1.0, "")},
    "Clipping": {"threshold_db": (-100.0, 0.0, "dBFS")},
    "Compressor": {"threshold_db": (-100.0, 0.0, "dBFS"), "ratio": (1.0, 100.0, ":1"),
                   "attack_ms": (0.0, 1000.0, "ms"), "release_ms": (0.0, 5000.0, "ms")},
    "Convolution": {"mix": (0.0, 1.0, ""), "sample_rate": (1.0, 768000.0, "Hz")},
    "Delay": {"delay_seconds": (0.0, 30.0, "s"), "feedback": (0.0, 1.0, ""), "mix": (0.0, 1.0, "")},
    "Distortion": {"drive_db": (0.0, 100.0, "dB")},
    "Gain": {"gain_db": (-120.0, 48.0, "dB")},
    "LadderFilter": {"cutoff_hz": (1.0, 96000.0, "Hz"), "resonance": (0.0, 1.0, ""), "drive": (1.0, 100.0, "")},
    "Limiter": {"threshold_db": (-60.0, 0.0, "dBFS"), "release_ms": (0.1, 5000.0, "ms")},
    "MP3Compressor": {"vbr_quality": (0.0, 10.0, "")},
    "NoiseGate": {"threshold_db": (-120.0, 0.0, "dBFS"), "ratio": (1.0, 100.0, ":1"),
                  "attack_ms": (0.0, 1000.0, "ms"), "release_ms": (0.0, 5000.0, "ms")},
    "Phaser": {"rate_hz": (0.0, 100.0, "Hz"), "depth": (0.0, 1.0, ""), "centre_frequency_hz": (10.0, 20000.0, "Hz"),
               "feedback": (-1.0, 1.0, ""), "mix": (0.0, 1.0, "")},
    "PitchShift": {"semitones": (-72.0, 72.0, "st")},
    "Resample": {"target_sample_rate": (100.0, 768000.0, "Hz")},
    "Reverb": {name: (0.0, 1.0, "") for name in
               ("room_size", "damping", "wet_level", "dry_level", "width", "freeze_mode")},
}
_FILTER_RANGES = {"cutoff_frequency_hz": (1.0, 96000.0, "Hz"), "gain_db": (-48.0, 48.0, "dB"), "q": (0.01, 40.0, "")}

# Fallback by suffix, for parameters of effects newer than the table above.
_SUFFIX_RANGES = (("_hz", (0.0, 96000.0, "Hz")), ("_db", (-120.0, 48.0, "dB")), ("_ms", (0.0, 10000.0, "ms")),
                  ("_seconds", (0.0, 60.0, "s")), ("mix", (0.0, 1.0, "")))


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of a built-in effect. `kind` is float, bool, enum or path."""

    name: str
    kind: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    required: bool = False
    #: the pybind11 enum class for `enum` parameters (to turn a choice name back into a value)
    enum_type: Any = field(default=None, repr=False, compare=False)

    def describe(self) -> str:
        """A short human description: `room_size 0..1 (default 0.5)`."""
        if self.kind == "enum":
            return f"{self.name} one of {', '.join(self.choices)} (default {self.default})"
        if self.kind == "bool":
            return f"{self.name} true/false (default {str(self.default).lower()})"
        if self.kind == "path":
            return f"{self.name} a file path (required)"
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.name} {_num(self.minimum)}..{_num(self.maximum)}{unit} (default {_num(self.default)})"


@dataclass(frozen=True)
class PluginInfo:
    """A built-in pedalboard effect: its class and its parameters in constructor order."""

    name: str
    cls: type = field(repr=False)
    params: dict[str, ParamInfo]
    doc: str = ""

    def describe(self) -> str:
        inner = "; ".join(p.describe() for p in self.params.values()) or "no parameters"
        return f"{self.name}({inner})"


def _num(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


_SIG_PARAM = re.compile(r",\s*(\w+):\s*([^=,]+(?:\[[^\]]*\])?[^=,]*?)(?:\s*=\s*([^,]+?))?(?=,\s*\w+:|\)\s*->)")


def _signature_params(cls: type) -> list[tuple[str, str, str | None]]:
    """(name, type text, default text) from a pybind11 `__init__` docstring, in order."""
    doc = (cls.__init__.__doc__ or "").strip().splitlines()
    first = doc[0] if doc else ""
    return [(m.group(1), m.group(2).strip(), m.group(3)) for m in _SIG_PARAM.finditer(first)]


def _range_for(plugin: str, param: str) -> tuple[float | None, float | None, str]:
    table = _RANGES.get(plugin, {})
    if param in table:
        return table[param]
    if plugin in ("PeakFilter", "LowShelfFilter", "HighShelfFilter", "HighpassFilter", "LowpassFilter") \
            and param in _FILTER_RANGES:
        return _FILTER_RANGES[param]
    for suffix, rng in _SUFFIX_RANGES:
        if param.endswith(suffix):
            return rng
    return (None, None, "")


def _param_info(plugin: str, name: str, type_text: str, default_text: str | None, instance: Any) -> ParamInfo:
    value = getattr(instance, name, None) if instance is not None else None
    if isinstance(value, enum.Enum) or (value is not None and hasattr(type(value), "__members__")):
        members = tuple(type(value).__members__)
        return ParamInfo(name, "enum", value.name, choices=members, enum_type=type(value))
    if type_text == "bool" or isinstance(value, bool):
        return ParamInfo(name, "bool", bool(value) if value is not None else default_text == "True")
    if "str" in type_text and default_text is None:
        return ParamInfo(name, "path", None, required=True)
    if value is None and default_text not in (None, "None"):
        try:
            value = float(default_text)  # type: ignore[arg-type]
        except ValueError:
            value = None
    lo, hi, unit = _range_for(plugin, name)
    default = float(value) if isinstance(value, (int, float)) else None
    return ParamInfo(name, "float", default, lo, hi, unit)


@functools.lru_cache(maxsize=1)
def builtin_plugins() -> dict[str, PluginInfo]:
    """Every built-in pedalboard effect (and plugin_host's extras), by class name, introspected once."""
    out: dict[str, PluginInfo] = {}
    for name in sorted(dir(pedalboard)):
        cls = getattr(pedalboard, name)
        if not (inspect.isclass(cls) and issubclass(cls, pedalboard.Plugin)) or name in _NOT_EFFECTS:
            continue
        if name.startswith("_") or issubclass(cls, pedalboard.ExternalPlugin):
            continue
        try:
            instance = cls()
        except Exception:  # needs a required argument (Convolution) or is not constructible here
            instance = None
        params = {}
        for pname, type_text, default_text in _signature_params(cls):
            params[pname] = _param_info(name, pname, type_text, default_text, instance)
        summary = (inspect.getdoc(cls) or "").strip().split("\n\n")[0].replace("\n", " ")
        out[name] = PluginInfo(name, cls, params, summary)
    for name, (cls, spec, summary) in EXTRAS.items():
        params = {p: ParamInfo(p, "float", d, lo, hi, unit) for p, (d, lo, hi, unit) in spec.items()}
        out[name] = PluginInfo(name, cls, params, summary)
    return out


def check_value(plugin: str, param: ParamInfo, value: Any, sample_rate: float | None = None) -> Any:
    """The value converted to what pedalboard takes, or ValueError saying what is valid.

    Cutoff frequencies must also lie below the Nyquist frequency when `sample_rate` is known.
    """
    where = f"{plugin}.{param.name}"
    if param.kind == "enum":
        if not isinstance(value, str) or value not in param.choices:
            hint = suggest(value, param.choices) if isinstance(value, str) else ""
            raise ValueError(f"{where} must be one of {', '.join(param.choices)}; got {value!r}.{hint}")
        return value
    if param.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false; got {value!r}")
        return value
    if param.kind == "path":
        if not isinstance(value, str) or not value:
            raise ValueError(f"{where} must be a file path; got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} must be a number ({param.describe()}); got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{where} must be a finite number ({param.describe()}); got {value!r}")
    hi = param.maximum
    if sample_rate and param.unit == "Hz" and param.name != "target_sample_rate" and param.name != "sample_rate":
        hi = min(hi if hi is not None else math.inf, sample_rate / 2 * 0.999)
    if (param.minimum is not None and number < param.minimum) or (hi is not None and number > hi):
        rng = f"{_num(param.minimum)}..{_num(hi)}{(' ' + param.unit) if param.unit else ''}"
        nyq = f" (below Nyquist at {_num(float(sample_rate))} Hz)" if sample_rate and hi != param.maximum else ""
        raise ValueError(f"{where} must be within {rng}{nyq}; got {_num(number)}")
    return number


def catalog_text() -> str:
    """One line per built-in effect with its parameters and ranges (for help texts and errors)."""
    return "\n".join(info.describe() for info in builtin_plugins().values())
