"""Vectors, similarity search, rhythm and harmony patterns, and the feedback lookups of `SqliteMemory`.

A mixin: `SqliteMemory` (in `sqlite_store`) owns the database, the write
guard, the vector indexes and the clip-id check these methods use.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

import numpy as np

from grym_bridge.memory.checks import check_space
from grym_bridge.memory.clip_input import (MAX_K, check_pattern_kind, clean_patterns, dim_mismatch, group_feedback,
                                           search_query)
from grym_bridge.memory.database import Database
from grym_bridge.memory.index_files import IndexKeeper
from grym_bridge.memory.types import Match
from grym_bridge.memory.vectors import from_blob, stack_blobs

__all__ = ["MAX_K", "SqliteSearch"]


class SqliteSearch:
    """The search half of `SqliteMemory`."""

    db: Database
    indexes: IndexKeeper
    _guard: Any
    _write: Any
    _require: Callable[[sqlite3.Connection, Any], int]
    _write_patterns: Callable[[sqlite3.Connection, int, dict[str, np.ndarray]], None]

    def similar(self, query, k=10, threshold=None, *, space="features", exclude=()) -> list[Match]:
        vec, skip = search_query(self.vector, query, k, threshold, space, exclude)
        idx = self.indexes.index(space)
        if len(idx) and vec.shape[0] != idx.dim:
            raise dim_mismatch(vec.shape[0], space, idx.dim)
        ids, scores = idx.search(vec, int(k), frozenset(skip))
        if threshold is not None:
            keep = scores >= np.float32(threshold)
            ids, scores = ids[keep], scores[keep]
        with self._guard() as conn:
            paths = self._paths(conn, ids)
        return [Match(id=int(i), path=paths.get(int(i), ""), score=round(float(s), 6)) for i, s in zip(ids, scores)]

    @staticmethod
    def _paths(conn: sqlite3.Connection, ids: np.ndarray) -> dict[int, str]:
        if not len(ids):
            return {}
        marks = ",".join("?" * len(ids))
        return dict(conn.execute(f"SELECT id, path FROM clips WHERE id IN ({marks})", [int(i) for i in ids]).fetchall())

    def vector(self, clip_id: int, space: str = "features") -> np.ndarray | None:
        check_space(space)
        with self._guard() as conn:
            clip_id = self._require(conn, clip_id)
            row = conn.execute("SELECT vec FROM vectors WHERE clip_id = ? AND space = ?", (clip_id, space)).fetchone()
        return None if row is None else from_blob(row[0])

    def vectors(self, space: str = "features") -> tuple[np.ndarray, np.ndarray]:
        check_space(space)
        idx = self.indexes.index(space)
        return idx.ids(), idx.matrix()

    def patterns(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        check_pattern_kind(kind)
        with self._guard() as conn:
            rows = conn.execute("SELECT clip_id, vec FROM patterns WHERE kind = ? ORDER BY clip_id", (kind,)).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        dim = len(rows[0][1]) // 4
        rows = [r for r in rows if len(r[1]) // 4 == dim]
        return np.array([r[0] for r in rows], dtype=np.int64), stack_blobs([r[1] for r in rows], dim)

    def clip_patterns(self, clip_id: int) -> dict[str, np.ndarray]:
        with self._guard() as conn:
            clip_id = self._require(conn, clip_id)
            rows = conn.execute("SELECT kind, vec FROM patterns WHERE clip_id = ?", (clip_id,)).fetchall()
        return {kind: from_blob(blob) for kind, blob in rows}

    def store_patterns(self, clip_id: int, patterns: dict[str, Any]) -> None:
        clean = clean_patterns(patterns)
        with self._write() as conn:
            clip_id = self._require(conn, clip_id)
            self._write_patterns(conn, clip_id, clean)

    def feedback_ids(self) -> dict[str, list[tuple[int, float | None]]]:
        with self._guard() as conn:
            rows = conn.execute("SELECT clip_id, rating, kept, rejected FROM feedback ORDER BY updated_at, clip_id").fetchall()
        return group_feedback(rows)

    def tagged(self) -> dict[int, tuple[str, ...]]:
        out: dict[int, list[str]] = {}
        with self._guard() as conn:
            for clip_id, tag in conn.execute("SELECT clip_id, tag FROM clip_tags ORDER BY clip_id, tag"):
                out.setdefault(clip_id, []).append(tag)
        return {k: tuple(v) for k, v in out.items()}
