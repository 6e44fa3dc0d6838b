"""Resources: shedding models under pressure, cleanup of old renders and temporary files, job-result expiry.

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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

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

    files: list[str]
    size: int
    mtime: float


def _group_key(path: str) -> str:
    """`take.wav`, `take.json` and `take.wav.json` share the key `take` (strings: this runs per file)."""
    if path.endswith(".json"):
        path = path[: -len(".json")]
    base, dot, suffix = path.rpartition(".")
    if dot and "/" not in suffix and f".{suffix.lower()}" in _AUDIO_SUFFIXES:
        return base
    return path


def _groups(folder: Path) -> list[_Group]:
    groups: dict[str, _Group] = {}
    stack = [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:  # removed or unreadable meanwhile
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            g = groups.get(key := _group_key(entry.path))
            if g is None:
                g = groups[key] = _Group([], 0, 0.0)
            g.files.append(entry.path)
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
    groups = [g for g in _groups(folder) if not (protect and any(protect(Path(f)) for f in g.files))]
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
                os.unlink(f)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("cleanup could not remove %s: %s", f, exc)
                continue
            report.removed.append(f)
            report.reasons.append(why)
        report.freed_bytes += g.size
        total -= g.size
    if report.removed:
        log.info("cleanup of %s removed %d files (%.1f MB); kept %d files (%.1f MB)", folder, len(report.removed),
                 report.freed_bytes / MB, report.kept_files, report.kept_bytes / MB)
    return report


class Budget(Protocol):
    """What resources needs of the model registry's memory budget (`grym_bridge.models.registry.MemoryBudget`)."""

    budget_bytes: int

    @property
    def used_bytes(self) -> int: ...
    def keys(self) -> list[str]: ...
    def release(self, key: str) -> bool: ...


def shed_models(budget: Budget, target_bytes: int | None = None) -> list[str]:
    """Unload least recently used models until the rest fit `target_bytes` (default: the budget).

    The registry lets one model larger than the whole budget load alone; under
    pressure it goes too. Returns the keys unloaded.
    """
    target = budget.budget_bytes if target_bytes is None else target_bytes
    gone: list[str] = []
    for key in budget.keys():  # least recently used first
        if budget.used_bytes <= target:
            break
        try:
            if budget.release(key):
                gone.append(key)
        except Exception:  # noqa: BLE001 - a model that fails to unload must not stop the others
            log.exception("unloading model %s failed", key)
    return gone


class ResourceManager:
    """Periodic cleanup, job-result expiry and model unloading under pressure."""

    def __init__(self, config: Config, *, jobs: Any = None, models: Callable[[], Budget | None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.jobs = jobs
        #: The model registry's budget, asked for only when needed (building the registry is lazy).
        self.models = models
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
        gone = self.jobs.expire()
        if gone:
            log.info("expired %d finished job results", gone)
        return gone

    def on_health(self, transition: Any) -> None:
        """Health listener: entering critical unloads the models beyond the budget."""
        if getattr(transition.state, "value", transition.state) == "critical" and self.models is not None:
            budget = self.models()
            gone = shed_models(budget) if budget is not None else []
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
