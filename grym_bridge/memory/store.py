"""`MemoryStore`: the interface every memory backend implements.

The embedded SQLite backend (`SqliteMemory`) is the default. A studio that
shares one memory between machines would add a PostgreSQL backend behind this
same interface; nothing above the capability layer changes when it does.

Conventions every backend keeps:
- a write returns only after it is committed (durable against a killed process);
- a clip is deduplicated by the hash of its decoded samples (`checks.content_hash_of`), so the
  same audio under two headers is one clip; a clip keyed by the older hash of its file's bytes
  is re-keyed the first time its file is seen again (`adopt_legacy`);
- `list_clips` shows a path once: the clip that most recently took that path;
- vectors are float32, L2-normalized on the way in; similarity is cosine;
- unknown ids raise `NotFound`, bad arguments `BadRequest`, both with a message
  that says what to do.
"""

from __future__ import annotations

import abc
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from grym_bridge.memory.types import Clip, ClipSummary, Match, MemoryStats

Progress = Callable[[float, str], None]
VectorLike = Sequence[float] | np.ndarray


class MemoryStore(abc.ABC):
    """Feature memory: clips, their features, vectors, patterns, feedback and DAW sessions."""

    # -- clips ---------------------------------------------------------------------------------

    @abc.abstractmethod
    def add_clip(
        self,
        path: str | os.PathLike[str],
        *,
        analysis: Any = None,
        source: str = "analyzed",
        provenance: dict[str, Any] | None = None,
        tags: Iterable[str] = (),
        vector: VectorLike | None = None,
        embedding: VectorLike | None = None,
        content_hash: str | None = None,
    ) -> Clip:
        """Remember the clip at `path` (or update it when its content is already known).

        `analysis` is an analysis result (dataclass or dict); its `feature_vector`,
        `embedding` and patterns are stored unless `vector`/`embedding` are given.
        `content_hash` lets a caller that already hashed the bytes skip reading the file.
        Returns the stored clip; the same content added twice returns the same id.
        """

    @abc.abstractmethod
    def get(self, clip_id: int) -> Clip:
        """The clip with `clip_id`, or `NotFound`."""

    @abc.abstractmethod
    def find_by_hash(self, content_hash: str) -> Clip | None:
        """The clip whose content has this hash, if any."""

    def adopt_legacy(self, file: str | os.PathLike[str], content_hash: str) -> Clip | None:
        """The clip holding `file`'s content, re-keying one stored under the file's byte hash.

        Stores made before clips were identified by their samples keyed them by the SHA-256 of
        the file's bytes. Rather than re-decode every remembered file on upgrade (slow to start,
        and a file offline then would turn into a duplicate later), a file whose sample hash is
        unknown has its bytes hashed once more; a clip found under that hash takes the new key.
        """
        known = self.find_by_hash(content_hash)
        if known is not None:
            return known
        from grym_bridge.memory.checks import legacy_hash_of

        old = legacy_hash_of(Path(os.fspath(file)))
        return self.get(clip_id) if (clip_id := self._rekey(old, content_hash)) is not None else None

    @abc.abstractmethod
    def _rekey(self, old_hash: str, new_hash: str) -> int | None:
        """Give the clip keyed `old_hash` the key `new_hash` (unless one holds it); its id, or None."""

    @abc.abstractmethod
    def list_clips(
        self, *, tag: str | None = None, source: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[ClipSummary]:
        """Clips, newest first, optionally only those with `tag` or from `source`."""

    @abc.abstractmethod
    def set_analysis(self, clip_id: int, analysis: Any) -> Clip:
        """Replace a clip's features, vectors and patterns with a new analysis."""

    @abc.abstractmethod
    def tag(self, clip_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()) -> Clip:
        """Add and remove tags (lower-cased, trimmed) on a clip."""

    @abc.abstractmethod
    def rate(self, clip_id: int, value: float | str) -> Clip:
        """Record feedback: a rating 0..5, or `kept` / `rejected` / `clear`."""

    @abc.abstractmethod
    def forget(self, clip_id: int) -> None:
        """Delete a clip and everything stored about it (the audio file is left alone)."""

    # -- vectors and search --------------------------------------------------------------------

    @abc.abstractmethod
    def similar(
        self,
        query: int | VectorLike,
        k: int = 10,
        threshold: float | None = None,
        *,
        space: str = "features",
        exclude: Iterable[int] = (),
    ) -> list[Match]:
        """The `k` clips most similar to a clip id or a vector, best first.

        With `threshold`, only matches whose cosine similarity is at least
        `threshold` are returned (so possibly fewer than `k`). A clip id as query
        never returns itself.
        """

    @abc.abstractmethod
    def vectors(self, space: str = "features") -> tuple[np.ndarray, np.ndarray]:
        """All `(ids int64[n], vectors float32[n, dim])` of one space (for pattern work)."""

    @abc.abstractmethod
    def vector(self, clip_id: int, space: str = "features") -> np.ndarray | None:
        """One clip's vector in `space`, or `None` when it has none."""

    @abc.abstractmethod
    def patterns(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """All `(ids, vectors)` of one pattern kind (rhythm, harmony, spectral)."""

    @abc.abstractmethod
    def clip_patterns(self, clip_id: int) -> dict[str, np.ndarray]:
        """One clip's pattern vectors by kind."""

    @abc.abstractmethod
    def store_patterns(self, clip_id: int, patterns: dict[str, Any]) -> None:
        """Replace a clip's patterns (kind -> vector) in one transaction."""

    @abc.abstractmethod
    def feedback_ids(self) -> dict[str, list[tuple[int, float | None]]]:
        """Ids with feedback: `{"kept": [(id, rating)], "rejected": [...], "rated": [...]}`, each list
        in the order the feedback was given (the latest last)."""

    @abc.abstractmethod
    def tagged(self) -> dict[int, tuple[str, ...]]:
        """Every tagged clip's tags, by id."""

    # -- stale features ------------------------------------------------------------------------

    @abc.abstractmethod
    def features(self, clip_id: int, *, refresh: bool = True) -> dict[str, Any] | None:
        """A clip's features; stale ones (another analyzer version) are recomputed first when
        `refresh` and an analyzer is available."""

    # -- DAW sessions --------------------------------------------------------------------------

    @abc.abstractmethod
    def save_session(self, name: str, values: dict[str, Any]) -> None:
        """Store a DAW session's context (tempo, key, time signature, sample rate, project, ...)."""

    @abc.abstractmethod
    def load_session(self, name: str) -> dict[str, Any]:
        """A stored session's values, or `NotFound`."""

    @abc.abstractmethod
    def list_sessions(self) -> list[str]:
        """Names of stored sessions."""

    @abc.abstractmethod
    def generation(self) -> Any:
        """A token that changes whenever the stored contents change, in this process or another
        (lets layers above cache what they derive from the store)."""

    # -- housekeeping --------------------------------------------------------------------------

    @abc.abstractmethod
    def stats(self) -> MemoryStats:
        """Counts, size and the search index in use."""

    @abc.abstractmethod
    def close(self) -> None:
        """Persist what is worth keeping (the vector index) and release the store."""

    def __enter__(self) -> "MemoryStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

