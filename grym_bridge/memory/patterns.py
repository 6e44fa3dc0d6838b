"""The pattern recognizer: detect, learn, relate, classify and find similar musical patterns.

Patterns are the rhythm, harmony and spectral vectors of `features.detect_patterns`
(centred and unit-length, so similarity is a correlation from -1 to 1). The
recognizer works over any `MemoryStore`; it keeps each kind's matrix in memory and
reloads it when the store's `generation()` says something changed.

Classification uses the user's own tags: the k nearest tagged clips vote, each
with its similarity, so "dark", "four on the floor" or "verse idea" mean what this
user meant by them.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from grym_bridge.errors import BadRequest, NotFound
from grym_bridge.memory.features import centred_unit, detect_patterns
from grym_bridge.memory.store import MemoryStore, VectorLike
from grym_bridge.memory.types import PATTERN_KINDS, SPACES
from grym_bridge.memory.vectors import as_unit_vector

#: What `classify_pattern` and `get_related_patterns` can compare: a vector space or a pattern kind.
AXES: tuple[str, ...] = SPACES + PATTERN_KINDS


def _check_axis(axis: str) -> None:
    if axis not in AXES:
        raise BadRequest(f"unknown pattern kind {axis!r}; use one of: {', '.join(AXES)}")


@dataclass(frozen=True)
class PatternMatch:
    """A clip whose pattern of `kind` resembles the query, with the correlation `score`."""

    id: int
    kind: str
    score: float


@dataclass(frozen=True)
class Classification:
    """The label the user's nearest tagged clips vote for, and how sure the vote is (0..1)."""

    label: str | None
    confidence: float
    votes: dict[str, float] = field(default_factory=dict)
    neighbours: tuple[int, ...] = ()


@dataclass(frozen=True)
class RelatedPatterns:
    """What goes with a pattern in this library: the clips sharing it, their other patterns
    (the mean of each other kind, unit length) and the tags they carry most."""

    kind: str
    matches: tuple[PatternMatch, ...]
    related: dict[str, list[float]]
    tags: dict[str, int]


class PatternRecognizer:
    """Pattern work on top of a `MemoryStore`."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._cache: dict[str, tuple[Any, np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    # -- detect and learn ----------------------------------------------------------------------

    def detect_patterns(self, features: Mapping[str, Any] | Any) -> dict[str, np.ndarray]:
        """Pattern vectors by kind found in an analysis (dataclass or its JSON)."""
        from grym_bridge.results import to_jsonable

        data = to_jsonable(features)
        if not isinstance(data, Mapping):
            raise BadRequest("detect_patterns takes an analysis result or its JSON object")
        return detect_patterns(data)

    def learn_patterns(self, clip_id: int, patterns: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Remember a clip's patterns (kind -> vector, or an analysis to detect them in)."""
        if not any(kind in patterns for kind in PATTERN_KINDS):
            patterns = self.detect_patterns(patterns)
        clean = {kind: np.asarray(v, dtype=np.float32) for kind, v in patterns.items() if kind in PATTERN_KINDS}
        if not clean:
            raise BadRequest(f"no patterns to learn; give vectors for {', '.join(PATTERN_KINDS)}")
        self.store.store_patterns(clip_id, clean)
        return self.store.clip_patterns(clip_id)

    # -- search --------------------------------------------------------------------------------

    def _axis(self, axis: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, unit vectors) of a pattern kind or vector space, cached per store generation."""
        _check_axis(axis)
        generation = self.store.generation()
        with self._lock:
            hit = self._cache.get(axis)
            if hit is not None and hit[0] == generation:
                return hit[1], hit[2]
        ids, matrix = self.store.vectors(axis) if axis in SPACES else self.store.patterns(axis)
        with self._lock:
            self._cache[axis] = (generation, ids, matrix)
        return ids, matrix

    def _query(self, query: int | VectorLike, axis: str) -> tuple[np.ndarray, int | None]:
        _check_axis(axis)
        if isinstance(query, (int, np.integer)) and not isinstance(query, bool):
            clip_id = int(query)
            if axis in SPACES:
                vec = self.store.vector(clip_id, axis)
            else:
                vec = self.store.clip_patterns(clip_id).get(axis)
            if vec is None:
                raise NotFound(f"clip {clip_id} has no {axis} pattern; analyze it (or learn its patterns) first")
            return vec, clip_id
        vec = as_unit_vector(query, f"{axis} pattern")
        if axis in PATTERN_KINDS:
            # Stored patterns are centred (see `features`); a raw query must be too, or levels skew it.
            vec = centred_unit(vec)
            if vec is None:
                raise BadRequest(f"the {axis} pattern is flat (all values equal); there is nothing to compare")
        return vec, None

    def _nearest(self, query: int | VectorLike, axis: str, k: int, threshold: float | None,
                 among: np.ndarray | None = None) -> list[PatternMatch]:
        vec, own = self._query(query, axis)
        ids, matrix = self._axis(axis)
        if among is not None:
            keep = np.isin(ids, among)
            ids, matrix = ids[keep], matrix[keep]
        if own is not None:
            keep = ids != own
            ids, matrix = ids[keep], matrix[keep]
        if not len(ids):
            return []
        if matrix.shape[1] != vec.shape[0]:
            raise BadRequest(f"the {axis} query has {vec.shape[0]} values but stored ones have {matrix.shape[1]}")
        scores = matrix @ vec
        order = np.argsort(-scores, kind="stable")
        if threshold is not None:
            order = order[scores[order] >= np.float32(threshold)]
        order = order[:k]
        return [PatternMatch(int(ids[i]), axis, round(float(scores[i]), 6)) for i in order]

    def find_similar_patterns(self, pattern: int | VectorLike, kind: str = "rhythm", threshold: float = 0.8,
                              k: int = 50) -> list[PatternMatch]:
        """Clips whose `kind` pattern correlates with `pattern` (a clip id or a vector) at least
        `threshold` (from -1 to 1), best first, at most `k`."""
        if not -1.0 <= float(threshold) <= 1.0:
            raise BadRequest(f"threshold is a correlation from -1 to 1, got {threshold!r}")
        return self._nearest(pattern, kind, k, threshold)

    def get_related_patterns(self, pattern: int | VectorLike, kind: str = "rhythm", k: int = 10,
                             threshold: float | None = None) -> RelatedPatterns:
        """The clips that share `pattern`, and which patterns of the other kinds (and which tags)
        go with it in this library: "what harmony do I put over grooves like this one"."""
        matches = self._nearest(pattern, kind, k, threshold)
        ids = [m.id for m in matches]
        related: dict[str, list[float]] = {}
        for other in PATTERN_KINDS:
            if other == kind or not ids:
                continue
            other_ids, matrix = self._axis(other)
            rows = matrix[np.isin(other_ids, ids)]
            if len(rows):
                mean = rows.mean(axis=0)
                norm = float(np.linalg.norm(mean))
                if norm > 0:
                    related[other] = [round(float(x), 6) for x in mean / norm]
        tagged = self.store.tagged()
        tags = Counter(t for i in ids for t in tagged.get(i, ()))
        return RelatedPatterns(kind, tuple(matches), related, dict(tags.most_common()))

    def classify_pattern(self, pattern: int | VectorLike, kind: str = "features", k: int = 5) -> Classification:
        """The user's tag that fits `pattern` best: a similarity-weighted vote of its `k` nearest tagged clips."""
        if not 1 <= int(k) <= 100:
            raise BadRequest(f"k must be from 1 to 100, got {k!r}")
        tagged = self.store.tagged()
        if not tagged:
            return Classification(None, 0.0)
        neighbours = self._nearest(pattern, kind, int(k), None, among=np.fromiter(tagged, dtype=np.int64))
        votes: Counter[str] = Counter()
        for m in neighbours:
            for tag in tagged[m.id]:
                votes[tag] += max(m.score, 0.0)
        total = sum(votes.values())
        if not total:
            return Classification(None, 0.0, {}, tuple(m.id for m in neighbours))
        label, weight = max(votes.items(), key=lambda kv: (kv[1], kv[0]))
        # Confidence: the share of the neighbours' similarity that voted for the winner.
        share = weight / sum(max(m.score, 0.0) for m in neighbours)
        return Classification(label, round(min(1.0, share), 4), {t: round(v, 4) for t, v in votes.most_common()},
                              tuple(m.id for m in neighbours))
