"""One SQLite connection shared by a process's threads, and the two ways in: read or write.

Every write is one `BEGIN IMMEDIATE ... COMMIT`; `write()` returns only after
COMMIT, so its caller may acknowledge the write. SQLite's own exceptions never
leave this module: a damaged file becomes `MemoryCorrupt`, a lock held too long
by another process `Busy`.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from grym_bridge.errors import BadRequest, Busy, disk_full, is_disk_full
from grym_bridge.memory import schema
from grym_bridge.memory.schema import MemoryCorrupt


class Database:
    """The connection, its lock, and error translation."""

    def __init__(self, path: Path, *, synchronous: str = "full") -> None:
        self.path = path
        self.conn = schema.connect(path, synchronous=synchronous)
        # One connection and a lock: each statement takes microseconds, so a pool buys nothing.
        self.lock = threading.RLock()
        self.closed = False
        self.writes = 0  # commits made through this object, for `generation()`

    @contextmanager
    def guard(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, with SQLite's errors turned into ones a user can act on."""
        if self.closed:
            raise BadRequest(f"the memory {self.path} is closed")
        with self.lock:
            try:
                yield self.conn
            except sqlite3.OperationalError as exc:
                if is_disk_full(exc):  # SQLITE_FULL: the write was rolled back, the database is healthy
                    raise disk_full(exc, f"the memory {self.path}") from None
                if "locked" in str(exc) or "busy" in str(exc):
                    raise Busy(f"the memory {self.path} is busy with another process's write; retry") from None
                raise MemoryCorrupt(f"the memory {self.path} failed: {exc}") from None
            except sqlite3.IntegrityError as exc:
                raise BadRequest(f"the memory refused a write that conflicts with what it holds ({exc})") from None
            except sqlite3.DatabaseError as exc:
                if is_disk_full(exc):
                    raise disk_full(exc, f"the memory {self.path}") from None
                raise MemoryCorrupt(
                    f"the memory database {self.path} is damaged ({exc}); it was left untouched: move it aside "
                    "or restore a backup"
                ) from None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; returns after COMMIT."""
        with self.guard() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self.writes += 1

    def data_version(self) -> int:
        """Changes whenever another connection commits (`PRAGMA data_version`)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def generation(self) -> tuple[int, int]:
        """Changes whenever anything is committed, by this process or another."""
        with self.lock:
            return self.data_version(), self.writes

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.conn.close()
