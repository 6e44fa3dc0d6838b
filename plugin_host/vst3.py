"""VST3 plugins: finding them in the standard folders, loading them by path, their parameters.

A third-party plugin can crash the process that loads it, so the scan loads
each bundle in a child process (as DAWs' plugin scanners do) with a timeout;
a plugin that fails or hangs is reported in the scan result, never raised.
Loading for a render happens in-process, after the file is known to exist.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pedalboard

from plugin_host.errors import ChainError, PluginLoadError, suggest


def standard_folders(platform: str | None = None, environ: dict[str, str] | None = None) -> list[Path]:
    """The folders the VST3 specification tells hosts to search on this (or the given) platform."""
    platform = platform or sys.platform
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform == "darwin":
        return [home / "Library/Audio/Plug-Ins/VST3", Path("/Library/Audio/Plug-Ins/VST3"),
                Path("/Network/Library/Audio/Plug-Ins/VST3")]
    if platform.startswith("win"):
        common = env.get("COMMONPROGRAMFILES", r"C:\Program Files\Common Files")
        local = env.get("LOCALAPPDATA", str(home / "AppData" / "Local"))
        return [Path(local) / "Programs" / "Common" / "VST3", Path(common) / "VST3"]
    return [home / ".vst3", Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3")]


@dataclass
class Vst3Param:
    name: str
    minimum: Any = None
    maximum: Any = None
    default: Any = None
    units: str = ""
    choices: list[Any] | None = None


@dataclass
class Vst3Entry:
    """One .vst3 bundle found by a scan: its plugins and parameters, or why it failed."""

    path: str
    plugin_names: list[str] = field(default_factory=list)
    parameters: dict[str, list[Vst3Param]] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def find_bundles(folders: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every `*.vst3` file or bundle folder under `folders` (not descending into bundles)."""
    found: list[Path] = []
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            for name in sorted(dirnames):
                if name.lower().endswith(".vst3"):
                    found.append(Path(dirpath) / name)
            dirnames[:] = sorted(d for d in dirnames if not d.lower().endswith(".vst3"))
            found.extend(Path(dirpath) / f for f in sorted(filenames) if f.lower().endswith(".vst3"))
    return found


def _describe_params(plugin: Any) -> list[Vst3Param]:
    out = []
    for name, p in plugin.parameters.items():
        choices = list(p.valid_values) if getattr(p, "is_discrete", False) and len(p.valid_values) < 64 else None
        lo, hi = (p.min_value, p.max_value) if getattr(p, "range", None) else (None, None)
        out.append(Vst3Param(name, lo, hi, getattr(p, "default_raw_value", None), getattr(p, "units", "") or "",
                             choices))
    return out


def probe(path: str) -> Vst3Entry:
    """Load every plugin of one bundle in this process and describe it (run by `scan` in a child)."""
    entry = Vst3Entry(path)
    try:
        entry.plugin_names = list(pedalboard.VST3Plugin.get_plugin_names_for_file(path))
        for name in entry.plugin_names:
            plugin = pedalboard.VST3Plugin(path, plugin_name=name if len(entry.plugin_names) > 1 else None)
            entry.parameters[name] = _describe_params(plugin)
    except Exception as exc:  # a bad bundle raises ImportError, RuntimeError, ...: report it
        entry.error = f"{type(exc).__name__}: {str(exc).strip() or 'cannot be loaded'}"
    return entry


def scan(folders: Iterable[str | os.PathLike[str]] | None = None, *, timeout_s: float = 30.0) -> list[Vst3Entry]:
    """Find and probe every VST3 bundle; each in its own child process, so a crashing plugin is only reported."""
    entries = []
    for bundle in find_bundles(standard_folders() if folders is None else folders):
        try:
            proc = subprocess.run([sys.executable, "-m", "plugin_host.vst3", str(bundle)], capture_output=True,
                                  text=True, timeout=timeout_s, env={**os.environ, "PYTHONPATH": _package_root()})
        except subprocess.TimeoutExpired:
            entries.append(Vst3Entry(str(bundle), error=f"did not load within {timeout_s:g} s"))
            continue
        try:
            data = json.loads(proc.stdout.strip().splitlines()[-1])
            params = {k: [Vst3Param(**p) for p in v] for k, v in data.pop("parameters").items()}
            entries.append(Vst3Entry(**data, parameters=params))
        except (ValueError, IndexError, TypeError, KeyError):
            why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            entries.append(Vst3Entry(str(bundle), error=f"the scanner process failed: {why}"))
    return entries


def _package_root() -> str:
    root = str(Path(__file__).resolve().parent.parent)
    existing = os.environ.get("PYTHONPATH")
    return root + (os.pathsep + existing if existing else "")


def installed_text(folders: Iterable[str | os.PathLike[str]] | None = None) -> str:
    """A sentence listing the .vst3 bundles in the standard folders (for error messages)."""
    bundles = find_bundles(standard_folders() if folders is None else folders)
    if not bundles:
        where = ", ".join(str(f) for f in standard_folders())
        return f"No VST3 plugins are installed in the standard folders ({where}); give the path of a .vst3 bundle."
    return "Installed VST3 plugins: " + ", ".join(str(b) for b in bundles[:40]) + ("..." if len(bundles) > 40 else "")


def load_vst3(path: str, plugin_name: str | None = None) -> pedalboard.VST3Plugin:
    """Load a VST3 plugin by path; `PluginLoadError` says why it could not be loaded."""
    if not os.path.exists(path):
        raise PluginLoadError(f"VST3 file {path} does not exist. {installed_text()}")
    try:
        return pedalboard.VST3Plugin(path, plugin_name=plugin_name)
    except Exception as exc:  # pedalboard raises ImportError for bad bundles, ValueError for a wrong name
        text = str(exc).strip() or type(exc).__name__
        raise PluginLoadError(f"VST3 file {path} cannot be loaded: {text}") from None


def set_vst3_params(plugin: Any, params: dict[str, Any], where: str) -> None:
    """Set parameters by name in the plugin's own units; errors list the valid parameters and ranges."""
    valid = plugin.parameters
    for name, value in params.items():
        if name not in valid:
            listing = "; ".join(f"{n} {p.min_value}..{p.max_value}" for n, p in valid.items())
            raise ChainError(f"{where} has no parameter {name!r}.{suggest(name, valid)} Valid parameters: {listing}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ChainError(f"{where}.{name} must be a finite number; got {value!r}")
        try:
            setattr(plugin, name, value)
        except (ValueError, TypeError) as exc:
            raise ChainError(f"{where}.{name}: {exc}") from None


def read_vst3_params(plugin: Any) -> dict[str, Any]:
    """The plugin's parameter values by name, in its own units."""
    out = {}
    for name in plugin.parameters:
        value = getattr(plugin, name)
        out[name] = value if isinstance(value, (bool, str)) else float(value)
    return out


if __name__ == "__main__":  # the child process of `scan`: probe one bundle, print JSON
    result = asdict(probe(sys.argv[1]))
    print(json.dumps(result, default=str))
