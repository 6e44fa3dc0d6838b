"""grym's feature memory at 100,000 clips, against numpy brute force and the ANN libraries, in one run.

Run:  .venv/bin/python bench/memory.py [--n 100000] [--dim 48] [--queries 500] [--full-tail 3000]
                                      [--pg-writes 2000] [--no-pg]

What it measures, on the same vectors in the same process:
1. writes: `SqliteMemory.add_clip` (one committed transaction per clip, with its vector and the
   change-log row) against a bare `INSERT` + COMMIT into a one-table SQLite file with the same
   pragmas: the cost of the store's bookkeeping on top of SQLite itself. The last --full-tail
   writes run with synchronous=FULL (an fsync per commit: what the disk costs), the rest NORMAL;
2. reads: `get(id)` of random clips (mostly cache misses) and of a hot set (cache hits);
3. similar(k=10): grym (its usearch HNSW graph above `memory.exact_below`) and grym forced
   exact, against numpy brute force (the truth for recall@10) and the candidates for the
   approximate index: hnswlib, usearch, faiss (IndexHNSWFlat) and sqlite-vec (vec0, an exact
   scan in SQL); for each, build time, single-insert p95, query p95, recall@10 and whether it
   can delete. (Installability, the tie-breaker, is not timed: hnswlib has no wheels on PyPI.)
4. open: loading the persisted index against rebuilding it from the store.
5. PostgreSQL (`bench/memory_pg.py`, skipped with --no-pg): the shared memory on a real server,
   with pgvector (search in PostgreSQL, HNSW) and with each bridge's local usearch index fed
   from the change log: write p95 (--pg-writes clips through `add_clip` on a store of n),
   read p95, similar p95 and recall@10 against the same numpy truth as above.

The vectors are unit length, drawn around 500 cluster centres (real libraries cluster: kicks
with kicks, pads with pads); queries are held-out vectors with noise. FEATURE_DIM of the
analyzer is 48. Goals (issue 4): write p95 < 2 ms, read p95 < 1 ms, similar p95 < 5 ms at
100,000 clips with recall@10 >= 0.95.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core for every contender, set before numpy loads

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grym_bridge.memory.index import DEFAULT_EF, HNSW_EF_CONSTRUCTION, HNSW_M  # noqa: E402
from grym_bridge.memory.sqlite_store import SqliteMemory  # noqa: E402

K = 10


def ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(seconds, q) * 1e3)


def dataset(n: int, dim: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(size=(500, dim))
    x = centres[rng.integers(0, 500, n + queries)] + 0.45 * rng.normal(size=(n + queries, dim))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    q = x[n:] + 0.1 * rng.normal(size=(queries, dim)).astype(np.float32)
    return x[:n], (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def recall(found: list[np.ndarray], truth: list[set[int]]) -> float:
    return float(np.mean([len(set(map(int, f)) & t) / K for f, t in zip(found, truth)]))


def row(name: str, build_s: float | None, insert_p95: float | None, query: list[float], rec: float, deletes: str) -> None:
    b = f"{build_s:8.2f}" if build_s is not None else "       -"
    i = f"{insert_p95:8.3f}" if insert_p95 is not None else "       -"
    print(f"  {name:<26}{b}  {i}  {ms(query, 50):8.3f}  {ms(query, 95):8.3f}  {rec:7.3f}  {deletes}")


def bench_writes(tmp: Path, x: np.ndarray, full_tail: int) -> tuple[SqliteMemory, list[int], dict[str, list[float]]]:
    """Write every vector through grym and through bare SQLite, alternating, one commit each.

    The first `len(x) - full_tail` writes run with synchronous=NORMAL, the last `full_tail` with
    FULL (an fsync per commit), so both settings are measured on a store of the full size.
    """
    store = SqliteMemory(tmp / "grym.sqlite3", synchronous="normal", exact_below=20_000)
    bare = sqlite3.connect(tmp / "bare.sqlite3", isolation_level=None)
    bare.execute("PRAGMA journal_mode = WAL")
    bare.execute("PRAGMA synchronous = NORMAL")
    bare.execute("CREATE TABLE clips (id INTEGER PRIMARY KEY, hash TEXT UNIQUE, path TEXT, vec BLOB)")
    times: dict[str, list[float]] = {"grym normal": [], "bare normal": [], "grym full": [], "bare full": []}
    ids = []
    step = max(1, len(x) // 10)
    for i, vec in enumerate(x):
        mode = "normal" if i < len(x) - full_tail else "full"
        if i == len(x) - full_tail:
            for conn in (store.db.conn, bare):
                conn.execute("PRAGMA synchronous = FULL")
        # Alternate the two so that the machine's load falls on both alike.
        t0 = time.perf_counter()
        ids.append(store.add_clip(f"/library/{i}.wav", content_hash=f"{i:064x}", vector=vec).id)
        t1 = time.perf_counter()
        bare.execute("BEGIN IMMEDIATE")
        bare.execute("INSERT INTO clips (hash, path, vec) VALUES (?, ?, ?)", (f"{i:064x}", f"/library/{i}.wav", vec.tobytes()))
        bare.execute("COMMIT")
        t2 = time.perf_counter()
        times[f"grym {mode}"].append(t1 - t0)
        times[f"bare {mode}"].append(t2 - t1)
        if (i + 1) % step == 0:
            print(f"  ... {i + 1} clips written", file=sys.stderr)
    bare.close()
    return store, ids, times


def bench_reads(store: SqliteMemory, ids: list[int], rng: np.random.Generator) -> tuple[list[float], list[float]]:
    cold, hot = [], []
    for clip_id in rng.choice(ids, 5000):
        t, _ = timed(lambda: store.get(int(clip_id)))
        cold.append(t)
    hot_ids = rng.choice(ids, 100)
    for clip_id in np.tile(hot_ids, 50):
        t, _ = timed(lambda: store.get(int(clip_id)))
        hot.append(t)
    return cold, hot


def peers(x: np.ndarray, queries: np.ndarray, truth: list[set[int]], extra: np.ndarray) -> None:
    n, dim = x.shape
    labels = np.arange(n)
    if importlib.util.find_spec("hnswlib"):
        build, g = timed(lambda: _hnswlib(x, labels, dim))
        g.set_ef(DEFAULT_EF)
        q_t, found = _queries(lambda q: g.knn_query(q[None], K)[0][0], queries)
        g.resize_index(n + len(extra))
        ins = [timed(lambda j=j, v=v: g.add_items(v[None], [n + j]))[0] for j, v in enumerate(extra)]
        row(f"hnswlib (M={HNSW_M}, ef={DEFAULT_EF})", build, ms(ins, 95), q_t, recall(found, truth), "mark_deleted")
        del g
    if importlib.util.find_spec("usearch"):
        from usearch.index import Index

        def build_usearch() -> Any:
            u = Index(ndim=dim, metric="ip", dtype="f32", connectivity=HNSW_M, expansion_add=HNSW_EF_CONSTRUCTION,
                      expansion_search=DEFAULT_EF)
            u.add(labels, x)
            return u

        build, u = timed(build_usearch)
        q_t, found = _queries(lambda q: u.search(q, K).keys, queries)
        ins = [timed(lambda j=j, v=v: u.add(n + j, v))[0] for j, v in enumerate(extra)]
        row(f"usearch (M={HNSW_M}, ef={DEFAULT_EF})", build, ms(ins, 95), q_t, recall(found, truth), "remove")
        del u
    if importlib.util.find_spec("faiss"):
        import faiss

        def build_faiss() -> Any:
            f = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            f.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            f.add(x)
            return f

        build, f = timed(build_faiss)
        f.hnsw.efSearch = DEFAULT_EF
        q_t, found = _queries(lambda q: f.search(q[None], K)[1][0], queries)
        ins = [timed(lambda v=v: f.add(v[None]))[0] for v in extra]
        row(f"faiss HNSWFlat (ef={DEFAULT_EF})", build, ms(ins, 95), q_t, recall(found, truth), "no (HNSW)")
        del f
    if importlib.util.find_spec("sqlite_vec"):
        db = _vec_connection()
        if isinstance(db, str):
            print(f"  {'sqlite-vec vec0':<26}not measured: {db}")
            return

        def build_vec() -> None:
            db.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{dim}] distance_metric=cosine)")
            db.execute("BEGIN")
            db.executemany("INSERT INTO v (rowid, embedding) VALUES (?, ?)", ((int(i), x[i].tobytes()) for i in labels))
            db.execute("COMMIT")

        build, _ = timed(build_vec)
        sql = f"SELECT rowid FROM v WHERE embedding MATCH ? AND k = {K}"
        few = queries[:100]  # an exact scan: 100 queries tell its p95 well enough
        q_t, found = _queries(lambda q: np.array([r[0] for r in db.execute(sql, (q.tobytes(),))]), few)
        ins = [timed(lambda j=j, v=v: db.execute("INSERT INTO v (rowid, embedding) VALUES (?, ?)", (n + j, v.tobytes())))[0]
               for j, v in enumerate(extra)]
        row("sqlite-vec vec0 (exact)", build, ms(ins, 95), q_t, recall(found, truth[:100]), "DELETE")


def _vec_connection() -> Any:
    """A connection with sqlite-vec loaded: the stdlib's if it may load extensions, else apsw's."""
    import sqlite_vec

    if hasattr(sqlite3.Connection, "enable_load_extension"):
        db = sqlite3.connect(":memory:", isolation_level=None)
    elif importlib.util.find_spec("apsw"):
        import apsw

        db = apsw.Connection(":memory:")
    else:
        return "this Python's sqlite3 cannot load extensions (pip install apsw to measure it)"
    db.enable_load_extension(True)
    db.load_extension(sqlite_vec.loadable_path())
    db.enable_load_extension(False)
    return db


def _hnswlib(x: np.ndarray, labels: np.ndarray, dim: int) -> Any:
    import hnswlib

    g = hnswlib.Index(space="ip", dim=dim)
    g.init_index(max_elements=len(x), M=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION)
    g.add_items(x, labels)
    return g


def _queries(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    times, found = [], []
    for q in queries:
        t, ids = timed(lambda: search(q))
        times.append(t)
        found.append(ids)
    return times, found


def postgres_rows(tmp: Path, x: np.ndarray, queries: np.ndarray, truth_rows: list[set[int]], writes: int,
                  w: dict[str, list[float]], cold: list[float], g_t: list[float]) -> dict[str, Any]:
    """The PostgreSQL rows, each with its ratio to SQLite's figure of this same run."""
    from bench.memory_pg import bench_postgres

    rows = bench_postgres(tmp, x, queries, truth_rows, writes, ms, recall, K)
    print(f"\nPostgreSQL at {len(x)} clips (ms)   load s  1st q s  write p95  read p95  q p50  q p95  recall@10")
    for name, r in rows.items():
        print(f"  {name:<28}{r['load_s']:7.1f}  {r['first_query_s']:7.2f}  {ms(r['write'], 95):9.3f}"
              f"  {ms(r['read'], 95):8.3f}  {ms(r['query'], 50):5.2f}  {ms(r['query'], 95):5.2f}  {r['recall']:9.3f}")
        print(f"    ratio to SQLite (p95): write {ms(r['write'], 95) / ms(w['grym normal'], 95):.2f}, "
              f"read {ms(r['read'], 95) / ms(cold, 95):.2f}, similar {ms(r['query'], 95) / ms(g_t, 95):.2f}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=48)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--full-tail", type=int, default=3000, help="the last writes, made with synchronous=FULL")
    parser.add_argument("--pg-writes", type=int, default=2000, help="writes timed through the PostgreSQL store")
    parser.add_argument("--no-pg", action="store_true", help="leave out the PostgreSQL rows")
    args = parser.parse_args()
    started = time.perf_counter()
    x, queries = dataset(args.n, args.dim, args.queries)
    rng = np.random.default_rng(1)
    tmp = Path(tempfile.mkdtemp(prefix="grym-bench-memory-"))
    try:
        print(f"grym memory bench: {args.n} clips, {args.dim}-dim vectors, {args.queries} queries; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        # 1. writes
        store, ids, w = bench_writes(tmp, x, min(args.full_tail, args.n // 2))
        print("\nwrites (ms per committed clip)          count      p50      p95      p99   grym/bare p95")
        for sync in ("normal", "full"):
            for who in ("grym add_clip", "bare INSERT+COMMIT"):
                t = w[f"{who.split()[0]} {sync}"]
                ratio = f"{ms(t, 95) / ms(w[f'bare {sync}'], 95):8.2f}" if who.startswith("grym") else ""
                print(f"  {who:<19} {sync:<7} {len(t):>9} {ms(t, 50):8.3f} {ms(t, 95):8.3f} {ms(t, 99):8.3f}  {ratio}")
        # 2. reads
        cold, hot = bench_reads(store, ids, rng)
        print("\nreads (ms)                          p50      p95")
        print(f"  get(id), random of {args.n:<8}{ms(cold, 50):8.3f} {ms(cold, 95):8.3f}")
        print(f"  get(id), hot set (LRU hits) {ms(hot, 50):8.3f} {ms(hot, 95):8.3f}")
        # 3. similarity: numpy, grym HNSW and grym exact take turns on each query, so that the
        # machine's load falls on all three alike.
        id_of_row = np.asarray(ids)
        build, _ = timed(lambda: store.similar(queries[0], k=K))
        exact = SqliteMemory(tmp / "grym.sqlite3", exact_below=10**9)
        exact.similar(queries[0], k=K)
        truth_t, truth, g_t, g_found, e_t, e_found = [], [], [], [], [], []
        for q in queries:
            t, scores = timed(lambda: x @ q)
            top = np.argpartition(-scores, K)[:K]
            truth_t.append(t)
            truth.append({int(id_of_row[i]) for i in top})
            for times, found, searcher in ((g_t, g_found, store), (e_t, e_found, exact)):
                t, matches = timed(lambda: searcher.similar(q, k=K))
                times.append(t)
                found.append(np.array([m.id for m in matches]))
        print(f"\nsimilar(k={K}) at {args.n}     build s  insert95   q p50 ms  q p95 ms  recall@10  deletes")
        row("grym (usearch HNSW)", build, None, g_t, recall(g_found, truth), "yes (log)")
        row("grym forced exact", None, None, e_t, recall(e_found, truth), "yes")
        row("numpy brute force (x @ q)", None, None, truth_t, 1.0, "-")
        truth_rows = [{int(np.searchsorted(id_of_row, i)) for i in t} for t in truth]
        extra, _ = dataset(500, args.dim, 0, seed=2)  # single inserts after the build
        peers(x, queries, truth_rows, extra)
        print(f"  ratio grym HNSW / numpy (p95): {ms(g_t, 95) / ms(truth_t, 95):.2f}")
        exact.db.close()
        # 4. open: persisted index vs rebuild
        store.close()
        load_s, reopened = timed(lambda: SqliteMemory(tmp / "grym.sqlite3"))
        first_s, _ = timed(lambda: reopened.similar(queries[1], k=K))
        reopened.db.close()
        shutil.rmtree(tmp / "grym-index")
        rebuilt = SqliteMemory(tmp / "grym.sqlite3")
        rebuild_s, _ = timed(lambda: rebuilt.similar(queries[1], k=K))
        rebuilt.db.close()
        print(f"\nopen + first query: persisted index {load_s + first_s:.2f} s, rebuilt from the store {rebuild_s:.2f} s")
        # 5. PostgreSQL, against the SQLite figures above
        pg_rows = {} if args.no_pg else postgres_rows(tmp, x, queries, truth_rows, args.pg_writes, w, cold, g_t)
        def verdict(ok: bool) -> str:
            return "met" if ok else "MISSED"

        print(f"\ngoals: write p95 < 2 ms: {verdict(ms(w['grym normal'], 95) < 2)} with synchronous=normal, "
              f"{verdict(ms(w['grym full'], 95) < 2)} with full (bare SQLite's fsync alone: "
              f"{ms(w['bare full'], 95):.2f} ms); read p95 < 1 ms: {verdict(ms(cold, 95) < 1)}; "
              f"similar p95 < 5 ms: {verdict(ms(g_t, 95) < 5)}; recall@10 >= 0.95: {verdict(recall(g_found, truth) >= 0.95)}")
        for name, r in pg_rows.items():
            print(f"  PostgreSQL, {name}: similar p95 < 5 ms: {verdict(ms(r['query'], 95) < 5)}; "
                  f"recall@10 >= 0.95: {verdict(r['recall'] >= 0.95)}")
        print(f"\nthe whole run took {time.perf_counter() - started:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
