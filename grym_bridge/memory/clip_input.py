"""What every backend checks and derives before it writes: a clip to add, feedback, a session, a search.

`SqliteMemory` and `PostgresMemory` share these, so both refuse the same bad
input with the same message and store the same values. The clip's identity
(`checks.content_hash_of`) is computed in one place only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from grym_bridge.errors import BadRequest, NotFound
from grym_bridge.memory.checks import check_space, content_hash_of, normalize_tags, probe_audio
from grym_bridge.memory.features import AnalysisRecord, centred_unit, unpack_analysis
from grym_bridge.memory.types import PATTERN_KINDS, SOURCES
from grym_bridge.memory.vectors import as_unit_vector

MAX_K = 1000


@dataclass
class NewClip:
    """A checked `add_clip` call: everything a backend writes."""

    path: str
    content_hash: str
    source: str
    duration_s: float | None
    sample_rate: int | None
    provenance: dict[str, Any]
    provenance_json: str
    tags: list[str]
    record: AnalysisRecord | None
    vectors: dict[str, np.ndarray]


#: `list_clips`' filter that lists a path once: a clip is hidden when a clip that took the same
#: path later holds it (a file overwritten with other audio; the older clip stays reachable by id).
LATEST_AT_PATH = ("NOT EXISTS (SELECT 1 FROM clips n WHERE n.path = c.path AND (n.updated_at > c.updated_at"
                  " OR (n.updated_at = c.updated_at AND n.id > c.id)))")


def check_source(source: str | None) -> None:
    if source is not None and source not in SOURCES:
        raise BadRequest(f"source must be one of {', '.join(SOURCES)}, got {source!r}")


def prepare_clip(path: str | os.PathLike[str], *, analysis: Any, source: str, provenance: dict[str, Any] | None,
                 tags: Iterable[str], vector: Any, embedding: Any, content_hash: str | None) -> NewClip:
    """Check an `add_clip` call before touching the database, hashing the file unless the caller did."""
    check_source(source)
    prov = dict(provenance or {})
    try:
        provenance_json = json.dumps(prov, sort_keys=True)
    except (TypeError, ValueError):
        raise BadRequest("provenance must be a JSON object of plain values (text, numbers, lists)") from None
    tag_list = normalize_tags(tags)
    record = unpack_analysis(analysis) if analysis is not None else None
    vec = as_unit_vector(vector, "vector") if vector is not None else (record.vector if record else None)
    emb = as_unit_vector(embedding, "embedding") if embedding is not None else (record.embedding if record else None)
    file = Path(os.fspath(path)).expanduser()
    duration = record.duration_s if record else None
    sample_rate = record.sample_rate if record else None
    if content_hash is None:
        if not file.exists():
            raise NotFound(f"no file at {file}; check the path")
        if not file.is_file():
            raise BadRequest(f"{file} is not a file; `grym memory add` takes folders, this call takes one file")
        content_hash = content_hash_of(file)
        if duration is None or sample_rate is None:
            duration, sample_rate = probe_audio(file)
    vectors = {space: v for space, v in (("features", vec), ("embedding", emb)) if v is not None}
    return NewClip(str(file), content_hash, source, duration, sample_rate, prov, provenance_json, tag_list, record,
                   vectors)


def merged_provenance(stored_json: str, new: dict[str, Any]) -> str:
    """Same content added again: provenance merges (the new keys win)."""
    return json.dumps({**json.loads(stored_json), **new}, sort_keys=True)


def next_feedback(value: float | str, parsed: tuple[float | None, bool, bool],
                  old: tuple[float | None, Any, Any] | None) -> tuple[float | None, bool, bool]:
    """The feedback row after `rate(value)`: a rating keeps kept/rejected, kept/rejected keep the rating."""
    rating, kept, rejected = parsed
    old_rating, old_kept, old_rejected = old if old else (None, False, False)
    if value == "clear":
        return None, False, False
    if rating is not None:
        return rating, bool(old_kept), bool(old_rejected)
    return old_rating, bool(kept), bool(rejected)


def session_json(values: Any) -> str:
    if not isinstance(values, dict):
        raise BadRequest(f"session values must be a JSON object, got {type(values).__name__}")
    try:
        return json.dumps(values, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        raise BadRequest("session values must be plain JSON (text, numbers, lists, objects)") from None


def check_search(k: Any, threshold: Any, space: str) -> None:
    check_space(space)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise BadRequest(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    if threshold is not None and not -1.0 <= float(threshold) <= 1.0:
        raise BadRequest(f"threshold is a cosine similarity from -1 to 1, got {threshold!r}")


def is_clip_id(query: Any) -> bool:
    return isinstance(query, (int, np.integer)) and not isinstance(query, bool)


def no_vector(query: Any, space: str) -> BadRequest:
    return BadRequest(f"clip {query} has no {space} vector; analyze it first (`grym memory add` analyzes)")


def search_query(vector_of: Any, query: Any, k: Any, threshold: Any, space: str,
                 exclude: Iterable[Any]) -> tuple[np.ndarray, set[int]]:
    """Check a `similar` request and resolve it, the same for every store: (unit query vector, ids to skip).

    `query` is a clip id (its stored vector in `space`, via `vector_of(id, space)`; the clip itself is
    skipped) or a vector.
    """
    check_search(k, threshold, space)
    skip = {int(i) for i in exclude}
    if is_clip_id(query):
        vec = vector_of(int(query), space)
        if vec is None:
            raise no_vector(query, space)
        skip.add(int(query))
        return vec, skip
    return as_unit_vector(query, "query vector"), skip


def dim_mismatch(got: int, space: str, stored: int) -> BadRequest:
    return BadRequest(f"the query has {got} dimensions but the stored {space} vectors have "
                      f"{stored}; compare vectors from the same analyzer")


def clean_patterns(patterns: dict[str, Any]) -> dict[str, np.ndarray]:
    """Pattern vectors checked, centred and unit length (a flat pattern is refused)."""
    clean: dict[str, np.ndarray] = {}
    for kind, vec in patterns.items():
        check_pattern_kind(kind)
        unit = centred_unit(as_unit_vector(vec, f"{kind} pattern"))
        if unit is None:
            raise BadRequest(f"the {kind} pattern is flat (all values equal); there is nothing to compare")
        clean[kind] = unit
    return clean


def check_pattern_kind(kind: str) -> None:
    if kind not in PATTERN_KINDS:
        raise BadRequest(f"unknown pattern kind {kind!r}; use one of: {', '.join(PATTERN_KINDS)}")


def group_feedback(rows: list[tuple[int, float | None, Any, Any]]) -> dict[str, list[tuple[int, float | None]]]:
    """`feedback_ids()` from `(clip_id, rating, kept, rejected)` rows in the order feedback was given."""
    return {
        "kept": [(r[0], r[1]) for r in rows if r[2]],
        "rejected": [(r[0], r[1]) for r in rows if r[3]],
        "rated": [(r[0], r[1]) for r in rows if r[1] is not None],
    }


def check_clip_id(clip_id: Any) -> int:
    if isinstance(clip_id, bool) or not isinstance(clip_id, (int, np.integer)):
        raise BadRequest(f"clip id must be an integer, got {clip_id!r}")
    return int(clip_id)


def unknown_clip(clip_id: Any) -> NotFound:
    return NotFound(f"no clip with id {clip_id} in the memory; `grym memory list` shows the ids")


def refresh_features(store: Any, clip_id: int, refresh: bool) -> dict[str, Any] | None:
    """`MemoryStore.features`: recompute stale features (another analyzer version) first when asked."""
    clip = store.get(clip_id)
    if refresh and store.analyzer is not None and clip.analyzer_version != store.analyzer.version:
        file = Path(clip.path)
        if not file.is_file():
            raise NotFound(f"clip {clip_id}'s features are from another analyzer version and its file {file} "
                           "is gone; add the file again to re-analyze it")
        clip = store.set_analysis(clip.id, store.analyzer.analyze(file))
    return clip.features
