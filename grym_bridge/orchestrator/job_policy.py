"""Fairness rules of the job queue: whose job it is, and how long a refused client should wait.

Ownership. A job belongs to the client that started it (the router's
`Peer.key`: a UDP socket, a TCP or RPC connection) and to the same token
holder over other transports. A client on another machine has presented the
studio token to talk at all (the OSC gate and the RPC hello see to it), so
the token holder on that host owns its jobs over any transport; this
machine's own processes need no token and are one holder (REAPER's actions
cancel through a second `grym call` process). `jobs.cancel_by`: `host` (the
default, as just said), `owner` (only the very socket or connection) or
`anyone`.

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

CANCEL_POLICIES = ("host", "owner", "anyone")
#: Transports whose peer keys are (transport, host, ...): the host is key[1].
_NETWORK_TRANSPORTS = ("udp", "tcp", "rpc")
#: What a job of a name never seen before is expected to take, in seconds.
DEFAULT_EXPECTED_S = 1.0


def _host(peer: Any) -> str | None:
    """The address of the machine a peer talks from: key[1] of OSC and RPC peers, `host` of HTTP ones."""
    key = getattr(peer, "key", None)
    if isinstance(key, tuple) and len(key) >= 2 and key[0] in _NETWORK_TRANSPORTS:
        return str(key[1])
    host = getattr(peer, "host", None)
    return host if isinstance(host, str) and host else None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def machine(peer: Any) -> Hashable | None:
    """The machine behind `peer`, the same over every transport: its address, or `local` for this one.

    A remote machine's clients presented the studio token to talk at all: the
    address stands for that token holder. Loopback clients and MIDI ports
    are this machine's.
    """
    key = getattr(peer, "key", None)
    if isinstance(key, tuple) and key[:1] == ("midi",):
        return "local"
    host = _host(peer)
    if host is None:
        return None
    return "local" if _is_loopback(host) else ("token", host)


def same_client(owner: Any, peer: Any, policy: str = "host") -> bool:
    """Whether `peer` may act on a job `owner` started, under `jobs.cancel_by` = `policy`."""
    if policy == "anyone" or owner is None:
        return True  # a job no client started (the CLI's own) is nobody's to guard
    if peer is None:
        return False
    if getattr(owner, "key", object()) == getattr(peer, "key", None):
        return True
    return policy == "host" and machine(owner) is not None and machine(owner) == machine(peer)


def check_owner(job: Any, peer: Any, policy: str, action: str = "cancel") -> None:
    """Raise `forbidden` unless `peer` may `action` the job (see `same_client`)."""
    if not same_client(job.owner, peer, policy):
        raise GrymError(f"job {job.id} belongs to the client that started it (and its host's other clients); "
                        f"you may not {action} it (jobs.cancel_by in the config can allow anyone)",
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
