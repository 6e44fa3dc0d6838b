"""Export and import a memory as JSON Lines: moving a library to another machine, or a backup.

The first line is a header (`{"grym_memory_export": 1, "clips": N}`); each
further line is one clip with its tags, provenance, feedback, features, and its
vectors and patterns as base64 float32 (little-endian). Export writes to a
temporary file and renames it, so a failed export never leaves a partial file.
Import checks every line before it writes anything, then merges clip by clip
(deduplicated by content hash, like any add).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grym_bridge.files import atomic_open
from grym_bridge.errors import BadRequest, NotFound
from grym_bridge.memory.store import MemoryStore
from grym_bridge.memory.types import PATTERN_KINDS, SOURCES, SPACES
from grym_bridge.memory.vectors import from_blob, to_blob

FORMAT = 1
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class TransferResult:
    path: str
    clips: int
    new: int = 0


def _b64(vec: np.ndarray) -> str:
    return base64.b64encode(to_blob(vec)).decode("ascii")


def _unb64(text: str, what: str) -> np.ndarray:
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise BadRequest(f"{what} is not base64") from None
    if not raw or len(raw) % 4:
        raise BadRequest(f"{what} is not a float32 vector")
    return from_blob(raw)


def all_ids(store: MemoryStore) -> list[int]:
    """Every clip id of `store`, oldest first (a copy keeps the original order of ids)."""
    ids: list[int] = []
    while True:
        page = store.list_clips(limit=1000, offset=len(ids))
        ids.extend(c.id for c in page)
        if len(page) < 1000:
            break
    ids.reverse()
    return ids


def clip_record(store: MemoryStore, clip_id: int) -> dict[str, Any]:
    """Everything stored about one clip, vectors and patterns as float32 arrays."""
    clip = store.get(clip_id)
    return {
        "content_hash": clip.content_hash, "path": clip.path, "source": clip.source,
        "duration_s": clip.duration_s, "sample_rate": clip.sample_rate, "provenance": clip.provenance,
        "tags": list(clip.tags), "feedback": vars(clip.feedback), "features": clip.features,
        "vectors": {s: v for s in SPACES if (v := store.vector(clip_id, s)) is not None},
        "patterns": store.clip_patterns(clip_id),
    }


def apply_record(store: MemoryStore, record: dict[str, Any]) -> int:
    """Merge one `clip_record` into `store` (deduplicated by content hash); returns the clip's id there."""
    vectors = record.get("vectors", {})
    clip = store.add_clip(
        record["path"], content_hash=record["content_hash"], source=record["source"],
        analysis=record.get("features"), provenance=record.get("provenance") or {}, tags=record.get("tags") or (),
        vector=vectors.get("features"), embedding=vectors.get("embedding"),
    )
    if record.get("patterns"):
        store.store_patterns(clip.id, record["patterns"])
    feedback = record.get("feedback") or {}
    if feedback.get("rating") is not None:
        store.rate(clip.id, float(feedback["rating"]))
    if feedback.get("kept") or feedback.get("rejected"):
        store.rate(clip.id, "kept" if feedback.get("kept") else "rejected")
    return clip.id


def export_memory(store: MemoryStore, path: str | os.PathLike[str], progress: Progress | None = None) -> TransferResult:
    """Write every clip of `store` to `path` (JSON Lines)."""
    target = Path(path)
    if target.is_dir():
        raise BadRequest(f"{target} is a folder; give a file name such as memory.jsonl")
    ids = all_ids(store)
    with atomic_open(target, parents=False) as fh:  # written whole, then renamed into place
        fh.write(json.dumps({"grym_memory_export": FORMAT, "clips": len(ids)}) + "\n")
        for n, clip_id in enumerate(ids, start=1):
            record = clip_record(store, clip_id)
            record["vectors"] = {s: _b64(v) for s, v in record["vectors"].items()}
            record["patterns"] = {k: _b64(v) for k, v in record["patterns"].items()}
            fh.write(json.dumps(record, allow_nan=False) + "\n")
            if progress and n % 100 == 0:
                progress(n / len(ids), f"exported {n} of {len(ids)} clips")
    return TransferResult(str(target), len(ids))


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise NotFound(f"no export file at {path}")
    records: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        try:
            header = json.loads(fh.readline() or "null")
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("grym_memory_export") != FORMAT:
            raise BadRequest(f"{path} is not a grym memory export (format {FORMAT}); make one with `grym memory export`")
        for number, line in enumerate(fh, start=2):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                _check_record(record)
            except (json.JSONDecodeError, BadRequest, KeyError, TypeError, ValueError) as exc:
                raise BadRequest(f"{path} line {number} is not a valid clip ({exc}); nothing was imported") from None
            records.append(record)
    return records


def _check_record(record: Any) -> None:
    if not isinstance(record, dict):
        raise BadRequest("a clip must be a JSON object")
    if not isinstance(record["content_hash"], str) or not record["content_hash"]:
        raise BadRequest("content_hash is missing")
    if record["source"] not in SOURCES:
        raise BadRequest(f"source must be one of {', '.join(SOURCES)}")
    for space, text in record.get("vectors", {}).items():
        if space not in SPACES:
            raise BadRequest(f"unknown vector space {space!r}")
        record["vectors"][space] = _unb64(text, f"the {space} vector")
    for kind, text in record.get("patterns", {}).items():
        if kind not in PATTERN_KINDS:
            raise BadRequest(f"unknown pattern kind {kind!r}")
        record["patterns"][kind] = _unb64(text, f"the {kind} pattern")


def import_memory(store: MemoryStore, path: str | os.PathLike[str], progress: Progress | None = None) -> TransferResult:
    """Merge the clips of an export file into `store`; returns how many were read and how many were new."""
    records = _read(Path(path))
    new = 0
    for n, record in enumerate(records, start=1):
        existed = store.find_by_hash(record["content_hash"]) is not None
        apply_record(store, record)
        new += not existed
        if progress and n % 100 == 0:
            progress(n / len(records), f"imported {n} of {len(records)} clips")
    return TransferResult(str(path), len(records), new)
