"""Fetching a clip this bridge lacks from the bridge that has it, over the RPC file transfer.

Audio stays on the machine that made or holds it; the shared memory's
`locations` table says where. `fetch_clip` downloads the clip from another
bridge (the RPC `get`: checked by size and BLAKE3 on the way), checks that the
audio hashes to the clip's content hash (the clip's identity, `checks.content_hash_of`),
and records the new copy as this machine's location of the same clip.

A bridge serves only files under its download roots (renders, results,
uploads), so generated and rendered clips can be fetched; a clip in someone's
sample folder stays there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from grym_bridge.errors import BadRequest, NotFound
from grym_bridge.memory.checks import content_hash_of, legacy_hash_of
from grym_bridge.memory.types import Clip


async def fetch_clip(store: Any, clip_id: int, client: Any, dest_dir: str | os.PathLike[str]) -> Clip:
    """Download clip `clip_id` from the bridge `client` is connected to into `dest_dir`; returns the clip.

    `store` is a shared memory (it knows `locations`); `client` an `RpcClient`.
    """
    if not hasattr(store, "locations"):
        raise BadRequest("fetching a clip needs the shared memory (memory.backend = \"postgresql\")")
    clip = store.get(clip_id)
    where = store.locations(clip_id)
    others = {m: p for m, p in where.items() if m != store.machine}
    if not others:
        raise NotFound(f"no other machine holds clip {clip_id} (known at: {', '.join(where) or 'nowhere'})")
    dest = Path(dest_dir).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    # Prefer a path the remote bridge may serve; it refuses the others with path_not_allowed.
    served = [p for p in others.values() if client.is_remote_file(p)] or list(others.values())
    stored = await client.download(served[0], dest)
    local = Path(stored.path)
    content_hash = content_hash_of(local)
    # A clip remembered before samples were hashed is keyed by its file's bytes: they must match,
    # and `add_clip` then re-keys it to `content_hash`.
    if content_hash != clip.content_hash and legacy_hash_of(local) != clip.content_hash:
        local.unlink(missing_ok=True)
        raise BadRequest(f"the file fetched for clip {clip_id} is not its content (the remote file changed since it "
                         "was remembered); it was deleted")
    if content_hash != clip.content_hash:
        store.adopt_legacy(local, content_hash)
    return store.add_clip(local, content_hash=content_hash, source=clip.source)
