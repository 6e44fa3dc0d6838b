"""`SqliteMemory`: the embedded memory, one SQLite file in WAL mode under the data directory.

Every write is one transaction that returns only after COMMIT (`database`; see `schema` for
what `memory.synchronous` means on power loss). Other processes (the CLI beside a running
server) share the file through WAL; their writes reach this process's hot-read cache through
`PRAGMA data_version` and its vector indexes through the `vector_changes` log (`index_files`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, NotFound
from grym_bridge.memory.analyzer import Analyzer, default_analyzer
from grym_bridge.memory.cache import LruCache
from grym_bridge.memory.checks import normalize_tags, parse_feedback, session_name
from grym_bridge.memory.clip_input import (LATEST_AT_PATH, check_clip_id, check_source, merged_provenance,
                                           next_feedback, prepare_clip, refresh_features, session_json, unknown_clip)
from grym_bridge.memory.database import Database
from grym_bridge.memory.features import AnalysisRecord, unpack_analysis
from grym_bridge.memory.index_files import IndexKeeper
from grym_bridge.memory.sqlite_search import SqliteSearch
from grym_bridge.memory.store import MemoryStore
from grym_bridge.memory.vector_log import SqliteVectorLog
from grym_bridge.memory.types import Clip, ClipSummary, Feedback, MemoryStats
from grym_bridge.memory.vectors import to_blob

class SqliteMemory(SqliteSearch, MemoryStore):
    """The feature memory in one SQLite file (see the module docstring)."""

    backend = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "full",
        exact_below: int = 20_000,
        ef_search: int = 128,
        cache_size: int = 2048,
        index_dir: str | os.PathLike[str] | None = None,
        analyzer: Analyzer | None = None,
    ) -> None:
        self.path = Path(path)
        self.db = Database(self.path, synchronous=synchronous)
        self._guard, self._write = self.db.guard, self.db.write
        self._cache: LruCache[Clip] = LruCache(cache_size)
        self._data_version = self.db.data_version()
        directory = Path(index_dir) if index_dir else self.path.with_name(self.path.stem + "-index")
        self.indexes = IndexKeeper(SqliteVectorLog(self.db), directory, exact_below=exact_below, ef_search=ef_search)
        self.analyzer = analyzer

    @classmethod
    def from_config(cls, config: Config, *, analyzer: Analyzer | None = None) -> "SqliteMemory":
        """The memory the config names (`memory.file` under the data directory)."""
        m = config.memory
        path = Path(m.file).expanduser()
        if not path.is_absolute():
            path = config.data_dir / path
        return cls(path, synchronous=m.synchronous, exact_below=m.exact_below, ef_search=m.ef_search,
                   cache_size=m.cache_size, analyzer=analyzer if analyzer is not None else default_analyzer(config))

    def _sync_external(self) -> None:
        """Drop cached clips when another connection committed since we last looked."""
        version = self.db.data_version()
        if version != self._data_version:
            self._data_version = version
            self._cache.clear()

    def _require(self, conn: sqlite3.Connection, clip_id: Any) -> int:
        clip_id = check_clip_id(clip_id)
        if not conn.execute("SELECT 1 FROM clips WHERE id = ?", (clip_id,)).fetchone():
            raise unknown_clip(clip_id)
        return clip_id

    # -- clips ---------------------------------------------------------------------------------

    def add_clip(self, path, *, analysis=None, source="analyzed", provenance=None, tags=(), vector=None,
                 embedding=None, content_hash=None) -> Clip:
        # 1. check the arguments and identify the content before touching the database
        new = prepare_clip(path, analysis=analysis, source=source, provenance=provenance, tags=tags, vector=vector,
                           embedding=embedding, content_hash=content_hash)
        if content_hash is None:  # hashed here: a clip stored under the file's older byte hash takes this key
            self.adopt_legacy(new.path, new.content_hash)
        record, content_hash, duration, sample_rate = new.record, new.content_hash, new.duration_s, new.sample_rate
        now = time.time()
        # 2. one transaction: insert or merge, then features, vectors, patterns, tags
        with self._write() as conn:
            row = conn.execute("SELECT id, provenance FROM clips WHERE content_hash = ?", (content_hash,)).fetchone()
            if row is None:
                clip_id = conn.execute(
                    "INSERT INTO clips (path, content_hash, source, duration_s, sample_rate, provenance, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (new.path, content_hash, new.source, duration, sample_rate, new.provenance_json, now, now),
                ).lastrowid
            else:
                # Same content again: the latest path wins (the file may have moved), provenance merges.
                clip_id = int(row[0])
                conn.execute(
                    "UPDATE clips SET path = ?, provenance = ?, updated_at = ?,"
                    " duration_s = coalesce(?, duration_s), sample_rate = coalesce(?, sample_rate) WHERE id = ?",
                    (new.path, merged_provenance(row[1], new.provenance), now, duration, sample_rate, clip_id),
                )
            if record is not None:
                self._write_analysis(conn, clip_id, record)
            for space, v in new.vectors.items():
                self._put_vector(conn, clip_id, space, v)
            conn.executemany("INSERT OR IGNORE INTO clip_tags (clip_id, tag) VALUES (?, ?)",
                             [(clip_id, t) for t in new.tags])
        self._cache.invalidate(clip_id)
        return self.get(clip_id)

    def _write_analysis(self, conn: sqlite3.Connection, clip_id: int, record: AnalysisRecord) -> None:
        conn.execute(
            "INSERT INTO features (clip_id, analyzer_version, data) VALUES (?, ?, ?) ON CONFLICT (clip_id) DO"
            " UPDATE SET analyzer_version = excluded.analyzer_version, data = excluded.data",
            (clip_id, record.analyzer_version, json.dumps(record.features, allow_nan=False)),
        )
        self._write_patterns(conn, clip_id, record.patterns)

    @staticmethod
    def _write_patterns(conn: sqlite3.Connection, clip_id: int, patterns: dict[str, np.ndarray]) -> None:
        conn.execute("DELETE FROM patterns WHERE clip_id = ?", (clip_id,))
        conn.executemany("INSERT INTO patterns (clip_id, kind, vec) VALUES (?, ?, ?)",
                         [(clip_id, kind, to_blob(v)) for kind, v in patterns.items()])

    @staticmethod
    def _put_vector(conn: sqlite3.Connection, clip_id: int, space: str, vec: np.ndarray) -> None:
        conn.execute("INSERT OR REPLACE INTO vectors (clip_id, space, vec) VALUES (?, ?, ?)", (clip_id, space, to_blob(vec)))
        conn.execute("INSERT INTO vector_changes (space, clip_id, op) VALUES (?, ?, 'put')", (space, clip_id))

    def set_analysis(self, clip_id: int, analysis: Any) -> Clip:
        record = unpack_analysis(analysis)
        with self._write() as conn:
            clip_id = self._require(conn, clip_id)
            self._write_analysis(conn, clip_id, record)
            conn.execute("UPDATE clips SET updated_at = ?, duration_s = coalesce(?, duration_s),"
                         " sample_rate = coalesce(?, sample_rate) WHERE id = ?",
                         (time.time(), record.duration_s, record.sample_rate, clip_id))
            for space, v in (("features", record.vector), ("embedding", record.embedding)):
                if v is not None:
                    self._put_vector(conn, clip_id, space, v)
        self._cache.invalidate(clip_id)
        return self.get(clip_id)

    def get(self, clip_id: int) -> Clip:
        with self._guard() as conn:
            self._sync_external()
            cached = self._cache.get(clip_id)
            if cached is not None:
                return cached
            clip_id = self._require(conn, clip_id)
            clip = self._read_clip(conn, clip_id)
            self._cache.put(clip_id, clip)
            return clip

    def _read_clip(self, conn: sqlite3.Connection, clip_id: int) -> Clip:
        row = conn.execute(
            "SELECT c.id, c.path, c.content_hash, c.source, c.duration_s, c.sample_rate, c.provenance, c.created_at,"
            " c.updated_at, f.analyzer_version, f.data, fb.rating, fb.kept, fb.rejected FROM clips c"
            " LEFT JOIN features f ON f.clip_id = c.id LEFT JOIN feedback fb ON fb.clip_id = c.id WHERE c.id = ?",
            (clip_id,),
        ).fetchone()
        tags = tuple(r[0] for r in conn.execute("SELECT tag FROM clip_tags WHERE clip_id = ? ORDER BY tag", (clip_id,)))
        spaces = tuple(r[0] for r in conn.execute("SELECT space FROM vectors WHERE clip_id = ? ORDER BY space", (clip_id,)))
        return Clip(
            id=row[0], path=row[1], content_hash=row[2], source=row[3], duration_s=row[4], sample_rate=row[5],
            provenance=json.loads(row[6]), created_at=row[7], updated_at=row[8], analyzer_version=row[9],
            features=None if row[10] is None else json.loads(row[10]),
            feedback=Feedback(rating=row[11], kept=bool(row[12]), rejected=bool(row[13])), tags=tags, spaces=spaces,
        )

    def find_by_hash(self, content_hash: str) -> Clip | None:
        with self._guard() as conn:
            row = conn.execute("SELECT id FROM clips WHERE content_hash = ?", (content_hash,)).fetchone()
        return None if row is None else self.get(int(row[0]))

    def _rekey(self, old_hash: str, new_hash: str) -> int | None:
        with self._guard() as conn:
            if conn.execute("SELECT 1 FROM clips WHERE content_hash = ?", (old_hash,)).fetchone() is None:
                return None  # the usual case (a new file): no write lock taken
        with self._write() as conn:
            row = conn.execute("SELECT id FROM clips WHERE content_hash = ?", (new_hash,)).fetchone()
            if row is None:
                row = conn.execute("SELECT id FROM clips WHERE content_hash = ?", (old_hash,)).fetchone()
                if row is None:
                    return None
                conn.execute("UPDATE clips SET content_hash = ? WHERE id = ?", (new_hash, row[0]))
        self._cache.invalidate(int(row[0]))
        return int(row[0])

    def list_clips(self, *, tag=None, source=None, limit=100, offset=0) -> list[ClipSummary]:
        check_source(source)
        where, args = [LATEST_AT_PATH], []
        if tag is not None:
            where.append("c.id IN (SELECT clip_id FROM clip_tags WHERE tag = ?)")
            args.append(normalize_tags([tag])[0])
        if source is not None:
            where.append("c.source = ?")
            args.append(source)
        sql = ("SELECT c.id, c.path, c.source, c.created_at, fb.rating, fb.kept, fb.rejected,"
               " (SELECT group_concat(tag, ',') FROM (SELECT tag FROM clip_tags WHERE clip_id = c.id ORDER BY tag))"
               " FROM clips c LEFT JOIN feedback fb ON fb.clip_id = c.id"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY c.id DESC LIMIT ? OFFSET ?")
        with self._guard() as conn:
            rows = conn.execute(sql, (*args, int(limit), int(offset))).fetchall()
        return [ClipSummary(id=r[0], path=r[1], source=r[2], created_at=r[3], rating=r[4], kept=bool(r[5]),
                            rejected=bool(r[6]), tags=tuple(r[7].split(",")) if r[7] else ()) for r in rows]

    def tag(self, clip_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()) -> Clip:
        add_list, remove_list = normalize_tags(add), normalize_tags(remove)
        if not add_list and not remove_list:
            raise BadRequest("give at least one tag to add or remove")
        with self._write() as conn:
            clip_id = self._require(conn, clip_id)
            conn.executemany("DELETE FROM clip_tags WHERE clip_id = ? AND tag = ?", [(clip_id, t) for t in remove_list])
            conn.executemany("INSERT OR IGNORE INTO clip_tags (clip_id, tag) VALUES (?, ?)", [(clip_id, t) for t in add_list])
        self._cache.invalidate(clip_id)
        return self.get(clip_id)

    def rate(self, clip_id: int, value: float | str) -> Clip:
        parsed = parse_feedback(value)
        with self._write() as conn:
            clip_id = self._require(conn, clip_id)
            old = conn.execute("SELECT rating, kept, rejected FROM feedback WHERE clip_id = ?", (clip_id,)).fetchone()
            rating, kept, rejected = next_feedback(value, parsed, old)
            new = (rating, int(kept), int(rejected))
            conn.execute(
                "INSERT INTO feedback (clip_id, rating, kept, rejected, updated_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (clip_id) DO UPDATE SET rating = excluded.rating, kept = excluded.kept,"
                " rejected = excluded.rejected, updated_at = excluded.updated_at",
                (clip_id, *new, time.time()),
            )
        self._cache.invalidate(clip_id)
        return self.get(clip_id)

    def forget(self, clip_id: int) -> None:
        with self._write() as conn:
            clip_id = self._require(conn, clip_id)
            spaces = [r[0] for r in conn.execute("SELECT space FROM vectors WHERE clip_id = ?", (clip_id,))]
            conn.execute("DELETE FROM clips WHERE id = ?", (clip_id,))  # cascades to everything else
            conn.executemany("INSERT INTO vector_changes (space, clip_id, op) VALUES (?, ?, 'del')",
                             [(s, clip_id) for s in spaces])
        self._cache.invalidate(clip_id)

    # -- stale features ------------------------------------------------------------------------

    def features(self, clip_id: int, *, refresh: bool = True) -> dict[str, Any] | None:
        return refresh_features(self, clip_id, refresh)

    def stale_ids(self) -> list[int]:
        """Clips whose features came from another analyzer version (or were never computed)."""
        if self.analyzer is None:
            return []
        with self._guard() as conn:
            return [r[0] for r in conn.execute(
                "SELECT c.id FROM clips c LEFT JOIN features f ON f.clip_id = c.id"
                " WHERE f.analyzer_version IS NULL OR f.analyzer_version != ?", (self.analyzer.version,))]

    # -- DAW sessions --------------------------------------------------------------------------

    def save_session(self, name: str, values: dict[str, Any]) -> None:
        name, data = session_name(name), session_json(values)
        with self._write() as conn:
            conn.execute("INSERT INTO sessions (name, data, updated_at) VALUES (?, ?, ?) ON CONFLICT (name)"
                         " DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at", (name, data, time.time()))

    def load_session(self, name: str) -> dict[str, Any]:
        name = session_name(name)
        with self._guard() as conn:
            row = conn.execute("SELECT data FROM sessions WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = ", ".join(self.list_sessions()[:10]) or "none yet"
            raise NotFound(f"no session named {name!r} (stored: {known})")
        return json.loads(row[0])

    def list_sessions(self) -> list[str]:
        with self._guard() as conn:
            return [r[0] for r in conn.execute("SELECT name FROM sessions ORDER BY name")]

    # -- housekeeping --------------------------------------------------------------------------

    def stats(self) -> MemoryStats:
        with self._guard() as conn:
            def count(sql: str, *args: Any) -> int:
                return int(conn.execute(sql, args).fetchone()[0])

            by_source = dict(conn.execute("SELECT source, count(*) FROM clips GROUP BY source").fetchall())
            vectors = dict(conn.execute("SELECT space, count(*) FROM vectors GROUP BY space").fetchall())
            patterns = dict(conn.execute("SELECT kind, count(*) FROM patterns GROUP BY kind").fetchall())
            size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
            stats = MemoryStats(
                backend=self.backend, location=str(self.path),
                schema_version=count("PRAGMA user_version"), clips=count("SELECT count(*) FROM clips"),
                by_source=by_source, vectors=vectors, patterns=patterns,
                tags=count("SELECT count(DISTINCT tag) FROM clip_tags"),
                kept=count("SELECT count(*) FROM feedback WHERE kept"),
                rejected=count("SELECT count(*) FROM feedback WHERE rejected"),
                rated=count("SELECT count(*) FROM feedback WHERE rating IS NOT NULL"),
                stale=len(self.stale_ids()), sessions=count("SELECT count(*) FROM sessions"),
                size_bytes=size, index={},
            )
        # Outside the database lock: the index takes its own lock first (see IndexKeeper).
        return dataclasses.replace(stats, index={space: vars(self.indexes.index(space).info()) for space in stats.vectors})

    def generation(self) -> tuple[int, int]:
        return self.db.generation()

    def integrity_check(self) -> str:
        """`PRAGMA integrity_check`: 'ok', or the first problem SQLite finds."""
        with self._guard() as conn:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        if self.db.closed:
            return
        try:
            self.indexes.save()
            self.indexes.compact_log()
        finally:
            self.db.close()
