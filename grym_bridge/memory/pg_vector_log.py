"""The PostgreSQL side of `VectorLog`: how each bridge's local index follows a shared database.

Without the `vector` extension every bridge searches its own usearch index
(`index_files.IndexKeeper`), fed from the `vector_changes` log. A log's order
must be its commit order, or a reader could move past a change that commits
later with a smaller number; so every write that logs a vector change first
takes a transaction-scoped advisory lock (`lock_log`), which also works
through PgBouncer in transaction mode.
"""

from __future__ import annotations

from typing import Any

from grym_bridge.memory.pg_database import PgDatabase
from grym_bridge.memory.pg_schema import LOCK_KEY
from grym_bridge.memory.vector_log import COMPACT_SLACK, last_op_per_clip

LOG_LOCK_KEY = LOCK_KEY + 1


def lock_log(conn: Any) -> None:
    """Serialize logged vector changes until this transaction ends (see the module docstring)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOG_LOCK_KEY,))


def log_changes(conn: Any, clip_id: int, changes: list[tuple[str, str]]) -> None:
    """Append `(space, op)` changes of one clip to the log, in commit order."""
    if not changes:
        return
    lock_log(conn)
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO vector_changes (space, clip_id, op) VALUES (%s, %s, %s)",
                        [(space, clip_id, op) for space, op in changes])


class PgVectorLog:
    """`VectorLog` over the shared database's `vectors`, `vector_changes` and `meta` tables."""

    def __init__(self, db: PgDatabase) -> None:
        self._db = db

    def generation(self) -> Any:
        return self._db.generation()

    def _meta(self, key: str) -> str:
        with self._db.read() as conn:
            return str(conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()[0])

    def store_id(self) -> str:
        return self._meta("store_id")

    def log_floor(self) -> int:
        return int(self._meta("vector_log_floor"))

    @staticmethod
    def _last_seq(conn: Any) -> int:
        row = conn.execute("SELECT max(seq) FROM vector_changes").fetchone()
        if row[0] is not None:
            return int(row[0])
        return int(conn.execute("SELECT value FROM meta WHERE key = 'vector_log_floor'").fetchone()[0])

    def last_seq(self) -> int:
        with self._db.read() as conn:
            return self._last_seq(conn)

    def changes_since(self, space: str, seq: int) -> tuple[int, dict[int, bytes | None]]:
        with self._db.read() as conn:
            rows = conn.execute("SELECT seq, clip_id, op FROM vector_changes WHERE seq > %s AND space = %s ORDER BY seq",
                                (seq, space)).fetchall()
            if not rows:
                return seq, {}
            last_op = last_op_per_clip(rows)
            puts = [c for c, op in last_op.items() if op == "put"]
            vectors = {int(c): bytes(v) for c, v in conn.execute(
                "SELECT clip_id, vec FROM vectors WHERE space = %s AND clip_id = ANY(%s)", (space, puts)).fetchall()}
        return int(rows[-1][0]), {c: vectors.get(c) if op == "put" else None for c, op in last_op.items()}

    def snapshot(self, space: str) -> tuple[int, list[tuple[int, bytes]]]:
        with self._db.guard() as conn:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # the log and vectors agree
                seq = self._last_seq(conn)
                rows = conn.execute("SELECT clip_id, vec FROM vectors WHERE space = %s ORDER BY clip_id",
                                    (space,)).fetchall()
        return seq, [(int(c), bytes(v)) for c, v in rows]

    def has_vectors(self, space: str) -> bool:
        with self._db.read() as conn:
            return conn.execute("SELECT 1 FROM vectors WHERE space = %s LIMIT 1", (space,)).fetchone() is not None

    def compact(self, floor: int) -> int:
        # Every bridge reads this log: compact only below what they all could have applied is unknowable
        # here, so keep a generous slack; a bridge that falls behind the floor rebuilds its index.
        with self._db.read() as conn:
            live = conn.execute("SELECT count(*) FROM vectors").fetchone()[0]
            logged = conn.execute("SELECT count(*) FROM vector_changes WHERE seq <= %s", (floor,)).fetchone()[0]
        if logged < 2 * live + COMPACT_SLACK:
            return 0
        with self._db.write() as conn:
            lock_log(conn)
            conn.execute("DELETE FROM vector_changes WHERE seq <= %s", (floor,))
            conn.execute("UPDATE meta SET value = %s WHERE key = 'vector_log_floor'", (str(floor),))
        return int(logged)
