"""A writer for the durability test: writes to the memory until it is killed.

Prints `<clip id> <content hash>` (or `tag <id>` / `rate <id>`) on a line of its
own right after each write returns, that is, after its COMMIT: every printed
line is an acknowledged write that must survive a SIGKILL.

Usage: python kill_writer.py DB_PATH_OR_DSN SEED  (a DSN: the shared PostgreSQL memory, index in DB_INDEX_DIR)
"""

from __future__ import annotations

import sys

import numpy as np

from grym_bridge.memory.pg_store import PostgresMemory
from grym_bridge.memory.sqlite_store import SqliteMemory


def main() -> None:
    path, seed = sys.argv[1], int(sys.argv[2])
    rng = np.random.default_rng(seed)
    # exact_below=50: the HNSW graph is built and saved while the kills land, so they hit index saves too.
    if path.startswith("postgresql://"):
        store = PostgresMemory(path, exact_below=50, index_dir=sys.argv[3], machine=f"writer-{seed}", listen=False)
    else:
        store = SqliteMemory(path, exact_below=50, synchronous="normal")
    out = sys.stdout
    n = 0
    while True:
        n += 1
        clip = store.add_clip(f"/audio/{seed}-{n}.wav", content_hash=f"{seed}-{n}",
                              vector=rng.normal(size=12), tags=["k"] if n % 3 else ["s"],
                              provenance={"seed": seed, "n": n})
        out.write(f"{clip.id} {clip.content_hash}\n")
        out.flush()
        if n % 7 == 0:
            store.rate(clip.id, "kept")
            out.write(f"kept {clip.id}\n")
            out.flush()
        if n % 25 == 0:
            store.similar(clip.id, k=5)
            if store.indexes is not None:
                store.indexes.save()


if __name__ == "__main__":
    main()
