"""Where RPC uploads land: written to a partial file, checked by size and BLAKE3, then moved in place.

A file appears under `<data dir>/uploads/<random>/<name>` only once all of its
bytes arrived and their hash matches what the client declared; anything else
(a wrong hash, too many bytes, a peer that went away) deletes the partial
file, so nothing half-written is ever visible to a request.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from grym_bridge.errors import BadRequest, MessageTooLarge
from grym_bridge.transports.rpc.files import IncomingFile, StoredFile, safe_name

PARTIAL_DIR = ".partial"


class UploadStore:
    """The uploads folder with its limits and its clean-up of old files."""

    def __init__(self, root: Path, *, max_upload_bytes: int, ttl_s: float) -> None:
        self.root = root
        self.partial_dir = root / PARTIAL_DIR
        self.max_upload_bytes = max_upload_bytes
        self.ttl_s = ttl_s
        self.partial_dir.mkdir(parents=True, exist_ok=True)

    def begin(self, name: str, size: int) -> IncomingFile:
        """Start an upload of `size` bytes, refusing what exceeds the limit before a byte is sent."""
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadRequest(f"upload size must be a byte count (an integer of 0 or more); got {size!r}")
        if size > self.max_upload_bytes:
            raise MessageTooLarge(
                f"upload of {size} bytes is larger than network.max_upload_bytes ({self.max_upload_bytes}); "
                "raise the limit in the bridge's config or send a shorter file"
            )
        clean = safe_name(str(name))
        return IncomingFile(self.partial_dir / f"{secrets.token_hex(8)}.part", size, clean, f"upload of {clean}")

    async def finish(self, upload: IncomingFile, blake3: object) -> StoredFile:
        """Check and move a finished upload into a folder of its own (names never collide)."""
        folder = self.root / secrets.token_hex(8)
        folder.mkdir()
        try:
            return await upload.finish(blake3, folder / upload.name)
        except BaseException:
            folder.rmdir()
            raise

    def sweep(self, now: float | None = None) -> int:
        """Delete uploads older than the TTL and partial files left by a crash; return how many went."""
        now = time.time() if now is None else now
        removed = 0
        for entry in self.root.iterdir():
            if entry.name == PARTIAL_DIR:
                continue
            try:
                if now - entry.stat().st_mtime > self.ttl_s:
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def clear_partials(self) -> None:
        """Delete every partial file: called at start, when no upload can be in flight."""
        for part in self.partial_dir.glob("*.part"):
            part.unlink(missing_ok=True)
