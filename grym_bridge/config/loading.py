"""Configuration: embedded defaults, a TOML file, `GRYM_*` variables and flags.

Later sources win: default < file < environment < command-line flag. Every
effective value remembers where it came from, so `grym config show` can say.

The schema is a set of small dataclasses, one per TOML table. A field's
metadata carries its help text and limits; that is all a capability needs to
add a setting::

    @dataclass
    class FooConfig:
        level: float = setting(0.5, "How much foo.", min=0.0, max=1.0)

and a `foo: FooConfig = section(FooConfig)` field on `Config`.

Environment variables are `GRYM_<TABLE>_<KEY>` (`GRYM_SERVER_OSC_PORT`), and
`GRYM_<KEY>` for top-level keys (`GRYM_DATA_DIR`, `GRYM_LOG_LEVEL`).
`GRYM_CONFIG` names the file.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, get_args, get_origin, get_type_hints

from grym_bridge.config.capabilities import (AnalysisConfig, FxConfig, GenerateConfig, MemoryConfig, MidiConfig,
                                             ModelsConfig)
from grym_bridge.config.core import AudioConfig, HttpConfig, JobsConfig, NetworkConfig, PathsConfig, ServerConfig
from grym_bridge.config.fields import ENV_PREFIX, default_config_file, default_data_dir, section, setting
from grym_bridge.config.orchestration import HealthConfig, OrchestratorConfig, ResourcesConfig
from grym_bridge.errors import ConfigError
from grym_bridge.values import coerce


@dataclass
class Config:
    """The effective configuration of one process."""

    data_dir: Path = setting(default_data_dir(), "Where the store, renders and logs live.")
    log_level: str = setting("info", "Logging level.", choices=["debug", "info", "warning", "error"])
    server: ServerConfig = section(ServerConfig)
    paths: PathsConfig = section(PathsConfig)
    jobs: JobsConfig = section(JobsConfig)
    audio: AudioConfig = section(AudioConfig)
    network: NetworkConfig = section(NetworkConfig)
    http: HttpConfig = section(HttpConfig)
    orchestrator: OrchestratorConfig = section(OrchestratorConfig)
    health: HealthConfig = section(HealthConfig)
    resources: ResourcesConfig = section(ResourcesConfig)
    memory: MemoryConfig = section(MemoryConfig)
    models: ModelsConfig = section(ModelsConfig)
    generate: GenerateConfig = section(GenerateConfig)
    analysis: AnalysisConfig = section(AnalysisConfig)
    midi: MidiConfig = section(MidiConfig)
    fx: FxConfig = section(FxConfig)

    #: Where each effective value came from, by dotted key.
    sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False, metadata={"internal": True})
    #: The config file that was read, if any.
    file: Path | None = field(default=None, compare=False, metadata={"internal": True})

    def items(self) -> list[tuple[str, Any, str, str]]:
        """(dotted key, value, source, help) for every setting, in schema order."""
        rows = []
        for key, (obj, f) in _walk(self).items():
            rows.append((key, getattr(obj, f.name), self.sources.get(key, "default"), f.metadata.get("help", "")))
        return rows

    def renders_dir(self) -> Path:
        return self.data_dir / "renders"


def _walk(obj: Any, prefix: str = "") -> dict[str, tuple[Any, dataclasses.Field]]:
    """Map dotted keys to (owning object, field) for every setting under `obj`."""
    out: dict[str, tuple[Any, dataclasses.Field]] = {}
    for f in dataclasses.fields(obj):
        if f.metadata.get("internal"):
            continue
        if f.metadata.get("section"):
            out.update(_walk(getattr(obj, f.name), f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = (obj, f)
    return out


def env_name(key: str) -> str:
    """`server.osc_port` -> `GRYM_SERVER_OSC_PORT`."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def _field_type(obj: Any, f: dataclasses.Field) -> Any:
    return get_type_hints(type(obj))[f.name]


def _coerce(key: str, raw: Any, obj: Any, f: dataclasses.Field, where: str) -> Any:
    """Convert `raw` (from TOML, an env string or a flag) to the field's type and check its limits."""
    typ = _field_type(obj, f)
    meta = f.metadata

    def bad(expected: str) -> ConfigError:
        return ConfigError(f"config key '{key}' ({where}): expected {expected}, got {raw!r}")

    try:
        if typ in (bool, int, float):
            try:
                value: Any = coerce(raw, typ)
            except ValueError as exc:
                raise bad(str(exc)) from None
        elif typ is Path:
            if not isinstance(raw, (str, Path)) or not str(raw):
                raise bad("a path")
            value = Path(raw).expanduser()
        elif get_origin(typ) is list:
            if isinstance(raw, str):
                raw_items = [p for p in raw.replace(os.pathsep, ",").split(",") if p.strip()]
            elif isinstance(raw, (list, tuple)):
                raw_items = list(raw)
            else:
                raise bad("a list")
            (item_type,) = get_args(typ) or (str,)
            value = [item_type(x.strip() if isinstance(x, str) else x) for x in raw_items]
        else:
            if not isinstance(raw, str):
                raise bad("a string")
            value = raw
    except (TypeError, ValueError):
        raise bad(f"a value of type {getattr(typ, '__name__', typ)}") from None

    if "min" in meta and value < meta["min"]:
        raise bad(f"a value of at least {meta['min']}")
    if "max" in meta and value > meta["max"]:
        raise bad(f"a value of at most {meta['max']}")
    if "choices" in meta and value not in meta["choices"]:
        raise bad("one of " + ", ".join(map(str, meta["choices"])))
    return value


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None


def load_config(
    config_file: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the effective configuration.

    `config_file` is the `--config` flag (else `GRYM_CONFIG`, else the platform
    default if it exists). `overrides` maps dotted keys to flag values; `None`
    values are ignored so unset flags fall through.
    """
    env = os.environ if environ is None else environ
    cfg = Config()
    fields = _walk(cfg)

    explicit = config_file or env.get(ENV_PREFIX + "CONFIG")
    path = Path(explicit).expanduser() if explicit else default_config_file()
    if explicit and not path.is_file():
        raise ConfigError(f"config file {path} does not exist (from {'--config' if config_file else 'GRYM_CONFIG'})")
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if path.is_file():
        cfg.file = path
        data = _flatten(_read_file(path))
        unknown = [k for k in data if k not in fields]
        if unknown:
            k = unknown[0]
            close = difflib.get_close_matches(k, list(fields), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else f" Known keys: {', '.join(fields)}."
            raise ConfigError(f"config file {path}: unknown key '{k}'.{hint}")
        layers.append((f"file {path}", data))

    layers.append(("env", {k: env[env_name(k)] for k in fields if env_name(k) in env}))
    layers.append(("flag", {k: v for k, v in (overrides or {}).items() if v is not None}))

    for origin, values in layers:
        for key, raw in values.items():
            if key not in fields:
                raise ConfigError(f"unknown config key '{key}' ({origin})")
            obj, f = fields[key]
            where = f"environment variable {env_name(key)}" if origin == "env" else origin
            setattr(obj, f.name, _coerce(key, raw, obj, f, where))
            cfg.sources[key] = f"env {env_name(key)}" if origin == "env" else origin
    cfg.data_dir = Path(cfg.data_dir).expanduser()
    return cfg
