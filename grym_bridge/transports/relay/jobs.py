"""The relay's jobs: which bridge runs each, under which id the client knows it, and moving queued ones.

With several bridges the relay routes each job, not each client: a client's
two generations can run on two GPU boxes at once. The client must not notice:
it sees one job id per job however many bridges there are (`JobTable` maps
`(bridge, the bridge's id)` to the relay's id, keeping the bridge's own id when
it is free, so with one bridge nothing changes). A job a bridge had queued but
not started (no progress yet) when that bridge went away is sent again to
another bridge under the same id; a job that had started fails with
`bridge_lost` (running it twice could write twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Hashable


@dataclass(eq=False)
class RelayJob:
    """One job as the relay sees it."""

    address: str
    args: list[Any]  # as the client sent them (its local paths, its request id first)
    owner: Any  # the relay session (one local client)
    local_id: int | None = None
    target: Hashable | None = None
    remote_id: int | None = None
    started: bool = False
    cancel_asked: bool = False  # the client asked to cancel it (a cancel it did not ask for is a bridge stopping)
    tried: set[Hashable] = field(default_factory=set)


class JobTable:
    """Every job the relay placed, by the relay's id and by `(bridge, bridge's id)`."""

    def __init__(self) -> None:
        self._by_local: dict[int, RelayJob] = {}
        self._by_remote: dict[tuple[Hashable, int], RelayJob] = {}
        self._pending: dict[tuple[Hashable, str], RelayJob] = {}  # sent, waiting for /grym/job/queued

    def expect(self, target: Hashable, req_id: Any, job: RelayJob) -> None:
        """`job` was sent to `target` under request id `req_id`."""
        job.target = target
        job.tried.add(target)
        self._pending[(target, str(req_id))] = job

    def queued(self, target: Hashable, owner: Any, req_id: Any, remote_id: Any) -> tuple[RelayJob, bool]:
        """The bridge queued a job: `(job, moved)`; `moved` when the client already knows it (a re-send)."""
        job = self._pending.pop((target, str(req_id)), None)
        if job is None:  # a job the relay did not route itself (sent on the client's own connection)
            job = RelayJob("", [], owner, target=target)
        moved = job.local_id is not None
        job.target, job.remote_id = target, int(remote_id)
        if not moved:
            job.local_id = self._free_id(int(remote_id))
            self._by_local[job.local_id] = job
        self._by_remote[(target, job.remote_id)] = job
        return job, moved

    def _free_id(self, wanted: int) -> int:
        if wanted not in self._by_local:
            return wanted
        return max(self._by_local) + 1

    def remote(self, target: Hashable, remote_id: Any) -> RelayJob | None:
        try:
            return self._by_remote.get((target, int(remote_id)))
        except (TypeError, ValueError):
            return None

    def local(self, local_id: Any) -> RelayJob | None:
        try:
            return self._by_local.get(int(local_id))
        except (TypeError, ValueError):
            return None

    def finish(self, job: RelayJob) -> None:
        self._by_local.pop(job.local_id, None)  # type: ignore[arg-type]
        self._by_remote.pop((job.target, job.remote_id), None)  # type: ignore[arg-type]

    def leave(self, job: RelayJob) -> None:
        """`job`'s bridge went away: forget where it was (it is moved or failed next)."""
        self._by_remote.pop((job.target, job.remote_id), None)  # type: ignore[arg-type]
        for key, pending in list(self._pending.items()):
            if pending is job:
                del self._pending[key]

    def on(self, target: Hashable, owner: Any) -> list[RelayJob]:
        """`owner`'s jobs on `target`, queued or pending, in the order they were given."""
        jobs = {id(j): j for j in (*self._by_remote.values(), *self._pending.values())
                if j.target == target and j.owner is owner}
        return sorted(jobs.values(), key=lambda j: j.local_id if j.local_id is not None else 1 << 62)

    def load(self, target: Hashable) -> int:
        """Jobs the relay has on `target` now (running, queued, or just sent)."""
        return sum(1 for j in self._by_remote.values() if j.target == target) + sum(
            1 for (t, _) in self._pending if t == target)

    def placed(self) -> dict[int, Any]:
        """The relay's job ids and the bridge each is on (for `/grym/relay/status`)."""
        return {i: j.target for i, j in self._by_local.items()}
