"""Cleanup by age and total size, the model budget, job-result expiry."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from grym_bridge.config import Config, JobsConfig
from grym_bridge.errors import NotFound
from grym_bridge.orchestrator.health import HealthState, Transition
from grym_bridge.orchestrator.jobs import JobQueue
from grym_bridge.models.registry import MemoryBudget
from grym_bridge.orchestrator.resources import ResourceManager, cleanup_folder, shed_models

DAY = 86400.0
NOW = 1_800_000_000.0


def write(path: Path, size: int, age_s: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    os.utime(path, (NOW - age_s, NOW - age_s))
    return path


def test_cleanup_by_age_removes_old_renders_with_their_sidecars(tmp_path: Path) -> None:
    old = write(tmp_path / "old.wav", 1000, 40 * DAY)
    old_side = write(tmp_path / "old.json", 100, 40 * DAY)
    old_side2 = write(tmp_path / "sub" / "older.wav.json", 100, 50 * DAY)
    write(tmp_path / "sub" / "older.wav", 100, 50 * DAY)
    fresh = write(tmp_path / "fresh.wav", 1000, 1 * DAY)
    fresh_side = write(tmp_path / "fresh.json", 100, 1 * DAY)
    report = cleanup_folder(tmp_path, max_age_s=30 * DAY, now=NOW)
    assert not old.exists() and not old_side.exists() and not old_side2.exists()
    assert fresh.exists() and fresh_side.exists()
    assert len(report.removed) == 4 and report.freed_bytes == 1300
    assert report.kept_files == 2 and report.kept_bytes == 1100
    assert all("older than 30 days" in r for r in report.reasons)


def test_cleanup_by_total_size_removes_the_oldest_first(tmp_path: Path) -> None:
    files = [write(tmp_path / f"take{i}.wav", 1000, (10 - i) * 3600) for i in range(10)]  # take0 oldest
    report = cleanup_folder(tmp_path, max_total_bytes=3500, now=NOW)
    assert [f.exists() for f in files] == [False] * 7 + [True] * 3
    assert report.kept_bytes == 3000 and report.freed_bytes == 7000
    # a sidecar counts with its render: a group is kept or removed whole
    side = write(tmp_path / "take9.json", 600, 0)
    cleanup_folder(tmp_path, max_total_bytes=3500, now=NOW)
    assert files[7].exists() is False and files[9].exists() and side.exists()


def test_cleanup_keeps_protected_files_and_tolerates_missing_folders(tmp_path: Path) -> None:
    busy = write(tmp_path / "busy.wav", 1000, 99 * DAY)
    report = cleanup_folder(tmp_path, max_age_s=DAY, now=NOW, protect=lambda p: p == busy)
    assert busy.exists() and report.removed == []
    assert cleanup_folder(tmp_path / "nope", max_age_s=1, now=NOW).removed == []
    # no limits: nothing goes
    write(tmp_path / "x.wav", 10, 999 * DAY)
    assert cleanup_folder(tmp_path, now=NOW).removed == []


def test_resource_manager_cleans_renders_and_temp_files(config: Config) -> None:
    config.resources.renders_max_age_days = 7
    config.resources.renders_max_total_mb = 0
    config.resources.temp_max_age_hours = 1
    renders = config.renders_dir()
    old_render = write(renders / "a.wav", 10, 8 * DAY)
    new_render = write(renders / "b.wav", 10, 6 * DAY)
    old_tmp = write(config.data_dir / "tmp" / "x.tmp", 10, 2 * 3600)
    old_result = write(config.data_dir / "results" / "job-1.json", 10, 2 * 3600)
    new_tmp = write(config.data_dir / "tmp" / "y.tmp", 10, 60)
    manager = ResourceManager(config, clock=lambda: NOW)
    manager.in_use.add(new_render)
    report = manager.cleanup()
    assert not old_render.exists() and not old_tmp.exists() and not old_result.exists()
    assert new_render.exists() and new_tmp.exists()
    assert len(report.removed) == 3


def test_shed_models_unloads_least_recently_used_beyond_the_budget() -> None:
    budget = MemoryBudget(1000)
    freed: list[str] = []
    for name, size in (("a", 400), ("b", 400), ("c", 150)):
        budget.acquire(name, lambda n=name: n, size, freed.append)
    budget.acquire("a", lambda: "a", 400)  # a used again: b is now the least recently used
    assert shed_models(budget) == []  # 950 fits 1000
    assert shed_models(budget, 600) == ["b"] and freed == ["b"]
    assert budget.keys() == ["c", "a"]


def test_critical_health_unloads_models_over_the_budget(config: Config) -> None:
    budget = MemoryBudget(100)
    freed: list[str] = []
    budget.acquire("huge", lambda: "huge", 500, freed.append)  # larger than the budget: loads alone
    manager = ResourceManager(config, models=lambda: budget)
    manager.on_health(Transition(HealthState.HEALTHY, HealthState.WARNING, 0.0, ()))
    assert freed == []
    manager.on_health(Transition(HealthState.WARNING, HealthState.CRITICAL, 0.0, ()))
    assert freed == ["huge"] and budget.keys() == []
    ResourceManager(config).on_health(Transition(HealthState.WARNING, HealthState.CRITICAL, 0.0, ()))


def test_expired_job_results_are_forgotten(config: Config) -> None:
    now = [100.0]
    jobs = JobQueue(JobsConfig(result_ttl_s=60.0), clock=lambda: now[0])

    async def run() -> str:
        await jobs.start()
        job = jobs.submit("t", lambda ctx: {"ok": True})
        while jobs.get(job.id).finished is None:
            await asyncio.sleep(0.01)
        await jobs.stop()
        return job.id

    job_id = asyncio.run(run())
    manager = ResourceManager(config, jobs=jobs)
    assert manager.expire_jobs() == 0
    now[0] += 61.0
    assert manager.expire_jobs() == 1
    with pytest.raises(NotFound):
        jobs.get(job_id)
