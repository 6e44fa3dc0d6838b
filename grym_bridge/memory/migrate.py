"""`grym memory migrate`: copy a whole memory between backends (SQLite to PostgreSQL, and back).

Clips are copied oldest first, each through the target's own `add_clip`, so
the target deduplicates by content hash exactly as it does for any add.
Resumable: a clip the target already holds with the same fingerprint (a hash
of everything stored about it) is skipped, one that differs (a copy cut short
between its transactions) is copied again. At the end the two memories are
verified: the same counts, and the same digest over every clip's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from grym_bridge.errors import GrymError
from grym_bridge.memory.store import MemoryStore
from grym_bridge.memory.transfer import all_ids, apply_record, clip_record
from grym_bridge.memory.vectors import to_blob

Progress = Callable[[float, str], None]


class MigrationMismatch(GrymError):
    """The copy does not match its source after a migration."""

    code = "migration_mismatch"


@dataclass(frozen=True)
class MigrationResult:
    clips: int
    copied: int
    skipped: int
    sessions: int
    digest: str


def _vector_hash(vec: Any) -> str:
    # To 5 decimals: a store re-normalizes pattern vectors on the way in, which may move the last bit.
    return hashlib.sha256(to_blob(np.round(np.asarray(vec, dtype=np.float32), 5) + 0.0)).hexdigest()


def fingerprint(record: dict[str, Any]) -> str:
    """SHA-256 over what a copy must preserve of one clip (not its id, which each store assigns)."""
    canonical = {
        **{k: record[k] for k in ("content_hash", "path", "source", "duration_s", "sample_rate", "provenance",
                                  "feedback", "features")},
        "tags": sorted(record["tags"]),
        "vectors": {s: _vector_hash(v) for s, v in sorted(record["vectors"].items())},
        "patterns": {k: _vector_hash(v) for k, v in sorted(record["patterns"].items())},
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, allow_nan=False).encode()).hexdigest()


def _counts(store: MemoryStore) -> dict[str, Any]:
    s = store.stats()
    return {"clips": s.clips, "vectors": s.vectors, "patterns": s.patterns, "tags": s.tags, "kept": s.kept,
            "rejected": s.rejected, "rated": s.rated, "sessions": s.sessions}


def digest(store: MemoryStore) -> str:
    """One hash over every clip's fingerprint (ordered by content hash) and every session."""
    records = (clip_record(store, i) for i in all_ids(store))
    prints = sorted((r["content_hash"], fingerprint(r)) for r in records)
    h = hashlib.sha256()
    for content_hash, fp in prints:
        h.update(f"{content_hash} {fp}\n".encode())
    for name in store.list_sessions():
        h.update(f"session {name} {json.dumps(store.load_session(name), sort_keys=True)}\n".encode())
    return h.hexdigest()


def migrate_memory(source: MemoryStore, target: MemoryStore, progress: Progress | None = None) -> MigrationResult:
    """Copy every clip and session of `source` into `target`, then verify counts and hashes."""
    ids = all_ids(source)
    copied = skipped = 0
    for n, clip_id in enumerate(ids, start=1):
        record = clip_record(source, clip_id)
        there = target.find_by_hash(record["content_hash"])
        if there is not None and fingerprint(clip_record(target, there.id)) == fingerprint(record):
            skipped += 1
        else:
            if there is not None:
                target.rate(there.id, "clear")  # a copy cut short: start its feedback over
            apply_record(target, record)
            copied += 1
        if progress and (n % 100 == 0 or n == len(ids) or len(ids) <= 100):
            progress(n / max(len(ids), 1), f"{n} of {len(ids)} clips ({copied} copied, {skipped} already there)")
    sessions = source.list_sessions()
    for name in sessions:
        target.save_session(name, source.load_session(name))
    want, got = _counts(source), _counts(target)
    if want != got:
        raise MigrationMismatch(f"after copying, the counts differ: source {want}, target {got}; the target held "
                                "other clips before, or another writer changed one side; run the migration again")
    want_digest, got_digest = digest(source), digest(target)
    if want_digest != got_digest:
        raise MigrationMismatch("after copying, the clips' hashes differ between source and target; run the "
                                "migration again (it copies only what differs)")
    return MigrationResult(len(ids), copied, skipped, len(sessions), got_digest)
