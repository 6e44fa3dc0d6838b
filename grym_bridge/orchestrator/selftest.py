"""The self-test (`grym doctor`, `/grym/system/selftest`) and the capability summary in the banner.

A capability package may define `status(config) -> (state, detail)` with
state `ready`, `needs_weights` or `unavailable`; it must be cheap and must
not import torch. Packages without one are `ready` when they import.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from grym_bridge.config import Config

#: (name shown to the user, package that provides it)
CAPABILITIES = (
    ("analysis", "grym_bridge.analysis"),
    ("embeddings", "grym_bridge.models.wav2vec2"),
    ("memory", "grym_bridge.memory"),
    ("effects", "grym_bridge.fx"),
    ("generation", "grym_bridge.generate"),
    ("composition", "grym_bridge.compose"),
)

Progress = Callable[[float, str], None]
#: A probe of a part outside the capabilities (the MIDI backend), injected by the composition root:
#: `probe(config) -> (state, detail)`.
CapabilityProbe = Callable[[Config], tuple[str, str]]


@dataclass
class CapabilityStatus:
    name: str
    state: str
    detail: str = ""


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float
    #: an optional part that is not installed: said, but not a failure
    skipped: bool = False


class NotInstalled(Exception):
    """Raised by a check whose optional part (an extra) is not installed; the report says so and passes."""


@dataclass
class SelftestReport:
    ok: bool
    checks: list[CheckResult] = field(default_factory=list)

    def summary(self) -> str:
        failed = [c.name for c in self.checks if not c.ok]
        skipped = [c.name for c in self.checks if c.skipped]
        text = "all checks passed" if not failed else "failed: " + ", ".join(failed)
        return text + (f" (not installed: {', '.join(skipped)})" if skipped else "")


def capability_status(config: Config, probes: Mapping[str, CapabilityProbe] | None = None) -> list[CapabilityStatus]:
    """Which capabilities are ready, which wait for model weights, which are missing.

    `probes` adds parts the orchestrator must not import itself (the MIDI transport's backend).
    """
    out = []
    for name, module in CAPABILITIES:
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) is None or importlib.util.find_spec(module) is None:
            out.append(CapabilityStatus(name, "unavailable", "not part of this installation yet"))
            continue
        try:
            mod = importlib.import_module(module)
            status = getattr(mod, "status", None)
            state, detail = status(config) if status else ("ready", "")
        except Exception as exc:  # noqa: BLE001 - the summary must not stop the server from starting
            state, detail = "unavailable", f"{exc.__class__.__name__}: {exc}"
        out.append(CapabilityStatus(name, state, detail))
    for name, probe in (probes or {}).items():
        try:
            state, detail = probe(config)
        except Exception as exc:  # noqa: BLE001 - as above
            state, detail = "unavailable", f"{exc.__class__.__name__}: {exc}"
        out.append(CapabilityStatus(name, state, detail))
    return out


# -- checks: each returns a detail string or raises -------------------------------------


def check_data_dir(config: Config) -> str:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=config.data_dir, prefix=".selftest-") as fh:
        fh.write(b"ok")
        fh.flush()
    return f"{config.data_dir} is writable"


def check_store(config: Config) -> str:
    from grym_bridge.memory import open_memory

    store = open_memory(config)
    try:
        verdict = store.integrity_check()
        clips = store.stats().clips
    finally:
        store.close()
    if verdict != "ok":
        raise RuntimeError(f"the feature memory fails its integrity check: {verdict}")
    return f"feature memory opens and passes its integrity check ({clips} clips, SQLite {sqlite3.sqlite_version})"


def check_render(config: Config) -> str:
    import numpy as np
    import pedalboard

    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((2, 4410)) * 0.1).astype(np.float32)
    out = pedalboard.Pedalboard([pedalboard.HighpassFilter(80.0), pedalboard.Reverb()])(audio, 44100)
    if out.shape != audio.shape or not np.isfinite(out).all():
        raise RuntimeError(f"render returned shape {out.shape} with non-finite samples")
    return f"pedalboard {pedalboard.__version__} rendered 0.1 s through a 2-effect chain"


def check_midi(config: Config) -> str:
    import rtmidi

    apis = [rtmidi.get_api_display_name(a) for a in rtmidi.get_compiled_api()]
    if not apis:
        raise RuntimeError("python-rtmidi was built without any MIDI backend")
    return ", ".join(apis)


def check_model_libraries(config: Config) -> str:
    present = [m for m in ("torch", "diffusers", "transformers") if importlib.util.find_spec(m)]
    missing = sorted({"torch", "diffusers", "transformers"} - set(present))
    if missing:  # the quickstart installs without them: optional, so not a failure
        raise NotInstalled(
            "not installed (" + ", ".join(missing) + "); generation and wav2vec2 embeddings need them: install "
            "the models extra (pip install 'grym-bridge[models]'); everything else works without them")
    return "torch, diffusers and transformers are installed (not imported)"


def check_capabilities(config: Config, probes: Mapping[str, CapabilityProbe] | None = None) -> str:
    states = capability_status(config, probes)
    waiting = [f"{c.name} ({c.detail})" for c in states if c.state != "ready"]
    ready = [c.name for c in states if c.state == "ready"]
    text = "ready: " + (", ".join(ready) or "none")
    if waiting:
        text += "; not ready: " + "; ".join(waiting)
    return text


CHECKS: list[tuple[str, Callable[[Config], str]]] = [
    ("data directory", check_data_dir),
    ("store", check_store),
    ("pedalboard render", check_render),
    ("MIDI backends", check_midi),
    ("model libraries", check_model_libraries),
    ("capabilities", check_capabilities),
]


def run_selftest(config: Config, *, progress: Progress | None = None,
                 probes: Mapping[str, CapabilityProbe] | None = None) -> SelftestReport:
    """Run every check, reporting progress per step; a failing check never stops the others.

    `probes` are the root's probes of parts the orchestrator does not import (the MIDI backend).
    """
    report = SelftestReport(ok=True)
    checks = [(name, functools.partial(check, probes=probes) if check is check_capabilities else check)
              for name, check in CHECKS]
    for i, (name, check) in enumerate(checks):
        if progress:
            progress(i / len(checks), f"checking {name}")
        start = time.perf_counter()
        skipped = False
        try:
            detail, ok = check(config), True
        except NotInstalled as exc:
            detail, ok, skipped = str(exc), True, True
        except Exception as exc:  # noqa: BLE001 - a check failing is the report, not a crash
            detail = str(exc) if isinstance(exc, RuntimeError) else f"{exc.__class__.__name__}: {exc}"
            ok = False
        report.checks.append(CheckResult(name, ok, detail, round(time.perf_counter() - start, 3), skipped))
        report.ok &= ok
    if progress:
        progress(1.0, report.summary())
    return report

