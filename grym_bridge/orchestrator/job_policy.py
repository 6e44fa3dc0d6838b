"""Fairness rules of the job queue: whose job it is, and how long a refused client should wait.

Ownership. A job belongs to the client that started it: the same transport
connection or UDP socket (the router's `Peer.key`). A client on another
machine has presented the studio token to talk at all (the OSC gate and the
RPC hello see to it), so over any transport the token holder on that host is
the same owner: its jobs started over OSC may be cancelled over the RPC.
`jobs.cancel_by` widens this to every client on the same host (`host`) or to
anyone (`anyone`, the old behaviour).

Waiting. A client refused with `busy` gets `retry_after`: when a worker of
its lane would be free for its job, from the jobs running (their expected
time left) and the jobs waiting ahead of it, each expected to take what jobs
of its name took recently (`DurationStats`).
"""

from __future__ import annotations

import heapq
import ipaddress
import threading
from typing import Any, Hashable, Iterable

from grym_bridge.errors import GrymError

CANCEL_POLICIES = ("owner", "host", "anyone")
#: Transports whose peer keys are (transport, host, ...): the host is key[1].
_NETWORK_TRANSPORTS = ("udp", "tcp", "rpc")
#: What a job of a name never seen before is expected to take, in seconds.
DEFAULT_EXPECTED_S = 1.0


def _host(peer: Any) -> str | None:
    key = getattr(peer, "key", None)
    if isinstance(key, tuple) and len(key) >= 2 and key[0] in _NETWORK_TRANSPORTS:
        return str(key[1])
    return None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def principal(peer: Any) -> Hashable | None:
    """Who stands behind `peer` across transports: the token holder on a remote host, else None.

    Loopback clients need no token, so nothing ties one loopback socket to
    another: each is its own client.
    """
    host = _host(peer)
    if host is None or _is_loopback(host):
        return None
    return ("token", host)


def same_client(owner: Any, peer: Any, policy: str = "owner") -> bool:
    """Whether `peer` may act on a job `owner` started, under `jobs.cancel_by` = `policy`."""
    if policy == "anyone" or owner is None:
        return True  # a job no client started (the CLI's own) is nobody's to guard
    if peer is None:
        return False
    if getattr(owner, "key", object()) == getattr(peer, "key", None):
        return True
    mine = principal(owner)
    if mine is not None and mine == principal(peer):
        return True
    return policy == "host" and _host(owner) is not None and _host(owner) == _host(peer)


def check_owner(job: Any, peer: Any, policy: str, action: str = "cancel") -> None:
    """Raise `forbidden` unless `peer` may `action` the job (see `same_client`)."""
    if not same_client(job.owner, peer, policy):
        raise GrymError(f"job {job.id} belongs to the client that started it; only that client may {action} it "
                        "(jobs.cancel_by in the config can allow clients on the same host, or anyone)",
                        code="forbidden")


class DurationStats:
    """How long jobs of each name (and of each lane) took lately: a moving average, thread-safe."""

    def __init__(self, weight: float = 0.3) -> None:
        self.weight = weight
        self._by_name: dict[str, float] = {}
        self._by_lane: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, name: str, lane: str, seconds: float) -> None:
        seconds = max(0.0, float(seconds))
        with self._lock:
            for table, key in ((self._by_name, name), (self._by_lane, lane)):
                old = table.get(key)
                table[key] = seconds if old is None else old + self.weight * (seconds - old)

    def expected(self, name: str, lane: str) -> float:
        """Seconds a job of `name` is expected to run: its own average, its lane's, else a default."""
        with self._lock:
            return self._by_name.get(name, self._by_lane.get(lane, DEFAULT_EXPECTED_S))

    def to_dict(self) -> dict[str, float]:
        with self._lock:
            return {k: round(v, 3) for k, v in self._by_name.items()}


def estimate_wait(running: Iterable[tuple[float, float]], waiting: Iterable[float], workers: int) -> float:
    """Seconds until a worker is free for a job queued behind `waiting`.

    `running` holds (expected seconds, seconds run so far) of each job
    occupying a worker (hung ones included); `waiting` the expected seconds of
    each job ahead, in queue order. Workers take the queue first come, first
    served: each waiting job goes to the worker free soonest.
    """
    free = [max(0.0, expected - ran) for expected, ran in running]
    free = sorted(free)[:max(1, workers)]
    free += [0.0] * (max(1, workers) - len(free))
    heapq.heapify(free)
    for expected in waiting:
        heapq.heappush(free, heapq.heappop(free) + expected)
    return free[0]
