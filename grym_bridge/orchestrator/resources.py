"""Resources: the model memory budget, cleanup of old renders and temporary files, job-result expiry.

Everything here is driven by the `[resources]` config section, runs on a
timer in the server (and on demand from `grym cleanup`-style callers), and
logs what it removed and why.

Renders are removed as a unit with their sidecar JSON (`take.wav` with
`take.json` or `take.wav.json`), so a render never loses its provenance and
a sidecar never outlives its audio.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from grym_bridge.config import Config

log = logging.getLogger(__name__)

MB = 1024 * 1024
_AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".mid", ".midi"}


@dataclass
class CleanupReport:
    """What one cleanup removed and what it kept, with the reason for each removal."""

    removed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    kept_files: int = 0
    kept_bytes: int = 0
    expired_jobs: int = 0

    def merge(self, other: "CleanupReport") -> "CleanupReport":
        self.removed += other.removed
        self.reasons += other.reasons
        self.freed_bytes += other.freed_bytes
        self.kept_files += other.kept_files
        self.kept_bytes += other.kept_bytes
        self.expired_jobs += other.expired_jobs
        return self


@dataclass
class _Group:
    """A render and its sidecars: removed together, aged by the newest of them."""

    files: list[Path]
    size: int
    mtime: float


def _group_key(path: Path) -> str:
    name = path.name
    if name.endswith(".json"):
        name = name[: -len(".json")]
    base, dot, suffix = name.rpartition(".")
    if dot and f".{suffix.lower()}" in _AUDIO_SUFFIXES:
        name = base
    return str(path.parent / name)


def _groups(folder: Path) -> list[_Group]:
    groups: dict[str, _Group] = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            try:
                st = path.stat()
            except OSError:  # removed meanwhile
                continue
            g = groups.setdefault(_group_key(path), _Group([], 0, 0.0))
            g.files.append(path)
            g.size += st.st_size
            g.mtime = max(g.mtime, st.st_mtime)
    return sorted(groups.values(), key=lambda g: g.mtime)


def cleanup_folder(
    folder: Path,
    *,
    max_age_s: float = 0.0,
    max_total_bytes: int = 0,
    now: float | None = None,
    protect: Callable[[Path], bool] | None = None,
) -> CleanupReport:
    """Remove file groups older than `max_age_s`, then the oldest until the rest fits `max_total_bytes`.

    A limit of 0 means no limit. `protect(path)` keeps a group no matter what
    (a render a running job is writing, say).
    """
    report = CleanupReport()
    folder = Path(folder)
    if not folder.is_dir():
        return report
    now = time.time() if now is None else now
    groups = [g for g in _groups(folder) if not (protect and any(protect(f) for f in g.files))]
    total = sum(g.size for g in groups)
    for g in groups:  # oldest first
        too_old = max_age_s > 0 and now - g.mtime > max_age_s
        too_big = max_total_bytes > 0 and total > max_total_bytes
        if not (too_old or too_big):
            report.kept_files += len(g.files)
            report.kept_bytes += g.size
            continue
        why = f"older than {max_age_s / 86400:g} days" if too_old else f"over {max_total_bytes / MB:g} MB in {folder.name}/"
        for f in g.files:
            try:
                f.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("cleanup could not remove %s: %s", f, exc)
                continue
            report.removed.append(str(f))
            report.reasons.append(why)
        report.freed_bytes += g.size
        total -= g.size
    if report.removed:
        log.info("cleanup of %s removed %d files (%.1f MB); kept %d files (%.1f MB)", folder, len(report.removed),
                 report.freed_bytes / MB, report.kept_files, report.kept_bytes / MB)
    return report


class ModelBudget:
    """Loaded models by memory, least recently used first; unloads beyond the budget.

    The model registry calls `loaded` after loading and `touch` on every use;
    each model brings its own `unload` callable (drop references, empty the
    CUDA cache). A budget of 0 means no budget.
    """

    def __init__(self, budget_bytes: int = 0) -> None:
        self.budget_bytes = budget_bytes
        self._models: OrderedDict[str, tuple[int, Callable[[], None]]] = OrderedDict()
        self._lock = threading.Lock()

    def loaded(self, name: str, size_bytes: int, unload: Callable[[], None]) -> list[str]:
        """Record a freshly loaded model; return the models unloaded to make room for it."""
        with self._lock:
            self._models[name] = (int(size_bytes), unload)
            self._models.move_to_end(name)
        return self.enforce(keep=name)

    def touch(self, name: str) -> None:
        with self._lock:
            if name in self._models:
                self._models.move_to_end(name)

    def unloaded(self, name: str) -> None:
        with self._lock:
            self._models.pop(name, None)

    def used_bytes(self) -> int:
        with self._lock:
            return sum(size for size, _ in self._models.values())

    def names(self) -> list[str]:
        """Loaded models, least recently used first."""
        with self._lock:
            return list(self._models)

    def enforce(self, budget_bytes: int | None = None, *, keep: str | None = None) -> list[str]:
        """Unload least recently used models until the rest fit the budget; return their names."""
        budget = self.budget_bytes if budget_bytes is None else budget_bytes
        if budget <= 0:
            return []
        victims: list[tuple[str, Callable[[], None]]] = []
        with self._lock:
            used = sum(size for size, _ in self._models.values())
            for name in list(self._models):
                if used <= budget:
                    break
                if name == keep:
                    continue
                size, unload = self._models.pop(name)
                used -= size
                victims.append((name, unload))
        for name, unload in victims:  # outside the lock: unloading may take a while
            try:
                unload()
                log.info("unloaded model %s to stay within the %.0f MB model budget", name, budget / MB)
            except Exception:  # noqa: BLE001 - a model that fails to unload must not stop the others
                log.exception("unloading model %s failed", name)
        return [name for name, _ in victims]


class ResourceManager:
    """Periodic cleanup, job-result expiry and model unloading under pressure."""

    def __init__(self, config: Config, *, jobs: Any = None, budget: ModelBudget | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.jobs = jobs
        self.budget = budget or ModelBudget(int(config.resources.model_memory_budget_mb * MB))
        self._clock = clock
        #: Paths a running job is writing; cleanup never removes them.
        self.in_use: set[Path] = set()

    def temp_folders(self) -> Iterable[Path]:
        data = self.config.data_dir
        return (data / "tmp", data / "results")

    def cleanup(self, now: float | None = None) -> CleanupReport:
        """One pass: old and excess renders, old temporary and result files, expired job results."""
        cfg = self.config.resources
        now = self._clock() if now is None else now
        protect = (lambda p: p in self.in_use) if self.in_use else None
        report = cleanup_folder(self.config.renders_dir(), max_age_s=cfg.renders_max_age_days * 86400,
                                max_total_bytes=int(cfg.renders_max_total_mb * MB), now=now, protect=protect)
        for folder in self.temp_folders():
            report.merge(cleanup_folder(folder, max_age_s=cfg.temp_max_age_hours * 3600, now=now, protect=protect))
        report.expired_jobs = self.expire_jobs()
        return report

    def expire_jobs(self) -> int:
        """Forget finished jobs older than jobs.result_ttl_s; return how many went."""
        if self.jobs is None:
            return 0
        before = len(getattr(self.jobs, "_jobs", {}))
        expire = getattr(self.jobs, "expire", None) or getattr(self.jobs, "_expire", None)
        if expire is None:
            return 0
        expire()
        gone = before - len(getattr(self.jobs, "_jobs", {}))
        if gone:
            log.info("expired %d finished job results", gone)
        return gone

    def on_health(self, transition: Any) -> None:
        """Health listener: entering critical unloads the models beyond the budget."""
        if getattr(transition.state, "value", transition.state) == "critical":
            gone = self.budget.enforce()
            if gone:
                log.warning("critical health: unloaded %s", ", ".join(gone))

    async def run(self) -> None:
        """Clean up every `cleanup_interval_s` (in a worker thread: deleting files may be slow)."""
        import asyncio

        interval = self.config.resources.cleanup_interval_s
        if interval <= 0:
            return
        while True:
            try:
                await asyncio.to_thread(self.cleanup)
            except Exception:  # noqa: BLE001 - cleanup failing must not take the server down
                log.exception("cleanup failed")
            await asyncio.sleep(interval)
