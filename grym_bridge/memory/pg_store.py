"""`PostgresMemory`: one memory shared by a studio's bridges, in a PostgreSQL database.

The same `MemoryStore` as the embedded SQLite file, with the same checks
(`clip_input`), so every memory feature behaves alike. What differs:
- clips are identified by content hash across machines; `locations` records
  which machine (`memory.machine`, else the host name) holds each clip at which
  path, and `similar` says where each match is;
- two bridges adding the same content at once end with one clip (`INSERT ...
  ON CONFLICT` on the unique hash);
- no clip cache: another bridge may change tags or ratings at any time, and a
  local read costs a fraction of a millisecond;
- search runs in PostgreSQL with pgvector, or in a local index (`pg_search`).
Errors from the server become `MemoryUnavailable` naming the host (`pg_database`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Iterable

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest
from grym_bridge.memory.analyzer import Analyzer, default_analyzer
from grym_bridge.memory.checks import normalize_tags, parse_feedback, session_name
from grym_bridge.memory.clip_input import (LATEST_AT_PATH, check_clip_id, check_source, merged_provenance,
                                           next_feedback, prepare_clip, refresh_features, session_json, unknown_clip)
from grym_bridge.memory.features import AnalysisRecord, unpack_analysis
from grym_bridge.memory.index_files import IndexKeeper
from grym_bridge.memory.pg_database import PgDatabase
from grym_bridge.memory.pg_schema import schema_version
from grym_bridge.memory.pg_search import PgSearch, setup_pgvector, vector_text
from grym_bridge.memory.pg_vector_log import PgVectorLog, log_changes
from grym_bridge.memory.store import MemoryStore
from grym_bridge.memory.types import Clip, ClipSummary, Feedback, MemoryStats
from grym_bridge.memory.vectors import to_blob

_CLIP_SQL = (
    "SELECT c.id, c.path, c.content_hash, c.source, c.duration_s, c.sample_rate, c.provenance, c.created_at,"
    " c.updated_at, f.analyzer_version, f.data, fb.rating, fb.kept, fb.rejected,"
    " ARRAY(SELECT tag FROM clip_tags WHERE clip_id = c.id ORDER BY tag),"
    " ARRAY(SELECT space FROM vectors WHERE clip_id = c.id ORDER BY space)"
    " FROM clips c LEFT JOIN features f ON f.clip_id = c.id LEFT JOIN feedback fb ON fb.clip_id = c.id WHERE c.id = %s"
)


class PostgresMemory(PgSearch, MemoryStore):
    """The feature memory in a shared PostgreSQL database (see the module docstring)."""

    backend = "postgresql"

    def __init__(
        self,
        dsn: str,
        *,
        machine: str | None = None,
        pgvector: str = "auto",
        listen: bool = True,
        exact_below: int = 20_000,
        ef_search: int = 128,
        index_dir: str | os.PathLike[str] | None = None,
        analyzer: Analyzer | None = None,
    ) -> None:
        self.db = PgDatabase(dsn, listen=listen)
        try:
            self.machine = machine or socket.gethostname()
            self.ef_search = ef_search
            self.analyzer = analyzer
            self._hnsw_ready: set[tuple[str, int]] = set()
            use_pgvector = pgvector == "auto" and setup_pgvector(self.db)
            self.indexes: IndexKeeper | None = None
            if not use_pgvector:
                if index_dir is None:
                    raise BadRequest("without the vector extension the shared memory needs a local index folder")
                self.indexes = IndexKeeper(PgVectorLog(self.db), Path(index_dir), exact_below=exact_below,
                                           ef_search=ef_search)
        except BaseException:
            self.db.close()
            raise

    @classmethod
    def from_config(cls, config: Config, *, analyzer: Analyzer | None = None) -> "PostgresMemory":
        """The shared memory the config names (`memory.dsn`); the local index lives in the data directory."""
        m = config.memory
        return cls(m.dsn, machine=m.machine or None, pgvector=m.pgvector, listen=m.listen, exact_below=m.exact_below,
                   ef_search=m.ef_search, index_dir=config.data_dir / "memory-shared-index",
                   analyzer=analyzer if analyzer is not None else default_analyzer(config))

    @property
    def search_mode(self) -> str:
        """`pgvector` (search in PostgreSQL) or `local` (this bridge's index, fed by the change log)."""
        return "local" if self.indexes is not None else "pgvector"

    def _require(self, conn: Any, clip_id: Any) -> int:
        clip_id = check_clip_id(clip_id)
        if conn.execute("SELECT 1 FROM clips WHERE id = %s", (clip_id,)).fetchone() is None:
            raise unknown_clip(clip_id)
        return clip_id

    # -- clips ---------------------------------------------------------------------------------

    def add_clip(self, path, *, analysis=None, source="analyzed", provenance=None, tags=(), vector=None,
                 embedding=None, content_hash=None) -> Clip:
        new = prepare_clip(path, analysis=analysis, source=source, provenance=provenance, tags=tags, vector=vector,
                           embedding=embedding, content_hash=content_hash)
        if content_hash is None:  # hashed here: a clip stored under the file's older byte hash takes this key
            self.adopt_legacy(new.path, new.content_hash)
        if self.indexes is None:
            for space, v in new.vectors.items():
                self._ensure_hnsw(space, int(v.shape[0]))
        now = time.time()
        with self.db.write() as conn:
            row = conn.execute(
                "INSERT INTO clips (path, content_hash, source, duration_s, sample_rate, provenance, created_at,"
                " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (content_hash) DO NOTHING RETURNING id",
                (new.path, new.content_hash, new.source, new.duration_s, new.sample_rate, new.provenance_json, now, now),
            ).fetchone()
            if row is not None:
                clip_id = int(row[0])
            else:
                # Known content (perhaps added this instant by another bridge): the latest path wins,
                # provenance merges. FOR UPDATE: two merges of one clip take turns.
                clip_id, stored = conn.execute("SELECT id, provenance FROM clips WHERE content_hash = %s FOR UPDATE",
                                               (new.content_hash,)).fetchone()
                conn.execute(
                    "UPDATE clips SET path = %s, provenance = %s, updated_at = %s,"
                    " duration_s = coalesce(%s, duration_s), sample_rate = coalesce(%s, sample_rate) WHERE id = %s",
                    (new.path, merged_provenance(stored, new.provenance), now, new.duration_s, new.sample_rate, clip_id),
                )
            self._put_location(conn, clip_id, new.path, now)
            if new.record is not None:
                self._write_analysis(conn, clip_id, new.record)
            self._put_vectors(conn, clip_id, new.vectors)
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO clip_tags (clip_id, tag) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                [(clip_id, t) for t in new.tags])
        return self.get(clip_id)

    def _put_location(self, conn: Any, clip_id: int, path: str, now: float) -> None:
        conn.execute("INSERT INTO locations (clip_id, machine, path, updated_at) VALUES (%s, %s, %s, %s)"
                     " ON CONFLICT (clip_id, machine) DO UPDATE SET path = excluded.path, updated_at = excluded.updated_at",
                     (clip_id, self.machine, path, now))

    def _write_analysis(self, conn: Any, clip_id: int, record: AnalysisRecord) -> None:
        conn.execute(
            "INSERT INTO features (clip_id, analyzer_version, data) VALUES (%s, %s, %s) ON CONFLICT (clip_id) DO"
            " UPDATE SET analyzer_version = excluded.analyzer_version, data = excluded.data",
            (clip_id, record.analyzer_version, json.dumps(record.features, allow_nan=False)),
        )
        self._write_patterns(conn, clip_id, record.patterns)

    def _put_vectors(self, conn: Any, clip_id: int, vectors: dict[str, Any]) -> None:
        for space, vec in vectors.items():
            if self.indexes is None:
                conn.execute("INSERT INTO vectors (clip_id, space, vec, v) VALUES (%s, %s, %s, %s::vector)"
                             " ON CONFLICT (clip_id, space) DO UPDATE SET vec = excluded.vec, v = excluded.v",
                             (clip_id, space, to_blob(vec), vector_text(vec)))
            else:
                conn.execute("INSERT INTO vectors (clip_id, space, vec) VALUES (%s, %s, %s)"
                             " ON CONFLICT (clip_id, space) DO UPDATE SET vec = excluded.vec",
                             (clip_id, space, to_blob(vec)))
        log_changes(conn, clip_id, [(space, "put") for space in vectors])

    def set_analysis(self, clip_id: int, analysis: Any) -> Clip:
        record = unpack_analysis(analysis)
        vectors = {s: v for s, v in (("features", record.vector), ("embedding", record.embedding)) if v is not None}
        if self.indexes is None:
            for space, v in vectors.items():
                self._ensure_hnsw(space, int(v.shape[0]))
        with self.db.write() as conn:
            clip_id = self._require(conn, clip_id)
            self._write_analysis(conn, clip_id, record)
            conn.execute("UPDATE clips SET updated_at = %s, duration_s = coalesce(%s, duration_s),"
                         " sample_rate = coalesce(%s, sample_rate) WHERE id = %s",
                         (time.time(), record.duration_s, record.sample_rate, clip_id))
            self._put_vectors(conn, clip_id, vectors)
        return self.get(clip_id)

    def get(self, clip_id: int) -> Clip:
        clip_id = check_clip_id(clip_id)
        with self.db.read() as conn:
            row = conn.execute(_CLIP_SQL, (clip_id,)).fetchone()
        if row is None:
            raise unknown_clip(clip_id)
        return Clip(
            id=int(row[0]), path=row[1], content_hash=row[2], source=row[3], duration_s=row[4], sample_rate=row[5],
            provenance=json.loads(row[6]), created_at=row[7], updated_at=row[8], analyzer_version=row[9],
            features=None if row[10] is None else json.loads(row[10]),
            feedback=Feedback(rating=row[11], kept=bool(row[12]), rejected=bool(row[13])), tags=tuple(row[14]),
            spaces=tuple(row[15]),
        )

    def find_by_hash(self, content_hash: str) -> Clip | None:
        with self.db.read() as conn:
            row = conn.execute("SELECT id FROM clips WHERE content_hash = %s", (content_hash,)).fetchone()
        return None if row is None else self.get(int(row[0]))

    def locations(self, clip_id: int) -> dict[str, str]:
        """Which machine holds clip `clip_id`, at which path."""
        with self.db.read() as conn:
            clip_id = self._require(conn, clip_id)
            return dict(conn.execute("SELECT machine, path FROM locations WHERE clip_id = %s ORDER BY machine",
                                     (clip_id,)).fetchall())

    def _rekey(self, old_hash: str, new_hash: str) -> int | None:
        with self.db.read() as conn:
            if conn.execute("SELECT 1 FROM clips WHERE content_hash = %s", (old_hash,)).fetchone() is None:
                return None
        with self.db.write() as conn:
            # The new key may have been taken this instant by another bridge: then that clip is the one.
            row = conn.execute("UPDATE clips SET content_hash = %s WHERE content_hash = %s AND NOT EXISTS"
                               " (SELECT 1 FROM clips WHERE content_hash = %s) RETURNING id",
                               (new_hash, old_hash, new_hash)).fetchone()
            if row is None:
                row = conn.execute("SELECT id FROM clips WHERE content_hash = %s", (new_hash,)).fetchone()
        return None if row is None else int(row[0])

    def list_clips(self, *, tag=None, source=None, limit=100, offset=0) -> list[ClipSummary]:
        check_source(source)
        where, args = [LATEST_AT_PATH], []
        if tag is not None:
            where.append("c.id IN (SELECT clip_id FROM clip_tags WHERE tag = %s)")
            args.append(normalize_tags([tag])[0])
        if source is not None:
            where.append("c.source = %s")
            args.append(source)
        sql = ("SELECT c.id, c.path, c.source, c.created_at, fb.rating, fb.kept, fb.rejected,"
               " ARRAY(SELECT tag FROM clip_tags WHERE clip_id = c.id ORDER BY tag)"
               " FROM clips c LEFT JOIN feedback fb ON fb.clip_id = c.id"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY c.id DESC LIMIT %s OFFSET %s")
        with self.db.read() as conn:
            rows = conn.execute(sql, (*args, int(limit), int(offset))).fetchall()
        return [ClipSummary(id=int(r[0]), path=r[1], source=r[2], created_at=r[3], rating=r[4], kept=bool(r[5]),
                            rejected=bool(r[6]), tags=tuple(r[7])) for r in rows]

    def tag(self, clip_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()) -> Clip:
        add_list, remove_list = normalize_tags(add), normalize_tags(remove)
        if not add_list and not remove_list:
            raise BadRequest("give at least one tag to add or remove")
        with self.db.write() as conn:
            clip_id = self._require(conn, clip_id)
            with conn.cursor() as cur:
                cur.executemany("DELETE FROM clip_tags WHERE clip_id = %s AND tag = %s", [(clip_id, t) for t in remove_list])
                cur.executemany("INSERT INTO clip_tags (clip_id, tag) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                [(clip_id, t) for t in add_list])
        return self.get(clip_id)

    def rate(self, clip_id: int, value: float | str) -> Clip:
        parsed = parse_feedback(value)
        with self.db.write() as conn:
            clip_id = self._require(conn, clip_id)
            old = conn.execute("SELECT rating, kept, rejected FROM feedback WHERE clip_id = %s FOR UPDATE",
                               (clip_id,)).fetchone()
            conn.execute(
                "INSERT INTO feedback (clip_id, rating, kept, rejected, updated_at) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (clip_id) DO UPDATE SET rating = excluded.rating, kept = excluded.kept,"
                " rejected = excluded.rejected, updated_at = excluded.updated_at",
                (clip_id, *next_feedback(value, parsed, old), time.time()),
            )
        return self.get(clip_id)

    def forget(self, clip_id: int) -> None:
        with self.db.write() as conn:
            clip_id = self._require(conn, clip_id)
            spaces = [r[0] for r in conn.execute("SELECT space FROM vectors WHERE clip_id = %s", (clip_id,))]
            conn.execute("DELETE FROM clips WHERE id = %s", (clip_id,))  # cascades to everything else
            log_changes(conn, clip_id, [(s, "del") for s in spaces])

    # -- stale features ------------------------------------------------------------------------

    def features(self, clip_id: int, *, refresh: bool = True) -> dict[str, Any] | None:
        return refresh_features(self, clip_id, refresh)

    def stale_ids(self) -> list[int]:
        """Clips whose features came from another analyzer version (or were never computed)."""
        if self.analyzer is None:
            return []
        with self.db.read() as conn:
            return [int(r[0]) for r in conn.execute(
                "SELECT c.id FROM clips c LEFT JOIN features f ON f.clip_id = c.id"
                " WHERE f.analyzer_version IS NULL OR f.analyzer_version != %s", (self.analyzer.version,))]

    # -- DAW sessions --------------------------------------------------------------------------

    def save_session(self, name: str, values: dict[str, Any]) -> None:
        name, data = session_name(name), session_json(values)
        with self.db.write() as conn:
            conn.execute("INSERT INTO sessions (name, data, updated_at) VALUES (%s, %s, %s) ON CONFLICT (name)"
                         " DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at", (name, data, time.time()))

    def load_session(self, name: str) -> dict[str, Any]:
        from grym_bridge.errors import NotFound

        name = session_name(name)
        with self.db.read() as conn:
            row = conn.execute("SELECT data FROM sessions WHERE name = %s", (name,)).fetchone()
        if row is None:
            known = ", ".join(self.list_sessions()[:10]) or "none yet"
            raise NotFound(f"no session named {name!r} (stored: {known})")
        return json.loads(row[0])

    def list_sessions(self) -> list[str]:
        with self.db.read() as conn:
            return [r[0] for r in conn.execute("SELECT name FROM sessions ORDER BY name")]

    # -- housekeeping --------------------------------------------------------------------------

    def stats(self) -> MemoryStats:
        with self.db.read() as conn:
            def count(sql: str, *args: Any) -> int:
                return int(conn.execute(sql, args).fetchone()[0])

            by_source = dict(conn.execute("SELECT source, count(*) FROM clips GROUP BY source").fetchall())
            vectors = dict(conn.execute("SELECT space, count(*) FROM vectors GROUP BY space").fetchall())
            patterns = dict(conn.execute("SELECT kind, count(*) FROM patterns GROUP BY kind").fetchall())
            size = count("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n"
                         " ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'")
            stats = MemoryStats(
                backend=self.backend, location=self.db.where, schema_version=schema_version(conn),
                clips=count("SELECT count(*) FROM clips"), by_source=by_source, vectors=vectors, patterns=patterns,
                tags=count("SELECT count(DISTINCT tag) FROM clip_tags"),
                kept=count("SELECT count(*) FROM feedback WHERE kept"),
                rejected=count("SELECT count(*) FROM feedback WHERE rejected"),
                rated=count("SELECT count(*) FROM feedback WHERE rating IS NOT NULL"),
                stale=len(self.stale_ids()), sessions=count("SELECT count(*) FROM sessions"),
                size_bytes=size, index={},
            )
        if self.indexes is None:
            index = {space: {"space": space, "mode": "pgvector-hnsw", "count": n,
                             "dim": self._dim(space)} for space, n in stats.vectors.items()}
        else:
            index = {space: vars(self.indexes.index(space).info()) for space in stats.vectors}
        return dataclasses.replace(stats, index=index)

    def _dim(self, space: str) -> int | None:
        with self.db.read() as conn:
            row = conn.execute("SELECT vector_dims(v) FROM vectors WHERE space = %s LIMIT 1", (space,)).fetchone()
        return None if row is None else int(row[0])

    def generation(self) -> tuple[int, int]:
        return self.db.generation()

    def close(self) -> None:
        if self.db.closed:
            return
        try:
            if self.indexes is not None:
                self.indexes.save()
                self.indexes.compact_log()
        finally:
            self.db.close()
