"""The user's taste, learned from feedback: what "more like the ones I kept" means.

Each kept clip pulls, each rejected clip pushes, and a rating pulls (above 2.5)
or pushes (below) in proportion to its distance from the middle. The taste
vector is the normalized weighted sum of those clips' vectors. It serves two
ways: as a query of its own (`like_my_kept`), and as a re-ranking bonus on any
similarity search (`personalize`): a clip near what the user kept moves up, a
clip near what they rejected moves down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grym_bridge.errors import NotFound
from grym_bridge.memory.store import MemoryStore
from grym_bridge.memory.types import Match

#: How much the taste counts against the query when re-ranking (0: not at all).
DEFAULT_WEIGHT = 0.3


@dataclass(frozen=True)
class Taste:
    """The taste of one vector space, with the clips it was learned from."""

    space: str
    vector: np.ndarray | None  # None when there is no feedback yet
    liked: tuple[int, ...]
    disliked: tuple[int, ...]
    liked_centroid: np.ndarray | None
    disliked_centroid: np.ndarray | None


def _weights(store: MemoryStore) -> dict[int, float]:
    fb = store.feedback_ids()
    weight: dict[int, float] = {}
    for clip_id, rating in fb["rated"]:
        weight[clip_id] = (rating - 2.5) / 2.5
    for clip_id, _ in fb["kept"]:
        weight[clip_id] = weight.get(clip_id, 0.0) + 1.0
    for clip_id, _ in fb["rejected"]:
        weight[clip_id] = weight.get(clip_id, 0.0) - 1.0
    return {k: v for k, v in weight.items() if v != 0.0}


def learn_taste(store: MemoryStore, space: str = "features") -> Taste:
    """The taste vector of `space` from every kept, rejected and rated clip that has a vector there."""
    weight = _weights(store)
    # Feedback is a handful of clips: read their vectors one by one rather than the whole space.
    found = [(clip_id, store.vector(clip_id, space)) for clip_id in sorted(weight)]
    found = [(clip_id, v) for clip_id, v in found if v is not None]
    if found:
        dim = found[-1][1].shape[0]
        found = [(clip_id, v) for clip_id, v in found if v.shape[0] == dim]
    if not found:
        return Taste(space, None, (), (), None, None)
    ids = np.array([clip_id for clip_id, _ in found], dtype=np.int64)
    matrix = np.stack([v for _, v in found])
    w = np.array([weight[int(i)] for i in ids], dtype=np.float32)
    liked, disliked = w > 0, w < 0

    def centroid(mask: np.ndarray) -> np.ndarray | None:
        if not mask.any():
            return None
        c = (matrix[mask] * np.abs(w[mask])[:, None]).sum(axis=0)
        n = float(np.linalg.norm(c))
        return c / n if n > 0 else None

    total = (matrix * w[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(total))
    return Taste(
        space, total / norm if norm > 0 else None,
        tuple(int(i) for i in ids[liked]), tuple(int(i) for i in ids[disliked]),
        centroid(liked), centroid(disliked),
    )


def like_my_kept(store: MemoryStore, k: int = 10, threshold: float | None = None, *, space: str = "features") -> list[Match]:
    """Clips the user has not judged yet, nearest to their taste, best first."""
    taste = learn_taste(store, space)
    if taste.vector is None:
        raise NotFound("no feedback yet: keep, reject or rate some clips first (`grym memory rate ID kept`)")
    return store.similar(taste.vector, k, threshold, space=space, exclude=taste.liked + taste.disliked)


def personalize(store: MemoryStore, matches: list[Match], *, space: str = "features",
                weight: float = DEFAULT_WEIGHT) -> list[Match]:
    """Re-rank `matches` by `score + weight * (closeness to kept - closeness to rejected)`."""
    taste = learn_taste(store, space)
    if taste.vector is None or not matches:
        return matches
    rescored = []
    for m in matches:
        vec = store.vector(m.id, space)
        bonus = 0.0
        if vec is not None:
            if taste.liked_centroid is not None:
                bonus += float(vec @ taste.liked_centroid)
            if taste.disliked_centroid is not None:
                bonus -= float(vec @ taste.disliked_centroid)
        rescored.append(Match(m.id, m.path, round(m.score + weight * bonus, 6), m.locations))
    return sorted(rescored, key=lambda m: -m.score)
