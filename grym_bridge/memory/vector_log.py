"""Where an `IndexKeeper` reads a store's vectors and their change log: the SQLite side.

`IndexKeeper` (in `index_files`) keeps a local usearch index in step with a
store by replaying its `vector_changes` log. It reaches the store only through
the methods of `VectorLog`, so the same keeper serves the SQLite file and a
shared PostgreSQL database (`pg_vector_log`).
"""

from __future__ import annotations

from typing import Any, Protocol

from grym_bridge.memory.database import Database


class VectorLog(Protocol):
    """What `IndexKeeper` needs from a store."""

    def generation(self) -> Any:
        """Changes whenever anything is committed (a cheap check before any SQL)."""

    def store_id(self) -> str:
        """The store's identity (an index file names the store it was built from)."""

    def log_floor(self) -> int:
        """Changes at or below this sequence number were compacted away."""

    def last_seq(self) -> int:
        """The newest change ever logged."""

    def changes_since(self, space: str, seq: int) -> tuple[int, dict[int, bytes | None]]:
        """`(newest seq, {clip id: its vector now, or None when deleted})` of the changes after `seq`;
        `(seq, {})` when there are none."""

    def snapshot(self, space: str) -> tuple[int, list[tuple[int, bytes]]]:
        """`(log position, [(clip id, vector)])` of one space, read in one snapshot."""

    def has_vectors(self, space: str) -> bool:
        """Whether any clip has a vector in `space`."""

    def compact(self, floor: int) -> int:
        """Drop log entries at or below `floor` when the log has grown long; how many were dropped."""


def last_op_per_clip(rows: list[tuple[int, int, str]]) -> dict[int, str]:
    """The last operation logged for each clip (rows are `(seq, clip_id, op)` in seq order)."""
    last: dict[int, str] = {}
    for _, clip_id, op in rows:
        last[int(clip_id)] = op
    return last


#: The log is compacted only when it holds this many entries beyond twice the live vectors:
#: a short log costs nothing and lets other processes catch up cheaply.
COMPACT_SLACK = 50_000


class SqliteVectorLog:
    """`VectorLog` over the SQLite store's `vectors`, `vector_changes` and `meta` tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def generation(self) -> Any:
        return self._db.generation()

    def _meta(self, key: str) -> str:
        with self._db.guard() as conn:
            return str(conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0])

    def store_id(self) -> str:
        return self._meta("store_id")

    def log_floor(self) -> int:
        return int(self._meta("vector_log_floor"))

    def last_seq(self) -> int:
        # Compaction may have emptied the log; AUTOINCREMENT's counter stays.
        with self._db.guard() as conn:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'vector_changes'").fetchone()
        return int(row[0]) if row else 0

    def changes_since(self, space: str, seq: int) -> tuple[int, dict[int, bytes | None]]:
        with self._db.guard() as conn:
            rows = conn.execute(
                "SELECT seq, clip_id, op FROM vector_changes WHERE seq > ? AND space = ? ORDER BY seq", (seq, space)
            ).fetchall()
            if not rows:
                return seq, {}
            last_op = last_op_per_clip(rows)
            puts = [c for c, op in last_op.items() if op == "put"]
            vectors: dict[int, bytes] = {}
            for start in range(0, len(puts), 500):
                chunk = puts[start:start + 500]
                marks = ",".join("?" * len(chunk))
                vectors.update(conn.execute(
                    f"SELECT clip_id, vec FROM vectors WHERE space = ? AND clip_id IN ({marks})", (space, *chunk)
                ).fetchall())
        return int(rows[-1][0]), {c: vectors.get(c) if op == "put" else None for c, op in last_op.items()}

    def snapshot(self, space: str) -> tuple[int, list[tuple[int, bytes]]]:
        with self._db.guard() as conn:
            conn.execute("BEGIN")  # one snapshot: the vectors and the log position agree
            try:
                seq = self.last_seq()
                rows = conn.execute("SELECT clip_id, vec FROM vectors WHERE space = ? ORDER BY clip_id", (space,)).fetchall()
            finally:
                conn.execute("COMMIT")
        return seq, rows

    def has_vectors(self, space: str) -> bool:
        with self._db.guard() as conn:
            return conn.execute("SELECT 1 FROM vectors WHERE space = ? LIMIT 1", (space,)).fetchone() is not None

    def compact(self, floor: int) -> int:
        with self._db.guard() as conn:
            live = conn.execute("SELECT count(*) FROM vectors").fetchone()[0]
            logged = conn.execute("SELECT count(*) FROM vector_changes WHERE seq <= ?", (floor,)).fetchone()[0]
        if logged < 2 * live + COMPACT_SLACK:
            return 0
        with self._db.write() as conn:
            conn.execute("DELETE FROM vector_changes WHERE seq <= ?", (floor,))
            conn.execute("UPDATE meta SET value = ? WHERE key = 'vector_log_floor'", (str(floor),))
        return int(logged)
