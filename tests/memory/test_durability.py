"""Durability: a writer killed with SIGKILL at random moments never loses an acknowledged write.

`synchronous=NORMAL` is used on purpose: it is the weaker setting, and it is
enough against a killed process (the WAL pages are in the OS's hands once
COMMIT returns). What it does not cover, power loss, is what the default
`synchronous=FULL` adds; no test here can pull the plug.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from grym_bridge.memory.sqlite_store import SqliteMemory

ROUNDS = 16
REPO = Path(__file__).resolve().parents[2]


def _run_and_kill(db: Path | str, seed: int, rng: random.Random, *extra: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("kill_writer.py")), str(db), str(seed), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)
    first = b""
    if rng.random() < 0.2:
        # Some kills land while the process starts and opens (maybe migrates) the store ...
        time.sleep(rng.uniform(0.05, 0.3))
    else:
        # ... most mid-stream: after its first acknowledged write, however slow this machine is.
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the writer acknowledged nothing within 30 s"
        first = proc.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.3))
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    text = (first + out).decode()
    # Only complete lines are acknowledgements; a torn last line was never acknowledged.
    return text.split("\n")[:-1]


def test_no_acknowledged_write_is_lost_to_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "memory.sqlite3"
    rng = random.Random(1234)
    acknowledged: dict[str, int] = {}
    kept: set[int] = set()
    for round_ in range(ROUNDS):
        for line in _run_and_kill(db, round_, rng):
            first, second = line.split(" ")
            if first == "kept":
                kept.add(int(second))
            else:
                acknowledged[second] = int(first)
        store = SqliteMemory(db, exact_below=50)
        try:
            assert store.integrity_check() == "ok"
            for content_hash, clip_id in acknowledged.items():
                found = store.find_by_hash(content_hash)
                assert found is not None and found.id == clip_id, f"round {round_}: lost {content_hash}"
            for clip_id in kept:
                assert store.get(clip_id).feedback.kept
            # The index (saved or not when the kill came) answers for every stored vector.
            stored = store.stats().vectors.get("features", 0)
            assert store.stats().index.get("features", {}).get("count", 0) == stored
            if acknowledged:
                some = random.Random(round_).choice(list(acknowledged.values()))
                assert store.similar(np.asarray(store.vector(some)), k=1)[0].id == some
        finally:
            store.db.close()  # not close(): leave the index files exactly as the kill left them
    assert len(acknowledged) > 50 and len(kept) > 5, (len(acknowledged), len(kept))  # the kills hit real work


def test_a_bridge_killed_while_writing_to_postgresql_loses_nothing_it_acknowledged(pg_cluster, tmp_path: Path) -> None:
    """The same kills against the shared PostgreSQL memory: a COMMIT that returned is in the database."""
    from grym_bridge.memory.pg_store import PostgresMemory

    dsn = pg_cluster.dsn(pg_cluster.new_database())
    rng = random.Random(99)
    acknowledged: dict[str, int] = {}
    kept: set[int] = set()
    for round_ in range(5):
        for line in _run_and_kill(dsn, round_, rng, str(tmp_path / f"index-{round_}")):
            first, second = line.split(" ")
            if first == "kept":
                kept.add(int(second))
            else:
                acknowledged[second] = int(first)
    store = PostgresMemory(dsn, exact_below=50, index_dir=tmp_path / "check-index", listen=False)
    try:
        for content_hash, clip_id in acknowledged.items():
            found = store.find_by_hash(content_hash)
            assert found is not None and found.id == clip_id, f"lost {content_hash}"
        assert all(store.get(clip_id).feedback.kept for clip_id in kept)
        some = random.Random(1).choice(list(acknowledged.values()))
        assert store.similar(np.asarray(store.vector(some)), k=1)[0].id == some
    finally:
        store.close()
    assert len(acknowledged) > 20 and kept, (len(acknowledged), len(kept))
