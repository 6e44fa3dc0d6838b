"""The job model: a bounded queue, workers per resource class, progress, cancel, timeouts.

Long work (analysis, rendering, generation) never runs on the event loop. A
transport submits a work function; it runs in a worker thread of its resource
class ("cpu" or "gpu"), reports progress through `JobContext.progress`, and
its result (anything `results.to_jsonable` understands) is kept for a while
so clients can ask for it again.

Cancellation is cooperative: `progress()` raises `Cancelled` once the job was
cancelled, so work functions stop at their next progress report. A job that
overruns its timeout is marked failed at once; its thread is told to stop the
same way.

Everything public here is called on the event loop thread, except
`JobContext`'s methods, which worker threads call.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from grym_bridge import cancel
from grym_bridge.config import JobsConfig
from grym_bridge.errors import Busy, Cancelled, GrymError, JobTimeout, NotFound, error_code, error_message, is_disk_full
from grym_bridge.orchestrator.job_policy import DurationStats, estimate_wait
from grym_bridge.results import to_jsonable

log = logging.getLogger(__name__)

RESOURCE_CLASSES = ("cpu", "gpu")
#: Progress events per job are sent at most this often (the first and last always go out).
PROGRESS_INTERVAL_S = 0.05


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    CANCELLED = "cancelled"


FINISHED = {JobState.DONE, JobState.ERROR, JobState.CANCELLED}


@dataclass
class Job:
    """One unit of long work and everything a client may ask about it."""

    id: int
    name: str
    resource: str
    work: Callable[["JobContext"], Any] = field(repr=False)
    owner: Any = field(default=None, repr=False)
    timeout_s: float | None = None
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    message: str = ""
    result: Any = None
    error_code: str | None = None
    error_message: str | None = None
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)

    def status(self) -> dict[str, Any]:
        """The job as JSON for `/grym/job/status` and `grym` commands."""
        return {
            "job_id": self.id,
            "name": self.name,
            "resource": self.resource,
            "state": self.state.value,
            "progress": round(self.progress, 4),
            "message": self.message,
            "result": self.result,
            "error": None if self.error_code is None else {"code": self.error_code, "message": self.error_message},
        }


class JobContext:
    """What a work function sees: its id, progress reporting and the cancel flag."""

    def __init__(self, job: Job, queue: "JobQueue") -> None:
        self._job = job
        self._queue = queue
        self._last_emit = 0.0

    @property
    def id(self) -> int:
        return self._job.id

    @property
    def cancelled(self) -> bool:
        return self._job.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise `Cancelled` if the job was cancelled."""
        if self._job.cancel_event.is_set():
            raise Cancelled(f"job {self._job.id} was cancelled")

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress (0..1) and stop here with `Cancelled` if the job was cancelled."""
        self.check_cancelled()
        fraction = min(1.0, max(0.0, float(fraction)))
        now = time.monotonic()
        changed = message != self._job.message
        if changed or fraction >= 1.0 or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit = now
            self._queue._from_thread(self._job, fraction, message)


Listener = Callable[[str, Job], None]


def _retrieve(future: "asyncio.Future[Any]") -> None:
    """Take the outcome of a job thread nobody awaits any more (timed out, or the server stopping),
    so asyncio does not log it as a "Future exception was never retrieved" traceback."""
    if not future.cancelled():
        future.exception()


class JobQueue:
    """A bounded queue of jobs with a worker pool per resource class."""

    def __init__(self, config: JobsConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._waiting = 0
        self._queues: dict[str, asyncio.Queue[Job]] = {}
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[Listener] = []
        #: Called before a job is accepted; raise `Busy` to refuse it (the health monitor uses this).
        self.admission: Callable[[str, str], None] | None = None
        self.completed = 0
        self.failed = 0
        #: How long jobs of each name took lately (the busy hint's estimate).
        self.durations = DurationStats()
        #: Jobs whose work ran past their timeout and still holds a worker thread, by id.
        self._hung: dict[int, Job] = {}

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        """Start the workers on the running event loop."""
        self._loop = asyncio.get_running_loop()
        sizes = {"cpu": self.config.cpu_workers, "gpu": self.config.gpu_workers}
        for resource, size in sizes.items():
            self._queues[resource] = asyncio.Queue()
            self._pools[resource] = ThreadPoolExecutor(size, thread_name_prefix=f"grym-{resource}")
            for _ in range(size):
                self._workers.append(asyncio.create_task(self._worker(resource)))

    async def stop(self, reason: str = "server shutting down") -> list[Job]:
        """Cancel every unfinished job (reporting each to listeners) and stop the workers."""
        stopped = [j for j in self._jobs.values() if j.state not in FINISHED]
        for job in stopped:
            job.cancel_event.set()
            self._finish(job, JobState.CANCELLED, error=Cancelled(f"job {job.id} cancelled: {reason}"))
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        return stopped

    def add_listener(self, listener: Listener) -> None:
        """`listener(event, job)` is called on the loop for `queued`, `started`, `progress`, `done`,
        `error` and `cancelled`."""
        self._listeners.append(listener)

    # -- requests ------------------------------------------------------------

    def submit(
        self,
        name: str,
        work: Callable[[JobContext], Any],
        *,
        resource: str = "cpu",
        owner: Any = None,
        timeout_s: float | None = None,
    ) -> Job:
        """Queue `work`; raise `Busy` with a retry-after hint when the queue is full."""
        if resource not in RESOURCE_CLASSES:
            raise ValueError(f"unknown resource class {resource!r}; use one of {RESOURCE_CLASSES}")
        if not self._queues:
            raise RuntimeError("JobQueue.start() was not awaited")
        if self.admission is not None:
            self.admission(name, resource)
        if self._waiting >= self.config.queue_size:
            raise Busy(
                f"the job queue is full ({self.config.queue_size} jobs waiting); retry in a moment",
                retry_after_s=self.retry_after(resource),
            )
        self.expire()
        job = Job(
            id=next(self._ids),
            name=name,
            resource=resource,
            work=work,
            owner=owner,
            timeout_s=timeout_s if timeout_s is not None else self.config.timeout_s,
        )
        self._jobs[job.id] = job
        self._waiting += 1
        self._queues[resource].put_nowait(job)
        self._emit("queued", job)
        return job

    def get(self, job_id: int) -> Job:
        try:
            return self._jobs[int(job_id)]
        except (KeyError, ValueError):
            raise NotFound(f"no job {job_id!r}: it never existed or its result expired") from None

    def cancel(self, job_id: int) -> Job:
        """Cancel a queued or running job; a finished job is returned unchanged."""
        job = self.get(job_id)
        if job.state in FINISHED:
            return job
        job.cancel_event.set()
        if job.state is JobState.QUEUED:
            self._waiting -= 1
        self._finish(job, JobState.CANCELLED, error=Cancelled(f"job {job.id} was cancelled"))
        return job

    def depth(self) -> int:
        """Jobs waiting to start."""
        return self._waiting

    def running(self) -> list[Job]:
        return [j for j in self._jobs.values() if j.state is JobState.RUNNING]

    def active(self) -> list[Job]:
        return [j for j in self._jobs.values() if j.state not in FINISHED]

    # -- internals ---------------------------------------------------------------

    def retry_after(self, resource: str = "cpu") -> float:
        """Seconds until a `resource` worker would be free for a job queued now: the busy hint.

        From the jobs running on that lane (their expected time left, hung ones
        included) and the jobs waiting ahead, each expected to take what jobs
        of its name took lately; at least 0.5 s, at most `jobs.retry_after_max_s`.
        """
        now = self._clock()
        running = [(self._expected(j), now - (j.started or now)) for j in self.running() if j.resource == resource]
        # A hung job has overrun already: guess it holds its worker about one more run of its kind.
        running += [(now - (j.started or now) + self._expected(j), now - (j.started or now))
                    for j in self._hung.values() if j.resource == resource]
        waiting = [self._expected(j) for j in sorted(self._jobs.values(), key=lambda j: j.id)
                   if j.state is JobState.QUEUED and j.resource == resource]
        workers = self.config.cpu_workers if resource == "cpu" else self.config.gpu_workers
        wait = estimate_wait(running, waiting, workers)
        return round(min(max(0.5, wait), self.config.retry_after_max_s), 2)

    def _expected(self, job: Job) -> float:
        return self.durations.expected(job.name, job.resource)

    def hung(self) -> list[dict[str, Any]]:
        """Workers still busy with a job that ran past its timeout (or was cancelled and never stopped)."""
        now = self._clock()
        return [{"job_id": j.id, "name": j.name, "resource": j.resource, "state": j.state.value,
                 "timeout_s": j.timeout_s, "running_s": round(now - (j.started or now), 1), "hung": True}
                for j in self._hung.values()]

    def hung_count(self) -> int:
        """How many workers are hung now (safe to read from any thread)."""
        return len(self._hung)

    async def _hold_hung(self, job: Job, future: "asyncio.Future[Any]") -> None:
        """Keep this worker on a job that overran its timeout until its thread lets go, and say so.

        Python cannot stop a thread: the work goes on until its next progress
        report (or forever). Until then the worker is not free, so it takes no
        new job (which would only wait for the thread), and `hung()`,
        `/grym/job/list` and health report it.
        """
        self._hung[job.id] = job
        log.warning("job %s (%s) ran past its timeout of %g s and is still running; its %s worker is held "
                    "until it stops", job.id, job.name, job.timeout_s, job.resource)
        try:
            await asyncio.wait([future])
        finally:
            self._hung.pop(job.id, None)
        log.info("job %s (%s): the overrunning work stopped after %.1f s; its worker is free again",
                 job.id, job.name, self._clock() - (job.started or self._clock()))

    def expire(self) -> int:
        """Forget finished jobs older than `result_ttl_s`; return how many were forgotten."""
        cutoff = self._clock() - self.config.result_ttl_s
        stale = [k for k, j in self._jobs.items() if j.finished is not None and j.finished < cutoff]
        for job_id in stale:
            del self._jobs[job_id]
        return len(stale)

    async def _worker(self, resource: str) -> None:
        queue = self._queues[resource]
        loop = asyncio.get_running_loop()
        while True:
            job = await queue.get()
            if job.state is not JobState.QUEUED:  # cancelled while waiting
                continue
            self._waiting -= 1
            job.state = JobState.RUNNING
            job.started = self._clock()
            self._emit("started", job)
            ctx = JobContext(job, self)
            future = loop.run_in_executor(self._pools[resource], self._run, job, ctx)
            future.add_done_callback(lambda _f, job=job: self.durations.record(
                job.name, job.resource, self._clock() - (job.started or self._clock())))
            try:
                result = await asyncio.wait_for(asyncio.shield(future), job.timeout_s)
            except asyncio.TimeoutError:
                job.cancel_event.set()
                future.add_done_callback(_retrieve)  # the thread stops at its next checkpoint
                self._finish(job, JobState.ERROR, error=JobTimeout(
                    f"job {job.id} ({job.name}) ran longer than {job.timeout_s:g} s and was told to stop; "
                    "raise jobs.timeout_s in the config for longer work"))
                if not future.done():
                    await self._hold_hung(job, future)
                continue
            except asyncio.CancelledError:
                job.cancel_event.set()
                # The thread ends on its own (with Cancelled, at its next checkpoint); take its outcome
                # so asyncio does not log it as a "Future exception was never retrieved" at shutdown.
                future.add_done_callback(_retrieve)
                raise
            except BaseException as exc:  # noqa: BLE001 - every failure is reported to the client
                if isinstance(exc, Cancelled) or job.cancel_event.is_set():
                    self._finish(job, JobState.CANCELLED, error=Cancelled(f"job {job.id} was cancelled"))
                else:
                    if is_disk_full(exc):
                        log.warning("job %s (%s): the disk is full (%s)", job.id, job.name, exc)
                    elif not isinstance(exc, GrymError):
                        log.error("job %s (%s) failed", job.id, job.name, exc_info=exc)
                    self._finish(job, JobState.ERROR, error=exc)
                continue
            if job.cancel_event.is_set():
                self._finish(job, JobState.CANCELLED, error=Cancelled(f"job {job.id} was cancelled"))
            else:
                self._finish(job, JobState.DONE, result=result)

    @staticmethod
    def _run(job: Job, ctx: JobContext) -> Any:
        # The scope lets deep loops (hashing, decoding, scans) stop at `cancel.checkpoint()` once the
        # job is cancelled or timed out, and gives back the decoded-audio budget the job took.
        with cancel.scope(ctx.check_cancelled):
            # Convert in the worker thread: a large result must not stall the event loop.
            return to_jsonable(job.work(ctx))

    def _finish(self, job: Job, state: JobState, *, result: Any = None, error: BaseException | None = None) -> None:
        if job.state in FINISHED:
            return
        job.state = state
        job.finished = self._clock()
        if state is JobState.DONE:
            job.result = result
            job.progress = 1.0
            self.completed += 1
        else:
            job.error_code = error_code(error) if error else state.value
            job.error_message = error_message(error) if error else state.value
            if state is JobState.ERROR:
                self.failed += 1
        self._emit("done" if state is JobState.DONE else state.value, job)

    def _from_thread(self, job: Job, fraction: float, message: str) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._progress, job, fraction, message)

    def _progress(self, job: Job, fraction: float, message: str) -> None:
        if job.state is not JobState.RUNNING:
            return
        job.progress, job.message = fraction, message
        self._emit("progress", job)

    def _emit(self, event: str, job: Job) -> None:
        for listener in self._listeners:
            try:
                listener(event, job)
            except Exception:  # noqa: BLE001 - one bad listener must not starve the others
                log.exception("job listener failed on %s for job %s", event, job.id)
