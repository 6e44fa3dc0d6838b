"""Schema versions, migrations, and damaged database files (reported, never overwritten)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

from grym_bridge.memory import schema
from grym_bridge.memory.schema import SCHEMA_VERSION, MemoryCorrupt
from grym_bridge.memory.sqlite_store import SqliteMemory
from grym_bridge.memory.vectors import to_blob


def _version_1_database(path: Path) -> None:
    """A database as the first release wrote it: schema 1, two clips with vectors, no change log."""
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate_to(conn, 1)
    now = time.time()
    for i, vec in enumerate(([1.0, 0.0], [0.0, 1.0]), start=1):
        conn.execute("INSERT INTO clips (path, content_hash, source, created_at, updated_at) VALUES (?, ?, 'analyzed', ?, ?)",
                     (f"/old/{i}.wav", f"hash{i}", now, now))
        conn.execute("INSERT INTO vectors (clip_id, space, vec) VALUES (?, 'features', ?)", (i, to_blob(np.float32(vec))))
    conn.execute("INSERT INTO clip_tags (clip_id, tag) VALUES (1, 'old')")
    conn.close()


def test_a_version_1_database_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    _version_1_database(path)
    store = SqliteMemory(path)
    try:
        assert store.stats().schema_version == SCHEMA_VERSION == 2
        assert store.get(1).tags == ("old",)
        # Migration 2 back-filled the change log, so the index sees the old vectors.
        assert [m.id for m in store.similar([1.0, 0.1], k=2)] == [1, 2]
        logged = store.db.conn.execute("SELECT clip_id, op FROM vector_changes ORDER BY seq").fetchall()
        assert logged == [(1, "put"), (2, "put")]
    finally:
        store.close()


def test_migrations_are_idempotent_across_opens(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    SqliteMemory(path).close()
    store = SqliteMemory(path)
    store_id = store.db.conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()[0]
    store.close()
    again = SqliteMemory(path)
    assert again.db.conn.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()[0] == store_id
    again.close()


def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    SqliteMemory(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(MemoryCorrupt, match="newer than this grym-bridge"):
        SqliteMemory(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("damage", ["garbage", "truncated_header", "foreign_sqlite"])
def test_a_damaged_database_is_reported_and_never_overwritten(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "m.sqlite3"
    if damage == "garbage":
        path.write_bytes(b"this is not a database, it is a shopping list\n" * 200)
    elif damage == "truncated_header":
        store = SqliteMemory(path)
        store.add_clip("/x.wav", content_hash="h", vector=[1, 0])
        store.close()
        data = path.read_bytes()
        path.write_bytes(b"\0" * 100 + data[100:])  # the 100-byte SQLite header wiped
    else:
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.commit()
        conn.close()
    before = path.read_bytes()
    with pytest.raises(MemoryCorrupt) as info:
        SqliteMemory(path)
    assert str(path) in info.value.message and "untouched" in info.value.message
    assert info.value.code == "store_corrupt"
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists() or damage == "truncated_header"


def test_damage_inside_the_file_is_reported_when_met_and_the_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    store = SqliteMemory(path)
    for i in range(300):
        store.add_clip(f"/x/{i}.wav", content_hash=f"h{i}", vector=np.arange(1, 65, dtype=np.float32) + i,
                       provenance={"note": "x" * 200})
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(3 * page, len(data) - page, 2 * page):  # every other page from the fourth on
        data[offset:offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    damaged = bytes(data)
    store = SqliteMemory(path)  # the header is intact: the damage shows when a damaged page is read
    with pytest.raises(MemoryCorrupt, match="is damaged .*malformed.*left untouched"):
        store.integrity_check()
    with pytest.raises(MemoryCorrupt, match="is damaged"):
        store.similar(np.ones(64), k=5)  # reads every vector
    store.close()
    assert path.read_bytes() == damaged
