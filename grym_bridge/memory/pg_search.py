"""Vectors, similarity search, patterns and feedback lookups of `PostgresMemory`.

Two ways to search, chosen when the store opens (`memory.pgvector`):
- with the `vector` extension, each vector is also kept in a `vector` column
  and PostgreSQL answers from an HNSW index per space and dimension (a partial
  expression index, made when the first vector of that dimension arrives);
- without it, each bridge searches its own usearch index (`IndexKeeper`), kept
  in step from the shared change log (`pg_vector_log`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import numpy as np

from grym_bridge.memory.checks import check_space
from grym_bridge.memory.clip_input import (check_pattern_kind, clean_patterns, dim_mismatch, group_feedback,
                                           search_query)
from grym_bridge.memory.index import HNSW_EF_CONSTRUCTION, HNSW_M
from grym_bridge.memory.index_files import IndexKeeper
from grym_bridge.memory.pg_database import PgDatabase
from grym_bridge.memory.pg_schema import LOCK_KEY
from grym_bridge.memory.types import Match
from grym_bridge.memory.vectors import from_blob, stack_blobs


def vector_text(vec: np.ndarray) -> str:
    """pgvector's text form of a float32 vector (each value round-trips exactly)."""
    return "[" + ",".join(repr(float(x)) for x in vec) + "]"


def setup_pgvector(db: PgDatabase) -> bool:
    """Install the `vector` extension and its column when the server has it; False when it has not."""
    with db.guard() as conn:
        with conn.transaction():
            if conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone() is None:
                return False
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            conn.execute("ALTER TABLE vectors ADD COLUMN IF NOT EXISTS v vector")
        # Vectors written while the extension was off (or copied in as bytes) get their column now.
        while True:
            with conn.transaction():
                rows = conn.execute("SELECT clip_id, space, vec FROM vectors WHERE v IS NULL LIMIT 2000").fetchall()
                with conn.cursor() as cur:
                    cur.executemany("UPDATE vectors SET v = %s::vector WHERE clip_id = %s AND space = %s",
                                    [(vector_text(from_blob(bytes(b))), c, s) for c, s, b in rows])
            if len(rows) < 2000:
                break
    return True


def _majority_dim(rows: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    # Vectors of another dimension come from an older analyzer: leave them out until refreshed.
    if not rows:
        return rows
    dim = Counter(len(blob) // 4 for _, blob in rows).most_common(1)[0][0]
    return [r for r in rows if len(r[1]) // 4 == dim]


class PgSearch:
    """The search half of `PostgresMemory`."""

    db: PgDatabase
    indexes: IndexKeeper | None  # None: search runs in PostgreSQL (pgvector)
    ef_search: int
    _require: Callable[[Any, Any], int]
    _hnsw_ready: set[tuple[str, int]]

    # -- pgvector ------------------------------------------------------------------------------

    def _ensure_hnsw(self, space: str, dim: int) -> None:
        """The HNSW index of `space` at `dim` dimensions exists (made once, by whichever bridge is first)."""
        if (space, dim) in self._hnsw_ready:
            return
        check_space(space)
        name = f"vectors_hnsw_{space}_{int(dim)}"
        with self.db.guard() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {name} ON vectors USING hnsw ((v::vector({int(dim)})) vector_cosine_ops)"
                    f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
                    f" WHERE space = '{space}' AND vector_dims(v) = {int(dim)}")
        self._hnsw_ready.add((space, dim))

    def _search_pg(self, vec: np.ndarray, space: str, n: int) -> list[tuple[int, float, str]]:
        dim = int(vec.shape[0])
        check_space(space)
        # Literals, not parameters, for the space and dimension: the planner must see that the query
        # matches the partial index's predicate.
        expr = f"v::vector({dim}) <=> %(q)s::vector({dim})"
        with self.db.read() as conn:
            # One round trip: BEGIN, SET LOCAL (search breadth for this query only), SELECT, COMMIT pipelined.
            with conn.pipeline(), conn.transaction():
                conn.execute(f"SET LOCAL hnsw.ef_search = {max(int(self.ef_search), n)}")
                cur = conn.execute(
                    f"SELECT s.clip_id, s.d, c.path FROM (SELECT clip_id, {expr} AS d FROM vectors"
                    f" WHERE space = '{space}' AND vector_dims(v) = {dim} ORDER BY {expr} LIMIT %(n)s) s"
                    " JOIN clips c ON c.id = s.clip_id ORDER BY s.d",
                    {"q": vector_text(vec), "n": n},
                )
            rows = cur.fetchall()
            if not rows:
                other = conn.execute("SELECT vector_dims(v) FROM vectors WHERE space = %s LIMIT 1", (space,)).fetchone()
                if other is not None and int(other[0]) != dim:
                    raise dim_mismatch(dim, space, int(other[0]))
        return [(int(c), 1.0 - float(d), p) for c, d, p in rows]

    # -- the interface -------------------------------------------------------------------------

    def similar(self, query, k=10, threshold=None, *, space="features", exclude=()) -> list[Match]:
        vec, skip = search_query(self.vector, query, k, threshold, space, exclude)
        if self.indexes is None:
            found = [(c, s, p) for c, s, p in self._search_pg(vec, space, int(k) + len(skip)) if c not in skip][:int(k)]
        else:
            idx = self.indexes.index(space)
            if len(idx) and vec.shape[0] != idx.dim:
                raise dim_mismatch(vec.shape[0], space, idx.dim)
            ids, scores = idx.search(vec, int(k), frozenset(skip))
            paths, where = self._paths_and_locations([int(i) for i in ids])
            # A clip another bridge forgot a moment ago may still be in this index until its notification
            # arrives: it has no row any more, so it is left out.
            found = [(int(i), float(s), paths[int(i)]) for i, s in zip(ids, scores) if int(i) in paths]
        if threshold is not None:
            found = [f for f in found if f[1] >= float(np.float32(threshold))]
        if self.indexes is None:
            where = self._paths_and_locations([c for c, _, _ in found])[1]
        return [Match(id=c, path=p, score=round(s, 6), locations=where.get(c, {})) for c, s, p in found]

    def _paths_and_locations(self, ids: list[int]) -> tuple[dict[int, str], dict[int, dict[str, str]]]:
        """Each clip's path, and which machine holds it where, in one query."""
        paths: dict[int, str] = {}
        where: dict[int, dict[str, str]] = {}
        if not ids:
            return paths, where
        with self.db.read() as conn:
            for clip_id, path, machine, there in conn.execute(
                    "SELECT c.id, c.path, l.machine, l.path FROM clips c LEFT JOIN locations l ON l.clip_id = c.id"
                    " WHERE c.id = ANY(%s) ORDER BY c.id, l.machine", (ids,)):
                paths[int(clip_id)] = path
                if machine is not None:
                    where.setdefault(int(clip_id), {})[machine] = there
        return paths, where

    def vector(self, clip_id: int, space: str = "features") -> np.ndarray | None:
        check_space(space)
        with self.db.read() as conn:
            clip_id = self._require(conn, clip_id)
            row = conn.execute("SELECT vec FROM vectors WHERE clip_id = %s AND space = %s", (clip_id, space)).fetchone()
        return None if row is None else from_blob(bytes(row[0]))

    def vectors(self, space: str = "features") -> tuple[np.ndarray, np.ndarray]:
        check_space(space)
        if self.indexes is not None:
            idx = self.indexes.index(space)
            return idx.ids(), idx.matrix()
        with self.db.read() as conn:
            rows = [(int(c), bytes(v)) for c, v in conn.execute(
                "SELECT clip_id, vec FROM vectors WHERE space = %s ORDER BY clip_id", (space,))]
        rows = _majority_dim(rows)
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        return np.array([r[0] for r in rows], dtype=np.int64), stack_blobs([r[1] for r in rows], len(rows[0][1]) // 4)

    def patterns(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        check_pattern_kind(kind)
        with self.db.read() as conn:
            rows = [(int(c), bytes(v)) for c, v in conn.execute(
                "SELECT clip_id, vec FROM patterns WHERE kind = %s ORDER BY clip_id", (kind,))]
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        dim = len(rows[0][1]) // 4
        rows = [r for r in rows if len(r[1]) // 4 == dim]
        return np.array([r[0] for r in rows], dtype=np.int64), stack_blobs([r[1] for r in rows], dim)

    def clip_patterns(self, clip_id: int) -> dict[str, np.ndarray]:
        with self.db.read() as conn:
            clip_id = self._require(conn, clip_id)
            rows = conn.execute("SELECT kind, vec FROM patterns WHERE clip_id = %s", (clip_id,)).fetchall()
        return {kind: from_blob(bytes(blob)) for kind, blob in rows}

    @staticmethod
    def _write_patterns(conn: Any, clip_id: int, patterns: dict[str, np.ndarray]) -> None:
        from grym_bridge.memory.vectors import to_blob

        conn.execute("DELETE FROM patterns WHERE clip_id = %s", (clip_id,))
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO patterns (clip_id, kind, vec) VALUES (%s, %s, %s)",
                            [(clip_id, kind, to_blob(v)) for kind, v in patterns.items()])

    def store_patterns(self, clip_id: int, patterns: dict[str, Any]) -> None:
        clean = clean_patterns(patterns)
        with self.db.write() as conn:
            clip_id = self._require(conn, clip_id)
            self._write_patterns(conn, clip_id, clean)

    def feedback_ids(self) -> dict[str, list[tuple[int, float | None]]]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT clip_id, rating, kept, rejected FROM feedback ORDER BY updated_at, clip_id").fetchall()
        return group_feedback([(int(r[0]), r[1], r[2], r[3]) for r in rows])

    def tagged(self) -> dict[int, tuple[str, ...]]:
        out: dict[int, list[str]] = {}
        with self.db.read() as conn:
            for clip_id, tag in conn.execute("SELECT clip_id, tag FROM clip_tags ORDER BY clip_id, tag"):
                out.setdefault(int(clip_id), []).append(tag)
        return {k: tuple(v) for k, v in out.items()}
