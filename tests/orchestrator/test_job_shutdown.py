"""Stopping the queue while a job's thread still runs: the thread's late `Cancelled` is not an error."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import pytest

from grym_bridge.config import Config
from grym_bridge.orchestrator.jobs import JobQueue


def test_a_job_thread_that_ends_after_stop_logs_nothing(config: Config, caplog: pytest.LogCaptureFixture) -> None:
    """`grym serve` stopping with a running job (the other transports still closing): no traceback in the log."""
    finished = []

    def work(ctx):  # type: ignore[no-untyped-def]
        time.sleep(0.3)
        finished.append(True)
        ctx.progress(0.5, "still here")  # raises Cancelled: the queue was stopped meanwhile

    async def body() -> list[int]:
        queue = JobQueue(config.jobs)
        await queue.start()
        queue.submit("slow", work)
        await asyncio.sleep(0.1)
        stopped = await queue.stop("server shutting down")
        await asyncio.sleep(0.5)  # the loop lives on while the thread ends (as while sockets close)
        gc.collect()
        await asyncio.sleep(0.05)
        return [j.id for j in stopped]

    with caplog.at_level(logging.ERROR):
        assert asyncio.run(body()) == [1]
    assert finished == [True]
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()], caplog.text
