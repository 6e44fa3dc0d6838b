"""Cooperative cancellation points that deep code reaches without a callback threaded through.

A job's worker thread runs its work inside `scope(check)`; long loops in the
foundation and the capabilities (hashing, decoding in blocks, folder scans,
bounded reads) call `checkpoint()`, which raises `Cancelled` once the job was
cancelled or timed out, so the worker is free again within a block. Outside a
scope (the CLI, tests) `checkpoint()` does nothing. A scope also carries what
the job holds of shared budgets (decoded audio bytes), released when it ends.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterator

_local = threading.local()


@dataclass
class Scope:
    """One job's cancellation check and the releases to run when it ends."""

    check: Callable[[], None]
    held: dict[str, int] = field(default_factory=dict)
    releases: list[Callable[[], None]] = field(default_factory=list)


@contextlib.contextmanager
def scope(check: Callable[[], None]) -> Iterator[Scope]:
    """Run the block as one job: `checkpoint()` calls `check`; budgets it took are given back at the end."""
    outer = getattr(_local, "scope", None)
    current = Scope(check)
    _local.scope = current
    try:
        yield current
    finally:
        _local.scope = outer
        for release in reversed(current.releases):
            release()


def current() -> Scope | None:
    """The scope of the job this thread runs, if any."""
    return getattr(_local, "scope", None)


def checkpoint() -> None:
    """Raise `Cancelled` if the job this thread runs was cancelled (no-op outside a job)."""
    s = getattr(_local, "scope", None)
    if s is not None:
        s.check()
