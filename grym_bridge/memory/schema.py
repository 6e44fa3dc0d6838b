"""The SQLite schema, its numbered migrations, and opening a database file safely.

`PRAGMA user_version` holds the schema version. Each migration runs in its own
transaction, so a process killed mid-upgrade leaves the previous version intact
and the next open resumes. A database made by a newer grym-bridge is refused
rather than guessed at; a file that is not a healthy SQLite database is reported
and never overwritten.

Durability: the store runs in WAL mode. A commit appends to the WAL; with
`synchronous=NORMAL` the WAL is fsynced only at checkpoints, which survives a
killed process (the OS still holds the written pages) but may lose the last
transactions on power loss. With `synchronous=FULL` (the default,
`memory.synchronous`) every commit is fsynced before it returns, so an
acknowledged write also survives power loss. Either way the database stays
consistent.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from grym_bridge.errors import GrymError, disk_full, is_disk_full


class MemoryCorrupt(GrymError):
    """The memory database file is damaged or not a grym-bridge database."""

    code = "store_corrupt"


class MemoryUnavailable(GrymError):
    """The memory database cannot be opened now (permissions, a lock held too long)."""

    code = "store_unavailable"


# Migration 1: clips, their tags, features, vectors, patterns, feedback, DAW sessions.
_V1 = """
CREATE TABLE clips (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    path          TEXT NOT NULL,
    content_hash  TEXT NOT NULL UNIQUE,
    source        TEXT NOT NULL CHECK (source IN ('analyzed', 'generated', 'rendered', 'imported')),
    duration_s    REAL,
    sample_rate   INTEGER,
    provenance    TEXT NOT NULL DEFAULT '{}',
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE INDEX clips_by_path ON clips (path);
CREATE TABLE clip_tags (
    clip_id  INTEGER NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (clip_id, tag)
) WITHOUT ROWID;
CREATE INDEX tags_by_tag ON clip_tags (tag, clip_id);
CREATE TABLE features (
    clip_id           INTEGER PRIMARY KEY REFERENCES clips (id) ON DELETE CASCADE,
    analyzer_version  TEXT,
    data              TEXT NOT NULL
);
CREATE TABLE vectors (
    clip_id  INTEGER NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
    space    TEXT NOT NULL,
    vec      BLOB NOT NULL,
    PRIMARY KEY (clip_id, space)
) WITHOUT ROWID;
CREATE TABLE patterns (
    clip_id  INTEGER NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    vec      BLOB NOT NULL,
    PRIMARY KEY (clip_id, kind)
) WITHOUT ROWID;
CREATE TABLE feedback (
    clip_id     INTEGER PRIMARY KEY REFERENCES clips (id) ON DELETE CASCADE,
    rating      REAL,
    kept        INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    updated_at  REAL NOT NULL
);
CREATE TABLE sessions (
    name        TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    updated_at  REAL NOT NULL
);
"""

# Migration 2: a log of vector changes, so every process's in-memory index (the server's, a
# CLI's) catches up with writes made elsewhere by replaying what is newer than it has seen.
# Existing vectors are back-filled as additions. `meta` holds the store's identity (an index file
# names the store it was built from) and the log's floor (changes below it were compacted away).
_V2 = """
CREATE TABLE vector_changes (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    space    TEXT NOT NULL,
    clip_id  INTEGER NOT NULL,
    op       TEXT NOT NULL CHECK (op IN ('put', 'del'))
);
INSERT INTO vector_changes (space, clip_id, op) SELECT space, clip_id, 'put' FROM vectors ORDER BY clip_id;
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('store_id', lower(hex(randomblob(16))));
INSERT INTO meta (key, value) VALUES ('vector_log_floor', '0');
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)


def _corrupt(path: Path, detail: str) -> MemoryCorrupt:
    return MemoryCorrupt(
        f"the memory database {path} cannot be used ({detail}). It was left untouched: move it aside "
        f"(or restore a backup) and grym-bridge starts a new, empty memory; "
        f"`sqlite3 {path.name} .recover` may rescue its contents"
    )


def connect(path: Path, *, synchronous: str = "full") -> sqlite3.Connection:
    """Open (creating if needed) the database at `path`, check it, and migrate it to the current schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a write is acknowledged exactly
    # when its COMMIT returns. check_same_thread=False: the store serializes access with a lock.
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    except sqlite3.Error as exc:
        raise MemoryUnavailable(f"cannot open the memory database {path} ({exc}); check that the data folder "
                                "is writable") from None
    try:
        # Reading the header first: on a file that is not SQLite this raises before anything is written.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise MemoryCorrupt(
                f"the memory database {path} has schema version {version}, newer than this grym-bridge "
                f"understands ({SCHEMA_VERSION}); upgrade grym-bridge or point --data-dir elsewhere"
            )
        if version > 0:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "clips" not in tables:
                raise _corrupt(path, "it is an SQLite file but not a grym-bridge memory")
        elif conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise _corrupt(path, "it is an SQLite file of another program")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {'FULL' if synchronous == 'full' else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, version)
    except sqlite3.OperationalError as exc:
        conn.close()
        if is_disk_full(exc):
            raise disk_full(exc, f"the memory database {path}") from None
        if "locked" in str(exc) or "busy" in str(exc):
            raise MemoryUnavailable(f"the memory database {path} stayed locked by another process; retry") from None
        raise MemoryUnavailable(f"cannot open the memory database {path} ({exc}); check that the data folder "
                                "exists and is writable") from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise _corrupt(path, str(exc)) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, version: int, target: int = SCHEMA_VERSION) -> None:
    for number in range(version + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                conn.execute("ROLLBACK")
                continue
            for statement in _statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def migrate_to(conn: sqlite3.Connection, target: int) -> None:
    """Bring a fresh connection up to schema `target` only (tests build old databases with it)."""
    _migrate(conn, conn.execute("PRAGMA user_version").fetchone()[0], target)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]

