"""Similarity search: threshold semantics, exact vs HNSW, and the persisted index's rebuilds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grym_bridge.memory.sqlite_store import SqliteMemory
from tests.memory.conftest import clustered_vectors


def _fill(store: SqliteMemory, vectors: np.ndarray) -> list[int]:
    return [store.add_clip(f"/lib/{i}.wav", content_hash=f"h{i}", vector=v).id for i, v in enumerate(vectors)]


def test_threshold_keeps_exactly_the_matches_at_or_above_it(tmp_path: Path) -> None:
    store = SqliteMemory(tmp_path / "m.sqlite3")
    angles = np.radians([0, 10, 30, 60, 90, 180])
    ids = _fill(store, np.stack([np.cos(angles), np.sin(angles)], axis=1))
    cos = np.cos(angles)
    everything = store.similar([1.0, 0.0], k=10)
    assert [m.id for m in everything] == ids  # best first
    np.testing.assert_allclose([m.score for m in everything], cos, atol=1e-6)
    at_30 = store.similar([1.0, 0.0], k=10, threshold=float(np.cos(np.radians(30))) - 1e-6)
    assert [m.id for m in at_30] == ids[:3]  # inclusive: a match exactly at the threshold stays
    assert store.similar([1.0, 0.0], k=2, threshold=0.0) == everything[:2]  # k still caps
    assert store.similar([1.0, 0.0], k=10, threshold=1.0)[0].id == ids[0]
    assert [m.id for m in store.similar([1.0, 0.0], k=10, threshold=-1.0)] == ids
    # A clip as the query never returns itself.
    assert ids[0] not in [m.id for m in store.similar(ids[0], k=10)]
    store.close()


def test_hnsw_above_the_threshold_agrees_with_exact_search(tmp_path: Path) -> None:
    vectors, _ = clustered_vectors(3000, dim=24, clusters=30)
    exact = SqliteMemory(tmp_path / "exact.sqlite3", exact_below=10**9, synchronous="normal")
    approx = SqliteMemory(tmp_path / "approx.sqlite3", exact_below=1000, synchronous="normal")
    _fill(exact, vectors)
    _fill(approx, vectors)
    queries = vectors[:50] + 0.05
    hits = 0
    for q in queries:
        truth = {m.id for m in exact.similar(q, k=10)}
        got = approx.similar(q, k=10)
        hits += len(truth & {m.id for m in got})
        assert [m.score for m in got] == sorted((m.score for m in got), reverse=True)
    assert approx.stats().index["features"]["mode"] == "hnsw"
    assert hits / (10 * len(queries)) >= 0.95
    exact.close()
    approx.close()


def _index_store(tmp_path: Path) -> tuple[SqliteMemory, np.ndarray, list[int]]:
    vectors, _ = clustered_vectors(400, dim=8)
    store = SqliteMemory(tmp_path / "m.sqlite3", exact_below=100, synchronous="normal")
    return store, vectors, _fill(store, vectors)


@pytest.mark.parametrize("damage", ["delete_all", "delete_graph", "corrupt_vectors", "corrupt_graph", "corrupt_meta"])
def test_a_missing_or_damaged_index_is_rebuilt_from_the_store(tmp_path: Path, damage: str) -> None:
    store, vectors, ids = _index_store(tmp_path)
    assert store.similar(vectors[7], k=1)[0].id == ids[7]
    store.close()
    index_dir = tmp_path / "m-index"
    assert sorted(p.name for p in index_dir.iterdir()) == ["features.hnsw", "features.json", "features.npz"]
    target = {"delete_all": None, "delete_graph": "features.hnsw", "corrupt_vectors": "features.npz",
              "corrupt_graph": "features.hnsw", "corrupt_meta": "features.json"}[damage]
    if target is None:
        for p in index_dir.iterdir():
            p.unlink()
    elif damage.startswith("delete"):
        (index_dir / target).unlink()
    else:
        data = bytearray((index_dir / target).read_bytes())
        data[len(data) // 2] ^= 0xFF
        data[10] ^= 0xFF
        (index_dir / target).write_bytes(bytes(data))
    again = SqliteMemory(tmp_path / "m.sqlite3", exact_below=100)
    found = again.similar(vectors[7], k=5)
    assert found[0].id == ids[7] and found[0].score == pytest.approx(1.0, abs=1e-5)
    assert again.indexes.rebuilt and again.indexes.rebuilt[0][0] == "features"
    assert sorted(again.indexes.index("features").ids()) == ids and again.stats().index["features"]["mode"] == "hnsw"
    again.close()
    # ... and saved again, so the next open needs no rebuild and finds the same graph.
    third = SqliteMemory(tmp_path / "m.sqlite3", exact_below=100)
    assert third.similar(vectors[7], k=5) == found
    assert third.indexes.rebuilt == []
    third.close()


def test_an_index_from_another_store_is_not_trusted(tmp_path: Path) -> None:
    store, vectors, ids = _index_store(tmp_path)
    store.similar(vectors[0], k=1)
    store.close()
    assert (tmp_path / "m-index" / "features.json").exists()
    (tmp_path / "m.sqlite3").unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp_path / 'm.sqlite3'}{suffix}").unlink(missing_ok=True)
    fresh = SqliteMemory(tmp_path / "m.sqlite3", exact_below=100)  # a new, empty memory, old index files beside it
    assert fresh.similar(vectors[0], k=5) == []
    assert "another store" in fresh.indexes.rebuilt[0][1]
    fresh.close()


def test_writes_by_another_process_reach_a_running_index(tmp_path: Path) -> None:
    server, vectors, ids = _index_store(tmp_path)
    assert server.similar(vectors[0], k=1)[0].id == ids[0]
    cli = SqliteMemory(tmp_path / "m.sqlite3", exact_below=100)
    new = cli.add_clip("/lib/new.wav", content_hash="new", vector=vectors[0] * 2 + 0.001).id
    cli.forget(ids[0])
    cli.close()
    top = server.similar(vectors[0], k=2)
    assert top[0].id == new and ids[0] not in [m.id for m in top]
    server.close()


def test_an_index_saved_before_more_writes_catches_up_from_the_log(tmp_path: Path) -> None:
    store, vectors, ids = _index_store(tmp_path)
    store.similar(vectors[0], k=1)
    store.indexes.save()
    moved = store.add_clip("/lib/moved.wav", content_hash="m", vector=-vectors[3]).id
    store.forget(ids[3])
    store.db.close()  # killed: the index on disk is older than the store
    again = SqliteMemory(tmp_path / "m.sqlite3", exact_below=100)
    assert again.similar(-vectors[3], k=1)[0].id == moved
    assert ids[3] not in [m.id for m in again.similar(vectors[3], k=20)]
    assert again.indexes.rebuilt == []
    again.close()


def test_a_compacted_log_forces_a_rebuild_of_an_older_index(tmp_path: Path) -> None:
    store, vectors, ids = _index_store(tmp_path)
    store.similar(vectors[0], k=1)
    store.indexes.save()
    stale_meta = (tmp_path / "m-index" / "features.json").read_bytes()
    stale = {p.name: p.read_bytes() for p in (tmp_path / "m-index").iterdir()}
    newest = store.add_clip("/lib/late.wav", content_hash="late", vector=vectors[5] + 0.01).id
    store.similar(vectors[0], k=1)
    store.indexes.save()
    store.db.conn.execute("DELETE FROM vector_changes")  # what compaction does, past the stale index
    seq = store.db.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'vector_changes'").fetchone()[0]
    store.db.conn.execute("UPDATE meta SET value = ? WHERE key = 'vector_log_floor'", (str(seq),))
    store.db.close()
    for name, data in stale.items():
        (tmp_path / "m-index" / name).write_bytes(data)
    assert (tmp_path / "m-index" / "features.json").read_bytes() == stale_meta
    again = SqliteMemory(tmp_path / "m.sqlite3", exact_below=100)
    assert newest in [m.id for m in again.similar(vectors[5], k=3)]
    assert [why for _, why in again.indexes.rebuilt] == ["the change log was compacted past it"]
    again.close()


def test_embedding_space_is_searched_separately(tmp_path: Path) -> None:
    store = SqliteMemory(tmp_path / "m.sqlite3")
    a = store.add_clip("/a.wav", content_hash="a", vector=[1, 0], embedding=[0, 0, 1]).id
    b = store.add_clip("/b.wav", content_hash="b", vector=[0, 1], embedding=[0, 0.1, 1]).id
    assert store.similar(a, k=1, space="embedding")[0].id == b
    assert store.similar([0, 0, 1], k=2, space="embedding")[0].id == a
    store.close()


def test_hnsw_after_most_clips_are_forgotten_still_answers_correctly(tmp_path: Path) -> None:
    store, vectors, ids = _index_store(tmp_path)  # 400 clips, HNSW from 100
    store.similar(vectors[0], k=1)
    gone = set(ids[:380])
    for clip_id in gone:
        store.forget(clip_id)
    store.indexes.exact_below = 10  # keep the graph in use with only 20 clips left
    store.indexes.index("features").exact_below = 10
    found = store.similar(vectors[0], k=20)
    assert {m.id for m in found} == set(ids[380:])
    store.close()
