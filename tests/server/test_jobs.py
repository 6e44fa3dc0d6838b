"""The job queue on its own: timeouts, cancellation before start, expiry, admission."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from grym_bridge.config import JobsConfig
from grym_bridge.errors import Busy
from grym_bridge.orchestrator.jobs import JobQueue, JobState


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _wait(queue: JobQueue, job_id: int, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if queue.get(job_id).state not in (JobState.QUEUED, JobState.RUNNING):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("job did not finish")


def test_timeout_marks_the_job_failed_and_tells_it_to_stop() -> None:
    async def main() -> None:
        q = JobQueue(JobsConfig(timeout_s=0.2))
        await q.start()
        saw_cancel = threading.Event()

        def work(job: Any) -> None:
            while not job.cancelled:
                threading.Event().wait(0.01)
            saw_cancel.set()

        job = q.submit("sleepy", work)
        await _wait(q, job.id)
        assert job.state is JobState.ERROR and job.error_code == "timeout" and "jobs.timeout_s" in job.error_message
        assert saw_cancel.wait(2)
        await q.stop()

    run(main())


def test_cancel_before_start_never_runs_the_work() -> None:
    async def main() -> None:
        q = JobQueue(JobsConfig(cpu_workers=1))
        await q.start()
        gate = threading.Event()
        ran: list[int] = []
        first = q.submit("block", lambda job: gate.wait(5))
        second = q.submit("never", lambda job: ran.append(1))
        assert q.depth() == 1 or q.depth() == 2
        q.cancel(second.id)
        gate.set()
        await _wait(q, first.id)
        await asyncio.sleep(0.05)
        assert second.state is JobState.CANCELLED and ran == [] and q.depth() == 0
        await q.stop()

    run(main())


def test_results_expire_after_their_ttl() -> None:
    now = [100.0]

    async def main() -> None:
        q = JobQueue(JobsConfig(result_ttl_s=10.0), clock=lambda: now[0])
        await q.start()
        job = q.submit("quick", lambda j: 42)
        await _wait(q, job.id)
        assert q.get(job.id).result == 42
        now[0] += 11
        q.submit("another", lambda j: 1)
        with pytest.raises(Exception, match="expired"):
            q.get(job.id)
        await q.stop()

    run(main())


def test_admission_hook_can_refuse_work() -> None:
    async def main() -> None:
        q = JobQueue(JobsConfig())
        await q.start()

        def admit(name: str, resource: str) -> None:
            if resource == "gpu":
                raise Busy("health is critical: no new GPU jobs", retry_after_s=5)

        q.admission = admit
        assert q.submit("cpu work", lambda j: 1).resource == "cpu"
        with pytest.raises(Busy, match="critical"):
            q.submit("gpu work", lambda j: 1, resource="gpu")
        await q.stop()

    run(main())


def test_a_failing_work_function_reports_its_error() -> None:
    async def main() -> None:
        q = JobQueue(JobsConfig())
        await q.start()
        events: list[str] = []
        q.add_listener(lambda event, job: events.append(event))

        def work(job: Any) -> None:
            raise ZeroDivisionError("boom")

        job = q.submit("bad", work)
        await _wait(q, job.id)
        assert job.state is JobState.ERROR and job.error_code == "internal" and "boom" in job.error_message
        assert events[0] == "queued" and events[-1] == "error"
        await q.stop()

    run(main())
