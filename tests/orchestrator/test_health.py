"""Health transitions with an injected clock and injected readings."""

from __future__ import annotations

import pytest

from grym_bridge.config import HealthConfig
from grym_bridge.errors import Busy
from grym_bridge.orchestrator.health import (
    ErrorRate,
    HealthMonitor,
    HealthState,
    Readings,
    SystemProbe,
    Threshold,
)


class Clock:
    """Time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def monitor(clock: Clock, **overrides: float) -> tuple[HealthMonitor, list]:
    cfg = HealthConfig(min_time_in_state_s=10.0, hysteresis=0.15, cpu_warning=80.0, cpu_critical=95.0, **overrides)
    mon = HealthMonitor(cfg, clock=clock)
    seen: list = []
    mon.subscribe(seen.append)
    return mon, seen


def test_threshold_levels_depend_on_the_current_state() -> None:
    t = Threshold.with_margin(80.0, 95.0, 0.15)
    assert (t.warning_exit, t.critical_exit) == (68.0, pytest.approx(80.75))
    assert t.level(79.9, 0) == 0
    assert t.level(80.0, 0) == 1
    assert t.level(70.0, 1) == 1  # above the exit level: stays
    assert t.level(70.0, 0) == 0  # the same value does not enter
    assert t.level(90.0, 2) == 2 and t.level(90.0, 1) == 1


def test_no_flapping_when_a_reading_sits_on_the_threshold() -> None:
    clock = Clock()
    mon, seen = monitor(clock)
    for i in range(200):
        mon.update(Readings(cpu_percent=80.0 + (0.5 if i % 2 else -0.5), error_rate=0.0))
        clock.advance(1.0)
    assert [(t.previous, t.state) for t in seen] == [(HealthState.HEALTHY, HealthState.WARNING)]
    assert mon.state is HealthState.WARNING


def test_improving_waits_for_exit_level_and_minimum_time() -> None:
    clock = Clock()
    mon, seen = monitor(clock)
    mon.update(Readings(cpu_percent=97.0))
    assert mon.state is HealthState.CRITICAL and "cpu_percent" in mon.status.reasons[0]
    clock.advance(5.0)
    mon.update(Readings(cpu_percent=10.0))
    assert mon.state is HealthState.CRITICAL  # only 5 s in the state
    clock.advance(5.0)
    mon.update(Readings(cpu_percent=85.0))  # below critical enter, above its exit (80.75)
    assert mon.state is HealthState.CRITICAL
    mon.update(Readings(cpu_percent=75.0))  # below critical exit, above warning exit
    assert mon.state is HealthState.WARNING
    clock.advance(1.0)
    mon.update(Readings(cpu_percent=10.0))
    assert mon.state is HealthState.WARNING  # a new state: its own minimum time
    clock.advance(10.0)
    mon.update(Readings(cpu_percent=10.0))
    assert mon.state is HealthState.HEALTHY
    assert [t.state for t in seen] == [HealthState.CRITICAL, HealthState.WARNING, HealthState.HEALTHY]
    assert [t.at for t in seen] == [1000.0, 1010.0, 1021.0]


def test_worsening_is_immediate_even_inside_the_minimum_time() -> None:
    clock = Clock()
    mon, seen = monitor(clock)
    mon.update(Readings(memory_percent=90.0))
    clock.advance(0.1)
    mon.update(Readings(memory_percent=99.0))
    assert [t.state for t in seen] == [HealthState.WARNING, HealthState.CRITICAL]


@pytest.mark.parametrize(("field", "value", "state"), [
    ("queue_depth", 20, HealthState.WARNING),
    ("queue_depth", 10_000, HealthState.WARNING),  # queue_critical 0 by default: never critical
    ("loop_lag_s", 0.2, HealthState.WARNING),
    ("loop_lag_s", 1.0, HealthState.CRITICAL),
    ("gpu_memory_percent", 96.0, HealthState.CRITICAL),
    ("error_rate", 0.3, HealthState.WARNING),
    ("memory_percent", 50.0, HealthState.HEALTHY),
])
def test_every_metric_counts(field: str, value: float, state: HealthState) -> None:
    mon, _ = monitor(Clock())
    mon.update(Readings(**{field: value}))
    assert mon.state is state


def test_error_rate_is_smoothed_and_forgets() -> None:
    clock = Clock()
    rate = ErrorRate(half_life_s=60.0, clock=clock)
    rate.record(True)
    assert rate.value() == 0.0  # one failure of one job is not a trend
    for _ in range(9):
        rate.record(False)
    assert rate.value() == pytest.approx(0.1)
    for _ in range(10):
        rate.record(True)
    assert rate.value() == pytest.approx(0.55)
    clock.advance(60.0)  # old outcomes weigh half; new successes pull the rate down faster
    for _ in range(10):
        rate.record(False)
    assert rate.value() == pytest.approx(5.5 / 20.0)
    clock.advance(6000.0)
    assert rate.value() == 0.0  # everything forgotten: below the minimum weight


def test_failing_jobs_drive_the_state_through_the_error_rate() -> None:
    clock = Clock()
    mon, seen = monitor(clock)
    for _ in range(10):
        mon.record_job(failed=True)
    mon.update(Readings())
    assert mon.state is HealthState.CRITICAL
    assert "error_rate" in seen[0].reasons[0]


def test_critical_refuses_gpu_jobs_but_not_cpu_jobs() -> None:
    clock = Clock()
    mon, _ = monitor(clock)
    mon.admit("generate", "gpu")
    mon.update(Readings(cpu_percent=99.0))
    mon.admit("analyze", "cpu")
    with pytest.raises(Busy, match="critical health.*cpu_percent") as info:
        mon.admit("generate", "gpu")
    assert info.value.retry_after_s >= 1.0


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    clock = Clock()
    mon, seen = monitor(clock)

    def broken(_):
        raise RuntimeError("boom")

    mon._listeners.insert(0, broken)
    mon.update(Readings(cpu_percent=99.0))
    assert len(seen) == 1


def test_a_level_of_zero_is_never_entered() -> None:
    mon = HealthMonitor(HealthConfig(cpu_critical=0.0, cpu_warning=0.0))
    mon.update(Readings(cpu_percent=100.0))
    assert mon.state is HealthState.HEALTHY
    assert HealthMonitor(HealthConfig()).update(Readings(cpu_percent=100.0)).state is HealthState.WARNING


def test_system_probe_reads_this_machine() -> None:
    probe = SystemProbe(queue_depth=lambda: 3, loop_lag=lambda: 0.01)
    r = probe()
    assert 0.0 <= r.cpu_percent <= 100.0 * 64
    assert 0.0 < r.memory_percent < 100.0
    assert r.queue_depth == 3.0 and r.loop_lag_s == 0.01
    assert r.gpu_memory_percent is None  # torch is not imported by this test


def test_only_server_side_faults_count_in_the_error_rate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Jobs through the real queue and the service's listener: a missing file, a missing model, a bad
    argument or a refused path leave health alone; a crash inside a capability counts."""
    import asyncio

    from grym_bridge.app import build_services
    from grym_bridge.config import load_config
    from grym_bridge.errors import AudioFileError, BadRequest, ModelUnavailable, PathNotAllowed
    from grym_bridge.orchestrator.jobs import JobState

    config = load_config(None, {"data_dir": str(tmp_path / "data")}, environ={})

    async def main() -> tuple[float, float, HealthState]:
        services = build_services(config)  # the root hooks health into the job queue
        jobs = services.jobs
        await jobs.start()
        service = services.orchestrator

        async def run_all(errors: list[BaseException | None]) -> None:
            submitted = []
            for err in errors:
                def work(job, err=err):  # type: ignore[no-untyped-def]
                    if err is not None:
                        raise err
                    return "ok"
                submitted.append(jobs.submit("t", work))
            while any(jobs.get(j.id).state in (JobState.QUEUED, JobState.RUNNING) for j in submitted):
                await asyncio.sleep(0.01)

        await run_all([None, AudioFileError("x.wav: no such file"), ModelUnavailable("no weights"),
                       BadRequest("bad"), PathNotAllowed("outside"), None] * 3)
        clients = service.health.errors.value()
        await run_all([RuntimeError("a capability crashed")] * 6)
        faults = service.health.errors.value()
        state = service.health.update(Readings(cpu_percent=1.0)).state
        await jobs.stop()
        return clients, faults, state

    clients, faults, state = asyncio.run(main())
    assert clients == 0.0
    assert faults > 0.3 and state is not HealthState.HEALTHY
