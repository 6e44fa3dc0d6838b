"""What the memory hands out: clips, matches, feedback and statistics, as small dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: Where a clip came from. Generated and rendered audio carry a provenance (prompt, model, seed, chain).
Source = Literal["analyzed", "generated", "rendered", "imported"]
SOURCES: tuple[str, ...] = ("analyzed", "generated", "rendered", "imported")

#: Vector spaces a clip may have: the analyzer's feature vector and a neural embedding (wav2vec2).
Space = Literal["features", "embedding"]
SPACES: tuple[str, ...] = ("features", "embedding")

#: Pattern kinds the recognizer stores per clip.
PATTERN_KINDS: tuple[str, ...] = ("rhythm", "harmony", "spectral")


@dataclass(frozen=True)
class Feedback:
    """What the user said about a clip: a rating from 0 to 5, and kept or rejected (never both)."""

    rating: float | None = None
    kept: bool = False
    rejected: bool = False


@dataclass(frozen=True)
class Clip:
    """One remembered clip. `features` is the stored analysis (JSON), `None` if it was never analyzed."""

    id: int
    path: str
    content_hash: str
    source: str
    duration_s: float | None = None
    sample_rate: int | None = None
    tags: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)
    feedback: Feedback = field(default_factory=Feedback)
    analyzer_version: str | None = None
    features: dict[str, Any] | None = None
    spaces: tuple[str, ...] = ()
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(frozen=True)
class Match:
    """One similarity hit: the clip, its path, and the cosine similarity (1.0 is identical).

    `locations` (a shared PostgreSQL memory): which machine holds the clip at which path."""

    id: int
    path: str
    score: float
    locations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClipSummary:
    """A line of `grym memory list`."""

    id: int
    path: str
    source: str
    tags: tuple[str, ...]
    rating: float | None
    kept: bool
    rejected: bool
    created_at: float


@dataclass(frozen=True)
class MemoryStats:
    """`grym memory stats`: how much is remembered and how it is searched."""

    backend: str
    location: str
    schema_version: int
    clips: int
    by_source: dict[str, int]
    vectors: dict[str, int]
    patterns: dict[str, int]
    tags: int
    kept: int
    rejected: int
    rated: int
    stale: int
    sessions: int
    size_bytes: int
    index: dict[str, Any]
