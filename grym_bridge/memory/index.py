"""Cosine search over one vector space: exact numpy below a size threshold, HNSW above.

The exact part is always kept: a dense float32 matrix of every live vector (rows
stay packed: a deleted row is filled with the last one). Below `exact_below`
vectors a query is one matrix-vector product; at or above it, a usearch HNSW graph
answers instead (built on first need, then updated per change).

Why usearch, from `bench/memory.py` at 100,000 clips: usearch, hnswlib and faiss all
answer in well under 0.3 ms at recall@10 of 1.00 (hnswlib a few hundredths of a ms
faster), sqlite-vec is an exact scan (11 ms p95). Of the three graphs only usearch
and hnswlib can delete, and only usearch ships wheels for every platform: hnswlib
is source-only on PyPI, so installing it needs a C++ compiler a producer's
laptop may not have. The per-query difference is noise next to the 5 ms goal.

Vectors are unit length, so cosine similarity is the inner product.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Search breadth of the HNSW graph: ef=128 gave recall@10 of 1.00 at 100k clips in the bench.
DEFAULT_EF = 128
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 100


@dataclass(frozen=True)
class IndexInfo:
    """What `stats` reports about an index."""

    space: str
    dim: int | None
    count: int
    mode: str  # "exact" or "hnsw"
    seq: int


class VectorIndex:
    """The live vectors of one space, searchable by cosine similarity. Thread-safe."""

    def __init__(self, space: str, *, exact_below: int = 20_000, ef: int = DEFAULT_EF) -> None:
        self.space = space
        self.exact_below = exact_below
        self.ef = ef
        self.dim: int | None = None
        #: The highest change-log sequence number applied (see `SqliteMemory`).
        self.seq = 0
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._row_ids = np.zeros(0, dtype=np.int64)
        self._rows: dict[int, int] = {}
        self._hnsw = None  # usearch.index.Index, once the collection is large enough
        self._lock = threading.RLock()

    # -- contents ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, clip_id: int) -> bool:
        return clip_id in self._rows

    def ids(self) -> np.ndarray:
        with self._lock:
            return self._row_ids[: len(self._rows)].copy()

    def matrix(self) -> np.ndarray:
        """A copy of the live vectors, row-aligned with `ids()`."""
        with self._lock:
            return self._matrix[: len(self._rows)].copy()

    def get(self, clip_id: int) -> np.ndarray | None:
        with self._lock:
            row = self._rows.get(clip_id)
            return None if row is None else self._matrix[row].copy()

    def load(self, ids: np.ndarray, matrix: np.ndarray, seq: int) -> None:
        """Replace the contents with `ids`/`matrix` (unit rows) as of change `seq`."""
        with self._lock:
            ids = np.asarray(ids, dtype=np.int64)
            self.dim = int(matrix.shape[1]) if len(ids) else self.dim
            self._matrix = np.array(matrix, dtype=np.float32, order="C")
            self._row_ids = ids.copy()
            self._rows = {int(i): r for r, i in enumerate(ids)}
            self._hnsw = None
            self.seq = seq

    def put(self, clip_id: int, vector: np.ndarray) -> None:
        """Insert or replace one unit vector."""
        with self._lock:
            if self.dim is None:
                self.dim = int(vector.shape[0])
                self._matrix = np.zeros((0, self.dim), dtype=np.float32)
            if vector.shape[0] != self.dim:
                # A new analyzer produced another dimension: the old vectors are stale; drop them.
                self.load(np.zeros(0, dtype=np.int64), np.zeros((0, vector.shape[0]), np.float32), self.seq)
                self.dim = int(vector.shape[0])
            row = self._rows.get(clip_id)
            if row is None:
                row = len(self._rows)
                if row >= self._matrix.shape[0]:
                    self._grow(max(1024, row * 2))
                self._rows[clip_id] = row
                self._row_ids[row] = clip_id
            self._matrix[row] = vector
            if self._hnsw is not None:
                self._hnsw_put(clip_id, vector)

    def delete(self, clip_id: int) -> None:
        with self._lock:
            row = self._rows.pop(clip_id, None)
            if row is None:
                return
            last = len(self._rows)  # index of the last live row before removal
            if row != last:
                moved = int(self._row_ids[last])
                self._matrix[row] = self._matrix[last]
                self._row_ids[row] = moved
                self._rows[moved] = row
            if self._hnsw is not None and clip_id in self._hnsw:
                self._hnsw.remove(clip_id)

    def _grow(self, capacity: int) -> None:
        matrix = np.zeros((capacity, self.dim or 0), dtype=np.float32)
        ids = np.full(capacity, -1, dtype=np.int64)
        n = len(self._rows)
        matrix[:n] = self._matrix[:n]
        ids[:n] = self._row_ids[:n]
        self._matrix, self._row_ids = matrix, ids

    # -- search --------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return "hnsw" if len(self._rows) >= self.exact_below else "exact"

    def search(self, query: np.ndarray, k: int, exclude: frozenset[int] = frozenset()) -> tuple[np.ndarray, np.ndarray]:
        """The `k` best `(ids, scores)` for a unit `query`, best first, never an id in `exclude`."""
        with self._lock:
            n = len(self._rows)
            if n == 0 or k <= 0 or query.shape[0] != self.dim:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            want = min(n, k + len(exclude))
            if n < self.exact_below:
                ids, scores = self._exact(query, want)
            else:
                ids, scores = self._approximate(query, want)
                if len(ids) < want:
                    # After many removals a graph may not reach `want` live neighbours.
                    ids, scores = self._exact(query, want)
        if exclude:
            keep = np.fromiter((int(i) not in exclude for i in ids), dtype=bool, count=len(ids))
            ids, scores = ids[keep], scores[keep]
        return ids[:k], scores[:k]

    def _exact(self, query: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self._rows)
        scores = self._matrix[:n] @ query
        if want < n:
            top = np.argpartition(-scores, want - 1)[:want]
        else:
            top = np.arange(n)
        top = top[np.argsort(-scores[top], kind="stable")]
        return self._row_ids[top].copy(), scores[top]

    def _approximate(self, query: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
        if self._hnsw is None:
            self.build_graph()
        assert self._hnsw is not None
        self._hnsw.expansion_search = max(self.ef, want)
        found = self._hnsw.search(query, want)
        # The "ip" metric's distance is 1 - inner product.
        return np.asarray(found.keys, dtype=np.int64), (1.0 - np.asarray(found.distances)).astype(np.float32)

    # -- the HNSW graph ------------------------------------------------------------------------

    def build_graph(self) -> None:
        """Build the HNSW graph over every live vector (seconds for 100,000)."""
        with self._lock:
            n = len(self._rows)
            graph = self._new_graph()
            graph.add(self._row_ids[:n].astype(np.uint64), self._matrix[:n])
            self._hnsw = graph

    def _new_graph(self):  # type: ignore[no-untyped-def]
        from usearch.index import Index  # imported here: `grym serve` must start without it

        return Index(ndim=self.dim, metric="ip", dtype="f32", connectivity=HNSW_M,
                     expansion_add=HNSW_EF_CONSTRUCTION, expansion_search=self.ef)

    def _hnsw_put(self, clip_id: int, vector: np.ndarray) -> None:
        graph = self._hnsw
        if clip_id in graph:
            graph.remove(clip_id)  # an updated clip: a key holds one vector
        graph.add(clip_id, vector)

    @property
    def has_graph(self) -> bool:
        return self._hnsw is not None

    def save_graph(self, path: Path) -> None:
        with self._lock:
            assert self._hnsw is not None
            self._hnsw.save(str(path))

    def load_graph(self, path: Path) -> None:
        """Load a saved HNSW graph that holds exactly the current vectors (raises if it cannot)."""
        with self._lock:
            graph = self._new_graph()
            graph.load(str(path))
            if len(graph) != len(self._rows) or graph.ndim != self.dim:
                raise ValueError(f"{path.name} holds {len(graph)} vectors, the index {len(self._rows)}")
            graph.expansion_search = self.ef
            self._hnsw = graph

    def info(self) -> IndexInfo:
        return IndexInfo(self.space, self.dim, len(self._rows), self.mode, self.seq)
