"""The receiving side of `grym models fetch ID --from HOST`: a model's files from another bridge.

The other bridge lists the model's files with sizes and BLAKE3 (its
`ModelShare`); each file comes over the RPC file transfer, which checks size
and hash on arrival, and is compared with the listing too. The files land in
a staging folder next to the models folder and are then imported exactly like
a folder the user copied (`importer.import_model`: components, safetensors
headers, the manifest's hashes), by hard links, so nothing is copied twice and
nothing half-fetched is ever visible. The CLI connects the client; this module
only needs its two calls, so it imports no transport.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Protocol

from grym_bridge.models.importer import ImportPlan, check_room, import_model
from grym_bridge.models.registry import GB, ModelRegistry, get_spec
from grym_bridge.models.verify import KEPT_SUFFIXES, FileEntry, WeightsRefused, write_manifest

#: A listing larger than this many times the model's known download size is refused (a bridge that
#: offers a model of 4.6 GB may not fill the disk with 100 GB).
MAX_SIZE_FACTOR = 2.5
Progress = Callable[[str], None]


class ModelSource(Protocol):
    """The two calls of `grym_bridge.transports.rpc.client.RpcClient` a fetch needs."""

    async def model_manifest(self, model_id: str) -> dict[str, Any]: ...

    async def download_model_file(self, model_id: str, rel: str, dest: Path) -> Any: ...


def check_listing(model_id: str, listing: dict[str, Any], into: Path) -> list[FileEntry]:
    """The listing's files, after checking names, sizes against the model's size and the free disk space."""
    spec = get_spec(model_id)
    files = listing.get("files")
    if listing.get("model") != spec.id or not isinstance(files, list) or not files:
        raise WeightsRefused(f"the other bridge sent no file list for {spec.id}")
    entries = []
    for f in files:
        try:
            entry = FileEntry(str(f["path"]), int(f["size"]), str(f["blake3"]))
        except (KeyError, TypeError, ValueError):
            raise WeightsRefused(f"the other bridge's file list for {spec.id} is malformed") from None
        parts = PurePosixPath(entry.path).parts
        if (entry.path.startswith("/") or ".." in parts or any(p.startswith(".") for p in parts)
                or PurePosixPath(entry.path).suffix not in KEPT_SUFFIXES or entry.size < 0):
            raise WeightsRefused(f"the other bridge offers {entry.path!r} for {spec.id}, which grym does not take")
        entries.append(entry)
    total = sum(e.size for e in entries)
    limit = max(1.0, spec.download_gb * MAX_SIZE_FACTOR) * GB
    if total > limit:
        raise WeightsRefused(f"the other bridge offers {total / GB:.1f} GB for {spec.id}, more than the "
                             f"{limit / GB:.1f} GB it can take; check that bridge's copy")
    check_room(into, total, spec.id)
    return entries


async def fetch_model(registry: ModelRegistry, source: ModelSource, model_id: str, *, origin: str,
                      replace: bool = False, progress: Progress = lambda _m: None) -> ImportPlan:
    """Copy `model_id` from another bridge into the models folder; the import carried out."""
    spec = get_spec(model_id)
    base = registry.import_dir()
    base.mkdir(parents=True, exist_ok=True)
    destination = base / spec.id
    if destination.exists() and not replace:
        raise WeightsRefused(f"{spec.id} is already at {destination}; add --replace to replace it")
    entries = check_listing(spec.id, await source.model_manifest(spec.id), base)
    staging = base / f".grym-fetch-{secrets.token_hex(4)}"
    total, done = sum(e.size for e in entries), 0
    try:
        for i, entry in enumerate(entries, 1):
            dest = staging / entry.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            stored = await source.download_model_file(spec.id, entry.path, dest)
            if stored.size != entry.size or stored.blake3 != entry.blake3:
                raise WeightsRefused(f"{entry.path} arrived different from the other bridge's list; fetch again")
            done += entry.size
            progress(f"[{i}/{len(entries)}] {entry.path} ({done / GB:.2f} of {total / GB:.2f} GB)")
        write_manifest(staging, entries, model=spec.id, source=origin)
        return import_model(registry, staging, model=spec.id, replace=replace, link=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if os.path.isdir(base) and not any(base.iterdir()):
            base.rmdir()  # a first fetch that failed leaves no empty models folder behind
