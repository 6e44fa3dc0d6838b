"""Chain specs: a JSON list of effects, to and from pedalboard objects.

A chain spec is what clients send and what suggestions produce::

    {"chain": [{"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 40}},
               {"plugin": "Reverb", "params": {"room_size": 0.3}, "mix": 0.25},
               {"plugin": "VST3", "path": "/Library/Audio/Plug-Ins/VST3/Foo.vst3", "params": {}}],
     "mix": 1.0}

A bare list is accepted too. `mix` is dry/wet (0 = dry, 1 = wet), per plugin and
for the whole chain. `parse_chain` validates everything before any audio is
touched; its errors list the valid plugins, parameters and ranges.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import pedalboard

from plugin_host.catalog import ParamInfo, PluginInfo, builtin_plugins, check_value
from plugin_host.errors import ChainError, suggest

VST3_NAMES = ("VST3", "VST3Plugin")
#: The parameter of pedalboard's Convolution that names a file (an impulse response).
IMPULSE_RESPONSE_PARAM = "impulse_response_filename"
_PLUGIN_KEYS = {"plugin", "params", "mix", "path", "plugin_name"}


@dataclass
class PluginSpec:
    """One effect of a chain. `path` and `plugin_name` are for VST3 plugins only."""

    plugin: str
    params: dict[str, Any] = field(default_factory=dict)
    mix: float = 1.0
    path: str | None = None
    plugin_name: str | None = None

    @property
    def is_vst3(self) -> bool:
        return self.plugin in VST3_NAMES

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"plugin": self.plugin, "params": dict(self.params)}
        if self.mix != 1.0:
            out["mix"] = self.mix
        if self.path is not None:
            out["path"] = self.path
        if self.plugin_name is not None:
            out["plugin_name"] = self.plugin_name
        return out


@dataclass
class ChainSpec:
    """An ordered list of effects and the chain's own dry/wet."""

    plugins: list[PluginSpec] = field(default_factory=list)
    mix: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {"chain": [p.to_json() for p in self.plugins], "mix": self.mix}

    def longest_delay_s(self) -> float:
        """The longest echo time in the chain: a tail may be silent for that long between repeats."""
        return max((float(p.params.get("delay_seconds", 0.5)) for p in self.plugins if p.plugin == "Delay"),
                   default=0.0)


def _valid_plugins_text() -> str:
    return ", ".join(builtin_plugins()) + ', or "VST3" with a "path"'


def _check_mix(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)) \
            or not 0.0 <= float(value) <= 1.0:
        raise ChainError(f"{where} mix must be a number within 0..1 (0 = dry, 1 = wet); got {value!r}")
    return float(value)


def _check_native(index: int, info: PluginInfo, params: dict[str, Any], sample_rate: float | None) -> dict:
    where = f"chain[{index}] {info.name}"
    out = {}
    for name, value in params.items():
        if name not in info.params:
            raise ChainError(f"{where} has no parameter {name!r}.{suggest(name, info.params)} "
                             f"Valid parameters: {info.describe()}")
        try:
            out[name] = check_value(info.name, info.params[name], value, sample_rate)
        except ValueError as exc:
            raise ChainError(f"{where}: {exc}") from None
    missing = [p.name for p in info.params.values() if p.required and p.name not in out]
    if missing:
        raise ChainError(f"{where} needs {', '.join(missing)}: {info.describe()}")
    return out


def parse_chain(obj: Any, sample_rate: float | None = None, *,
                resolve_path: Callable[[str], str] | None = None) -> ChainSpec:
    """A validated `ChainSpec` from JSON text, a list, a dict with "chain", or a `ChainSpec`.

    A `ChainSpec` is already validated and comes back as it is (parse once, pass
    the object down). `resolve_path(path)` sees every file the chain names (VST3
    bundles, impulse responses) before anything looks at it, and may refuse it
    by raising; it returns the path to use. VST3 entries are checked for an
    existing file here and fully when built. Raises `ChainError` naming the bad
    entry and listing what is valid.
    """
    if isinstance(obj, ChainSpec):
        if sample_rate is None and resolve_path is None:
            return obj
        obj = obj.to_json()
    if isinstance(obj, (str, bytes)):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as exc:
            raise ChainError(f"chain is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                             'expected [{"plugin": "Reverb", "params": {"room_size": 0.3}}, ...]') from None
    chain_mix = 1.0
    if isinstance(obj, dict):
        if "chain" not in obj:
            raise ChainError('a chain object needs a "chain" list: {"chain": [{"plugin": ..., "params": {...}}]}')
        chain_mix = _check_mix(obj.get("mix", 1.0), "chain")
        obj = obj["chain"]
    if not isinstance(obj, list):
        raise ChainError(f"a chain must be a list of effects, got {type(obj).__name__}")
    plugins: list[PluginSpec] = []
    catalog = builtin_plugins()
    for i, entry in enumerate(obj):
        if not isinstance(entry, dict) or not isinstance(entry.get("plugin"), str):
            raise ChainError(f'chain[{i}] must be an object with a "plugin" name; got {entry!r}. '
                             f"Valid plugins: {_valid_plugins_text()}")
        extra = set(entry) - _PLUGIN_KEYS
        if extra:
            raise ChainError(f"chain[{i}] has unknown keys {sorted(extra)}; allowed: {sorted(_PLUGIN_KEYS)}")
        name, params = entry["plugin"], entry.get("params", {}) or {}
        if not isinstance(params, dict):
            raise ChainError(f'chain[{i}] "params" must be an object of name: value')
        mix = _check_mix(entry.get("mix", 1.0), f"chain[{i}] {name}")
        if name in VST3_NAMES:
            path = entry.get("path")
            if not isinstance(path, str) or not path:
                raise ChainError(f'chain[{i}] VST3 needs "path": the .vst3 bundle to load')
            if resolve_path is not None:
                path = resolve_path(path)
            if not os.path.exists(path):
                from plugin_host.vst3 import installed_text

                raise ChainError(f"chain[{i}] VST3 file {path} does not exist. {installed_text()}")
            plugins.append(PluginSpec("VST3", dict(params), mix, path, entry.get("plugin_name")))
            continue
        if name not in catalog:
            raise ChainError(f"chain[{i}]: unknown plugin {name!r}.{suggest(name, catalog)} "
                             f"Valid plugins: {_valid_plugins_text()}")
        if resolve_path is not None and isinstance(params.get(IMPULSE_RESPONSE_PARAM), str):
            params = {**params, IMPULSE_RESPONSE_PARAM: resolve_path(params[IMPULSE_RESPONSE_PARAM])}
        plugins.append(PluginSpec(name, _check_native(i, catalog[name], params, sample_rate), mix))
    return ChainSpec(plugins, chain_mix)


def _native_kwargs(info: PluginInfo, params: dict[str, Any]) -> dict[str, Any]:
    kwargs = {}
    for name, value in params.items():
        p: ParamInfo = info.params[name]
        kwargs[name] = p.enum_type.__members__[value] if p.kind == "enum" else value
    return kwargs


def make_plugin(spec: PluginSpec, sample_rate: float | None = None, index: int = 0) -> pedalboard.Plugin:
    """One pedalboard plugin from a validated `PluginSpec` (VST3 files are loaded here)."""
    if spec.is_vst3:
        from plugin_host.vst3 import load_vst3, set_vst3_params

        plugin = load_vst3(spec.path or "", spec.plugin_name)
        set_vst3_params(plugin, spec.params, where=f"chain[{index}] VST3 {spec.path}")
        return plugin
    info = builtin_plugins()[spec.plugin]
    params = _check_native(index, info, spec.params, sample_rate)
    try:
        return info.cls(**_native_kwargs(info, params))
    except (ValueError, TypeError, RuntimeError) as exc:  # pedalboard's own checks (e.g. an unreadable IR file)
        raise ChainError(f"chain[{index}] {spec.plugin}: {exc}. Valid parameters: {info.describe()}") from None


def _db(gain: float) -> float:
    return 20.0 * math.log10(gain) if gain > 0 else -120.0


def _with_mix(plugin: pedalboard.Plugin, mix: float) -> pedalboard.Plugin:
    """Dry/wet as pedalboard objects: Mix([Chain([plugin, Gain(wet)]), Gain(dry)])."""
    if not isinstance(plugin, pedalboard.Plugin):
        raise ChainError(f"{type(plugin).__name__} is plugin_host's own effect and has no pedalboard object; "
                         "render the chain with plugin_host.render instead")
    if mix >= 1.0:
        return plugin
    return pedalboard.Mix([pedalboard.Chain([plugin, pedalboard.Gain(_db(mix))]), pedalboard.Gain(_db(1.0 - mix))])


def to_pedalboard(chain: Any, sample_rate: float | None = None) -> pedalboard.Pedalboard:
    """A `pedalboard.Pedalboard` for a chain spec (dry/wet expressed with Mix and Gain).

    For offline rendering in chunks use `plugin_host.render`, which mixes dry and
    wet itself: pedalboard's Mix misaligns its branches when a plugin with
    latency is processed in chunks.
    """
    spec = parse_chain(chain, sample_rate)
    plugins = [_with_mix(make_plugin(p, sample_rate, i), p.mix) for i, p in enumerate(spec.plugins)]
    if spec.mix < 1.0:
        return pedalboard.Pedalboard([_with_mix(pedalboard.Chain(plugins), spec.mix)])
    return pedalboard.Pedalboard(plugins)


def _read_native(plugin: pedalboard.Plugin, info: PluginInfo) -> dict[str, Any]:
    params = {}
    for name, p in info.params.items():
        value = getattr(plugin, name, None)
        if p.kind == "enum" and value is not None:
            params[name] = value.name
        elif p.kind == "path" or value is None:
            continue  # pedalboard does not keep the IR's file name
        else:
            params[name] = bool(value) if p.kind == "bool" else round(float(value), 6)
    return params


def _mix_of(plugin: pedalboard.Plugin) -> tuple[list[pedalboard.Plugin], float] | None:
    """Undo `_with_mix`: the wet plugins and the mix, or None if `plugin` is another kind of Mix."""
    parts = list(plugin)
    if len(parts) != 2 or not isinstance(parts[1], pedalboard.Gain) or not isinstance(parts[0], pedalboard.Chain):
        return None
    inner = list(parts[0])
    if not inner or not isinstance(inner[-1], pedalboard.Gain):
        return None
    wet = 10 ** (inner[-1].gain_db / 20)
    return inner[:-1], round(min(1.0, wet), 6)


def from_pedalboard(board: pedalboard.Plugin | list) -> ChainSpec:
    """A `ChainSpec` describing a pedalboard object (built-ins, VST3 plugins, nested chains)."""
    catalog = builtin_plugins()
    plugins: list[PluginSpec] = []

    def visit(plugin: Any, mix: float) -> None:
        if isinstance(plugin, pedalboard.Mix):
            unmixed = _mix_of(plugin)
            if unmixed is None:
                raise ChainError("a pedalboard Mix other than dry/wet (Mix([Chain([...,Gain]), Gain])) "
                                 "has no chain-spec form; flatten it first")
            inner, wet = unmixed
            if len(inner) == 1 and not isinstance(inner[0], pedalboard.Chain):
                visit(inner[0], wet)
            else:
                raise ChainError("a dry/wet Mix around several plugins is only supported at the chain's top level")
            return
        if isinstance(plugin, (pedalboard.Chain, list)):
            for child in plugin:
                visit(child, 1.0)
            return
        if isinstance(plugin, pedalboard.VST3Plugin):
            from plugin_host.vst3 import read_vst3_params

            plugins.append(PluginSpec("VST3", read_vst3_params(plugin), mix,
                                      getattr(plugin, "path_to_plugin_file", None), getattr(plugin, "name", None)))
            return
        name = type(plugin).__name__
        if name not in catalog:
            raise ChainError(f"{name} has no chain-spec form. Valid plugins: {_valid_plugins_text()}")
        plugins.append(PluginSpec(name, _read_native(plugin, catalog[name]), mix))

    chain_mix = 1.0
    items = list(board) if isinstance(board, (pedalboard.Chain, list)) else [board]
    if len(items) == 1 and isinstance(items[0], pedalboard.Mix):
        unmixed = _mix_of(items[0])
        if unmixed is not None and (len(unmixed[0]) != 1 or isinstance(unmixed[0][0], pedalboard.Chain)):
            inner, chain_mix = unmixed
            items = list(inner[0]) if len(inner) == 1 else inner
    for item in items:
        visit(item, 1.0)
    return ChainSpec(plugins, chain_mix)


#: A chain file larger than this is refused (a real chain is a few kilobytes).
MAX_CHAIN_FILE_BYTES = 4 * 1024 * 1024


def load_chain_file(path: str | os.PathLike[str], sample_rate: float | None = None, *,
                    max_bytes: int = MAX_CHAIN_FILE_BYTES) -> ChainSpec:
    """Read and validate a chain spec from a JSON file: a regular file of at most `max_bytes`, UTF-8."""
    import stat

    try:
        # O_NONBLOCK: a FIFO named as a chain file is refused at once instead of waiting for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise ChainError(f"the chain file {path} is not a regular file; name a .json file")
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ChainError(f"cannot read chain file {path}: {exc.strerror}") from None
    if len(data) > max_bytes:
        raise ChainError(f"the chain file {path} is larger than {max_bytes} bytes; a chain is a small JSON file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ChainError(f"the chain file {path} is not UTF-8 JSON text (a binary file?)") from None
    return parse_chain(text, sample_rate)
