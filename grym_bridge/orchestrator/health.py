"""Health: healthy, warning or critical, from readings, with hysteresis so it never flaps.

The readings are CPU and memory use, GPU memory (only when torch is already
imported and a GPU is in use: health never imports torch), jobs waiting,
the smoothed job error rate, the event loop's lag and the workers held by
work that ran past its job's timeout. Each metric has an
enter level for warning and for critical, and an exit level below each
(`hysteresis` lower): a state is entered when a reading reaches its enter
level and left only when every reading is below the exit level. Worsening
happens at once; improving waits until the state has lasted
`min_time_in_state_s`. A reading sitting on a threshold therefore produces
one transition, not one per sample.

Clock and readings are injected: tests drive the monitor with their own
numbers and time; the server passes a `SystemProbe`.
"""

from __future__ import annotations

import enum
import logging
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field, fields
from typing import Callable

from grym_bridge.config import HealthConfig
from grym_bridge.errors import Busy

log = logging.getLogger(__name__)

#: Error codes that are the client's mistake or choice (a bad argument, a missing file, a model whose
#: weights are not installed, a cancel, a refusal while busy), not the server being unwell: the error
#: rate counts every other failure (timeouts, crashes in a capability, a full disk).
CLIENT_FAULTS = frozenset({"cancelled", "bad_args", "unknown_address", "too_large", "malformed", "not_found",
                           "path_not_allowed", "bad_audio", "model_unavailable", "busy"})


class HealthState(str, enum.Enum):
    HEALTHY = "healthy"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {HealthState.HEALTHY: 0, HealthState.WARNING: 1, HealthState.CRITICAL: 2}
_BY_RANK = {v: k for k, v in _RANK.items()}


@dataclass
class Readings:
    """One sample of everything health looks at. None: not measured (no GPU, say)."""

    cpu_percent: float | None = None
    memory_percent: float | None = None
    gpu_memory_percent: float | None = None
    queue_depth: float | None = None
    error_rate: float | None = None
    loop_lag_s: float | None = None
    #: Workers held by work that ran past its job's timeout (the job queue's `hung()`).
    hung_workers: float | None = None


@dataclass(frozen=True)
class Threshold:
    """Enter and exit levels of one metric. Exit levels lie below enter levels."""

    warning_enter: float
    warning_exit: float
    critical_enter: float
    critical_exit: float

    @classmethod
    def with_margin(cls, warning: float, critical: float, hysteresis: float) -> "Threshold":
        """Exit levels `hysteresis` below the enter levels; a level of 0 (or less) is never entered."""
        keep = 1.0 - hysteresis
        warning, critical = (x if x > 0 else math.inf for x in (warning, critical))
        return cls(warning, warning * keep, critical, critical * keep)

    def level(self, value: float, current: int) -> int:
        """0, 1 or 2 for `value`, given the rank of the state we are in now."""
        if value >= self.critical_enter or (current >= 2 and value >= self.critical_exit):
            return 2
        if value >= self.warning_enter or (current >= 1 and value >= self.warning_exit):
            return 1
        return 0


def thresholds_from_config(cfg: HealthConfig) -> dict[str, Threshold]:
    h = cfg.hysteresis
    return {
        "cpu_percent": Threshold.with_margin(cfg.cpu_warning, cfg.cpu_critical, h),
        "memory_percent": Threshold.with_margin(cfg.memory_warning, cfg.memory_critical, h),
        "gpu_memory_percent": Threshold.with_margin(cfg.gpu_memory_warning, cfg.gpu_memory_critical, h),
        "queue_depth": Threshold.with_margin(cfg.queue_warning, cfg.queue_critical, h),
        "error_rate": Threshold.with_margin(cfg.error_rate_warning, cfg.error_rate_critical, h),
        "loop_lag_s": Threshold.with_margin(cfg.loop_lag_warning_s, cfg.loop_lag_critical_s, h),
        "hung_workers": Threshold.with_margin(cfg.hung_workers_warning, cfg.hung_workers_critical, h),
    }


class ErrorRate:
    """The fraction of recent jobs that failed, each outcome's weight halving every `half_life_s`.

    Below `min_weight` jobs' worth of outcomes it reads 0: one failed job out
    of one is not a 100 % error rate worth going critical over.
    """

    def __init__(self, half_life_s: float, *, clock: Callable[[], float] = time.monotonic, min_weight: float = 3.0):
        self.half_life_s = half_life_s
        self.min_weight = min_weight
        self._clock = clock
        self._failed = 0.0
        self._total = 0.0
        self._at = clock()
        self._lock = threading.Lock()

    def _decay(self) -> None:
        now = self._clock()
        factor = 0.5 ** (max(0.0, now - self._at) / self.half_life_s)
        self._failed *= factor
        self._total *= factor
        self._at = now

    def record(self, failed: bool) -> None:
        with self._lock:
            self._decay()
            self._total += 1.0
            self._failed += 1.0 if failed else 0.0

    def value(self) -> float:
        with self._lock:
            self._decay()
            return self._failed / self._total if self._total >= self.min_weight else 0.0


@dataclass
class HealthStatus:
    """The state now, since when, why, and the readings it was judged on."""

    state: HealthState
    since: float
    reasons: list[str] = field(default_factory=list)
    readings: Readings = field(default_factory=Readings)

    def to_dict(self, now: float) -> dict:
        from grym_bridge.results import to_jsonable

        return {"state": self.state.value, "for_s": round(now - self.since, 1), "reasons": self.reasons,
                "readings": to_jsonable(self.readings)}


@dataclass(frozen=True)
class Transition:
    previous: HealthState
    state: HealthState
    at: float
    reasons: tuple[str, ...]


class HealthMonitor:
    """Judges readings into a state with hysteresis and tells subscribers about transitions."""

    def __init__(
        self,
        config: HealthConfig,
        *,
        read: Callable[[], Readings] | None = None,
        clock: Callable[[], float] = time.monotonic,
        thresholds: dict[str, Threshold] | None = None,
    ) -> None:
        self.config = config
        self._read = read or Readings
        self._clock = clock
        self.thresholds = thresholds or thresholds_from_config(config)
        self.errors = ErrorRate(config.error_half_life_s, clock=clock)
        self.status = HealthStatus(HealthState.HEALTHY, clock())
        self._listeners: list[Callable[[Transition], None]] = []
        self._lock = threading.Lock()

    @property
    def state(self) -> HealthState:
        return self.status.state

    def subscribe(self, listener: Callable[[Transition], None]) -> None:
        """`listener(transition)` is called after every change of state."""
        self._listeners.append(listener)

    def sample(self) -> Readings:
        """Read the injected source once (the server does this off the event loop)."""
        return self._read()

    def record_outcome(self, error_code: str | None) -> None:
        """Count a finished job: a success, a server-side fault, or (not counted) a client's mistake."""
        if error_code is None:
            self.record_job(failed=False)
        elif error_code not in CLIENT_FAULTS:
            self.record_job(failed=True)

    def record_job(self, failed: bool) -> None:
        """Count one finished job in the error rate."""
        self.errors.record(failed)

    def update(self, readings: Readings | None = None) -> HealthStatus:
        """Take a sample (or judge the given one) and move the state if hysteresis allows."""
        sample = readings if readings is not None else self._read()
        if sample.error_rate is None:
            sample.error_rate = self.errors.value()
        now = self._clock()
        with self._lock:
            current = self.status.state.rank
            target, reasons = self._judge(sample, current)
            dwell_over = now - self.status.since >= self.config.min_time_in_state_s
            transition = None
            if target > current or (target < current and dwell_over):
                previous = self.status.state
                self.status = HealthStatus(_BY_RANK[target], now, reasons, sample)
                transition = Transition(previous, self.status.state, now, tuple(reasons))
            else:
                self.status.readings, self.status.reasons = sample, reasons or self.status.reasons
        if transition is not None:
            log.log(logging.WARNING if transition.state.rank else logging.INFO, "health %s -> %s (%s)",
                    transition.previous.value, transition.state.value, "; ".join(reasons) or "all readings normal")
            for listener in list(self._listeners):
                try:
                    listener(transition)
                except Exception:  # noqa: BLE001 - a bad subscriber must not stop health checks
                    log.exception("health listener failed")
        return self.status

    def _judge(self, sample: Readings, current: int) -> tuple[int, list[str]]:
        level, reasons = 0, []
        for f in fields(sample):
            value = getattr(sample, f.name)
            threshold = self.thresholds.get(f.name)
            if value is None or threshold is None or not math.isfinite(value):
                continue
            metric_level = threshold.level(float(value), current)
            if metric_level:
                enter = threshold.critical_enter if metric_level == 2 else threshold.warning_enter
                reasons.append(f"{f.name} {value:.3g} (enters {_BY_RANK[metric_level].value} at {enter:g})")
            level = max(level, metric_level)
        return level, reasons

    def admit(self, name: str, resource: str) -> None:
        """JobQueue admission hook: refuse new GPU jobs while critical."""
        if resource == "gpu" and self.state is HealthState.CRITICAL:
            why = "; ".join(self.status.reasons) or "the server is overloaded"
            raise Busy(f"the server is in critical health ({why}); GPU job '{name}' refused, retry in a while",
                       retry_after_s=max(1.0, self.config.min_time_in_state_s))


class SystemProbe:
    """Reads this machine: psutil where installed, else the load average and /proc/meminfo.

    `queue_depth`, `loop_lag` and `hung_workers` are callables the server
    supplies (the job queue and the event-loop lag probe).
    """

    def __init__(self, queue_depth: Callable[[], float] | None = None,
                 loop_lag: Callable[[], float | None] | None = None,
                 hung_workers: Callable[[], float] | None = None) -> None:
        self.queue_depth = queue_depth
        self.loop_lag = loop_lag
        self.hung_workers = hung_workers
        try:
            import psutil

            self._psutil = psutil
            psutil.cpu_percent(None)  # the first call only starts the measurement window
        except ImportError:
            self._psutil = None

    def __call__(self) -> Readings:
        return Readings(
            cpu_percent=self.cpu_percent(),
            memory_percent=self.memory_percent(),
            gpu_memory_percent=gpu_memory_percent(),
            queue_depth=float(self.queue_depth()) if self.queue_depth else None,
            loop_lag_s=self.loop_lag() if self.loop_lag else None,
            hung_workers=float(self.hung_workers()) if self.hung_workers else None,
        )

    def cpu_percent(self) -> float | None:
        if self._psutil is not None:
            return float(self._psutil.cpu_percent(None))
        try:
            return 100.0 * os.getloadavg()[0] / (os.cpu_count() or 1)
        except OSError:
            return None

    def memory_percent(self) -> float | None:
        if self._psutil is not None:
            return float(self._psutil.virtual_memory().percent)
        try:
            info = dict(line.split(":", 1) for line in open("/proc/meminfo", encoding="ascii"))
            total = float(info["MemTotal"].split()[0])
            return 100.0 * (1.0 - float(info["MemAvailable"].split()[0]) / total)
        except (OSError, KeyError, ValueError):
            return None


def gpu_memory_percent() -> float | None:
    """GPU memory in use (%), only if torch is already imported and CUDA initialized: never import torch here."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
            return None
        free, total = torch.cuda.mem_get_info()
        return 100.0 * (1.0 - free / total)
    except Exception:  # noqa: BLE001 - a GPU query failing is not a health problem in itself
        return None


class LoopLagProbe:
    """Measures how late the event loop wakes a sleeping task: the lag every handler sees.

    `run()` is a coroutine for the server's loop; `value()` is the worst lag
    in the last window, readable from any thread.
    """

    def __init__(self, interval_s: float = 0.1, window: int = 20) -> None:
        self.interval_s = interval_s
        self._recent: list[float] = []
        self._window = window

    async def run(self) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.interval_s)
            lag = max(0.0, loop.time() - start - self.interval_s)
            self._recent = (self._recent + [lag])[-self._window:]

    def value(self) -> float | None:
        recent = self._recent
        return max(recent) if recent else None
