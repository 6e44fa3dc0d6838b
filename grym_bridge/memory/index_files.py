"""Keeping each space's `VectorIndex` in step with the SQLite store, and on disk.

An index is persisted under `<data dir>/memory-index/` as three files per space:
`<space>.npz` (ids and vectors, loaded without pickle), `<space>.hnsw` (the usearch
HNSW graph, when there is one) and `<space>.json` (format version, the store's id, the
change-log position covered, and the SHA-256 of the other two). Opening checks
all of that; a missing, damaged or foreign index is rebuilt from the store and
saved again. Between saves, the store's `vector_changes` log is replayed from
the position the index covers, which is also how a server sees clips a CLI added
(or, with a shared PostgreSQL store, clips another bridge added). The keeper reads
the store only through a `VectorLog` (`vector_log`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import Counter
from pathlib import Path

import numpy as np

from grym_bridge.memory.index import VectorIndex
from grym_bridge.memory.vector_log import VectorLog
from grym_bridge.memory.vectors import from_blob, stack_blobs

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: the graph is usearch's (1 was hnswlib's)
#: An index more than this many changes ahead of its file is saved again.
SAVE_EVERY = 10_000


class IndexKeeper:
    """Loads, catches up, rebuilds and saves the indexes of one store."""

    def __init__(self, db: VectorLog, directory: Path, *, exact_below: int, ef_search: int) -> None:
        self._db = db
        # Its own lock, not the database's: building a graph takes seconds, and reads and writes
        # of clips must not wait for it. Order: this lock, then the database's, never the reverse.
        self._lock = threading.RLock()
        self.directory = directory
        self.exact_below = exact_below
        self.ef_search = ef_search
        self._indexes: dict[str, VectorIndex] = {}
        self._saved_seq: dict[str, int] = {}
        self._graph_saved: dict[str, bool] = {}
        self._caught_up: dict[str, object] = {}  # the store's generation each index last caught up to
        self.rebuilt: list[tuple[str, str]] = []  # (space, why): what the last opens had to rebuild

    def index(self, space: str) -> VectorIndex:
        """The index of `space`, caught up with every committed change."""
        with self._lock:
            # Read before catching up: a commit landing meanwhile is replayed on the next call.
            generation = self._db.generation()
            idx = self._indexes.get(space)
            if idx is not None and self._caught_up.get(space) == generation:
                return idx  # nothing was committed anywhere since the last call: no SQL needed
            if idx is None:
                idx = self._load(space)
                if idx is None:
                    idx = self._rebuild(space)
                self._indexes[space] = idx
            if not self._catch_up(idx):
                idx = self._rebuild(space, why="the change log was compacted past it")
                self._indexes[space] = idx
            if len(idx) >= self.exact_below and not idx.has_graph:
                idx.build_graph()
            # Save what is costly to redo (a new graph) or long to replay, so that a process that is
            # killed rather than closed (a server's usual end) still opens quickly next time.
            behind = idx.seq - self._saved_seq.get(space, 0)
            if (idx.has_graph and not self._graph_saved.get(space)) or behind >= SAVE_EVERY:
                self.save()
            self._caught_up[space] = generation
            return idx

    # -- keeping up ----------------------------------------------------------------------------

    def _catch_up(self, idx: VectorIndex) -> bool:
        """Apply the logged changes newer than `idx.seq`; False when the log no longer reaches back."""
        if idx.seq < self._db.log_floor():
            return False
        seq, changes = self._db.changes_since(idx.space, idx.seq)
        for clip_id, blob in changes.items():
            if blob is None:
                idx.delete(clip_id)
            else:
                idx.put(clip_id, from_blob(blob))
        idx.seq = seq
        return True

    def _rebuild(self, space: str, why: str | None = None) -> VectorIndex:
        if why:
            log.warning("memory: rebuilding the %s index from the store: %s", space, why)
            self.rebuilt.append((space, why))
        idx = VectorIndex(space, exact_below=self.exact_below, ef=self.ef_search)
        seq, rows = self._db.snapshot(space)
        if rows:
            # Vectors of another dimension come from an older analyzer: leave them out until refreshed.
            dim = Counter(len(blob) // 4 for _, blob in rows).most_common(1)[0][0]
            rows = [r for r in rows if len(r[1]) // 4 == dim]
            idx.load(np.array([r[0] for r in rows], dtype=np.int64), stack_blobs([r[1] for r in rows], dim), seq)
        else:
            idx.seq = seq
        self._saved_seq.pop(space, None)
        return idx

    # -- files ---------------------------------------------------------------------------------

    def _files(self, space: str) -> tuple[Path, Path, Path]:
        d = self.directory
        return d / f"{space}.json", d / f"{space}.npz", d / f"{space}.hnsw"

    def _load(self, space: str) -> VectorIndex | None:
        meta_path, data_path, graph_path = self._files(space)
        if not meta_path.exists():
            if self._db.has_vectors(space):
                self.rebuilt.append((space, "no index file"))
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("format") != FORMAT_VERSION or meta.get("store_id") != self._db.store_id():
                raise ValueError("it belongs to another store or format")
            if _sha256(data_path) != meta["npz_sha256"]:
                raise ValueError(f"{data_path.name} does not match its checksum")
            with np.load(data_path, allow_pickle=False) as data:
                ids, matrix = data["ids"].astype(np.int64), data["matrix"].astype(np.float32)
            if matrix.ndim != 2 or len(ids) != len(matrix):
                raise ValueError("its vectors and ids disagree")
            max_seq = self._db.last_seq()
            if int(meta["seq"]) > max_seq:
                raise ValueError("it is newer than the store (was the database replaced?)")
            idx = VectorIndex(space, exact_below=self.exact_below, ef=self.ef_search)
            idx.load(ids, matrix, int(meta["seq"]))
            if meta.get("hnsw_sha256") and len(ids) >= self.exact_below:
                if _sha256(graph_path) != meta["hnsw_sha256"]:
                    raise ValueError(f"{graph_path.name} does not match its checksum")
                idx.load_graph(graph_path)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, json.JSONDecodeError) as exc:
            log.warning("memory: the %s index in %s is unusable (%s); rebuilding it from the store", space, self.directory, exc)
            self.rebuilt.append((space, str(exc)))
            return None
        self._saved_seq[space] = idx.seq
        self._graph_saved[space] = idx.has_graph
        return idx

    def save(self, force: bool = False) -> None:
        """Write every index that changed since it was loaded or last saved (atomically, meta last)."""
        with self._lock:
            for space, idx in self._indexes.items():
                unchanged = self._saved_seq.get(space) == idx.seq and self._graph_saved.get(space) == idx.has_graph
                if unchanged and not force:
                    continue
                self.directory.mkdir(parents=True, exist_ok=True)
                meta_path, data_path, graph_path = self._files(space)
                tmp_data = data_path.with_suffix(".npz.tmp")
                with open(tmp_data, "wb") as fh:
                    np.savez(fh, ids=idx.ids(), matrix=idx.matrix())
                os.replace(tmp_data, data_path)
                meta = {"format": FORMAT_VERSION, "store_id": self._db.store_id(), "space": space,
                        "seq": idx.seq, "dim": idx.dim, "count": len(idx), "npz_sha256": _sha256(data_path),
                        "hnsw_sha256": None}
                if idx.has_graph:
                    tmp_graph = graph_path.with_suffix(".hnsw.tmp")
                    idx.save_graph(tmp_graph)
                    os.replace(tmp_graph, graph_path)
                    meta["hnsw_sha256"] = _sha256(graph_path)
                tmp_meta = meta_path.with_suffix(".json.tmp")
                tmp_meta.write_text(json.dumps(meta))
                os.replace(tmp_meta, meta_path)
                self._saved_seq[space] = idx.seq
                self._graph_saved[space] = idx.has_graph

    def compact_log(self) -> int:
        """Drop change-log entries every saved index has applied; returns how many were dropped."""
        with self._lock:
            if not self._saved_seq or set(self._saved_seq) != set(self._indexes):
                return 0
            return self._db.compact(min(self._saved_seq.values()))

    def loaded(self) -> dict[str, VectorIndex]:
        return dict(self._indexes)


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
