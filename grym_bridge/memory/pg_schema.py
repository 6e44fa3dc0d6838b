"""The PostgreSQL schema of the shared memory and its numbered migrations.

Table `grym_schema` holds the version. Each migration runs in its own
transaction under a transaction-scoped advisory lock (so two bridges starting
at once migrate once, and the lock works through PgBouncer in transaction
mode); a database made by a newer grym-bridge is refused rather than guessed at.
The tables mirror the SQLite store's (`schema`), plus `locations` (which
machine holds a clip at which path) and a `grym_writes` sequence whose value
changes with every committed write (the store's generation, shared by all bridges).
"""

from __future__ import annotations

from typing import Any

from grym_bridge.memory.schema import MemoryCorrupt

#: The advisory lock key migrations and the vector extension's set-up hold (any fixed number).
LOCK_KEY = 0x6772796D  # "grym"

_V1 = """
CREATE TABLE clips (
    id            bigserial PRIMARY KEY,
    path          text NOT NULL,
    content_hash  text NOT NULL UNIQUE,
    source        text NOT NULL CHECK (source IN ('analyzed', 'generated', 'rendered', 'imported')),
    duration_s    double precision,
    sample_rate   integer,
    provenance    text NOT NULL DEFAULT '{}',
    created_at    double precision NOT NULL,
    updated_at    double precision NOT NULL
);
CREATE INDEX clips_by_path ON clips (path);
CREATE TABLE clip_tags (
    clip_id  bigint NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
    tag      text NOT NULL,
    PRIMARY KEY (clip_id, tag)
);
CREATE INDEX tags_by_tag ON clip_tags (tag, clip_id);
CREATE TABLE features (
    clip_id           bigint PRIMARY KEY REFERENCES clips (id) ON DELETE CASCADE,
    analyzer_version  text,
    data              text NOT NULL
);
CREATE TABLE vectors (
    clip_id  bigint NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
    space    text NOT NULL,
    vec      bytea NOT NULL,
    PRIMARY KEY (clip_id, space)
);
CREATE TABLE patterns (
    clip_id  bigint NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
    kind     text NOT NULL,
    vec      bytea NOT NULL,
    PRIMARY KEY (clip_id, kind)
);
CREATE TABLE feedback (
    clip_id     bigint PRIMARY KEY REFERENCES clips (id) ON DELETE CASCADE,
    rating      double precision,
    kept        boolean NOT NULL DEFAULT false,
    rejected    boolean NOT NULL DEFAULT false,
    updated_at  double precision NOT NULL
);
CREATE TABLE sessions (
    name        text PRIMARY KEY,
    data        text NOT NULL,
    updated_at  double precision NOT NULL
);
CREATE TABLE vector_changes (
    seq      bigserial PRIMARY KEY,
    space    text NOT NULL,
    clip_id  bigint NOT NULL,
    op       text NOT NULL CHECK (op IN ('put', 'del'))
);
CREATE TABLE meta (
    key    text PRIMARY KEY,
    value  text NOT NULL
);
INSERT INTO meta (key, value) VALUES ('store_id', md5(random()::text || clock_timestamp()::text));
INSERT INTO meta (key, value) VALUES ('vector_log_floor', '0');
CREATE SEQUENCE grym_writes;
"""

# Migration 2: which machine holds each clip, at which path (audio stays where it is).
_V2 = """
CREATE TABLE locations (
    clip_id     bigint NOT NULL REFERENCES clips (id) ON DELETE CASCADE,
    machine     text NOT NULL,
    path        text NOT NULL,
    updated_at  double precision NOT NULL,
    PRIMARY KEY (clip_id, machine)
);
CREATE INDEX locations_by_machine ON locations (machine, path);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def schema_version(conn: Any) -> int:
    """The database's schema version (0: not a grym memory yet)."""
    if conn.execute("SELECT to_regclass('grym_schema')").fetchone()[0] is None:
        return 0
    row = conn.execute("SELECT version FROM grym_schema").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: Any, where: str, target: int = SCHEMA_VERSION) -> int:
    """Bring the database up to `target`, one transaction per migration; returns the version reached.

    `conn` is a psycopg connection in autocommit mode; `where` names the database in errors.
    """
    with conn.transaction():
        version = schema_version(conn)
        if version == 0 and conn.execute("SELECT to_regclass('clips')").fetchone()[0] is not None:
            raise MemoryCorrupt(f"the database {where} has a `clips` table but is not a grym-bridge memory; "
                                "point memory.dsn at an empty database")
    if version > SCHEMA_VERSION:
        raise MemoryCorrupt(f"the memory database {where} has schema version {version}, newer than this "
                            f"grym-bridge understands ({SCHEMA_VERSION}); upgrade grym-bridge on this machine")
    for number in range(version + 1, target + 1):
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            # Another bridge may have migrated while we waited for the lock.
            conn.execute("CREATE TABLE IF NOT EXISTS grym_schema (version integer NOT NULL)")
            if schema_version(conn) >= number:
                continue
            for statement in _statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
            conn.execute("DELETE FROM grym_schema")
            conn.execute("INSERT INTO grym_schema (version) VALUES (%s)", (number,))
    return max(version, target)
