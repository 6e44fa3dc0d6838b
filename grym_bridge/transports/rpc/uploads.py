"""Where RPC uploads land: written to a partial file, checked by size and BLAKE3, then moved in place.

A file appears under `<data dir>/uploads/<random>/<name>` only once all of its
bytes arrived and their hash matches what the client declared; anything else
(a wrong hash, too many bytes, a peer that went away) deletes the partial
file, so nothing half-written is ever visible to a request.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from grym_bridge.errors import BadRequest, MessageTooLarge
from grym_bridge.transports.rpc.framing import new_hasher

PARTIAL_DIR = ".partial"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class StoredFile:
    """A completed upload (or download): where it is, its size and BLAKE3."""

    path: Path
    size: int
    blake3: str


def safe_name(name: str) -> str:
    """A file name that cannot climb out of its folder: base name only, odd characters replaced."""
    base = os.path.basename(str(name).replace("\\", "/")).strip().lstrip(".")
    base = _UNSAFE.sub("_", base)[:120]
    return base or "upload.bin"


class PartialUpload:
    """One upload in progress: bytes go to a partial file while their hash is computed."""

    def __init__(self, store: "UploadStore", name: str, size: int) -> None:
        self.store = store
        self.name = safe_name(name)
        self.size = size
        self.received = 0
        self._hash = new_hasher()
        self._tmp = store.partial_dir / f"{secrets.token_hex(8)}.part"
        self._fh = self._tmp.open("xb")

    def write(self, data: bytes) -> None:
        """Append a chunk; more bytes than declared aborts the upload."""
        if self.received + len(data) > self.size:
            self.abort()
            raise BadRequest(f"upload of {self.name} sent more than the {self.size} bytes it declared")
        self._fh.write(data)
        self._hash.update(data)
        self.received += len(data)

    def finish(self, blake3: str) -> StoredFile:
        """Check size and hash, then move the file in place; on any mismatch delete it."""
        self._fh.close()
        digest = self._hash.hexdigest()
        if self.received != self.size:
            self.abort()
            raise BadRequest(f"upload of {self.name} ended after {self.received} of {self.size} bytes; send it again")
        if not isinstance(blake3, str) or blake3.lower() != digest:
            self.abort()
            raise BadRequest(f"upload of {self.name} arrived damaged (BLAKE3 {digest} does not match); send it again")
        folder = self.store.root / secrets.token_hex(8)
        folder.mkdir()
        final = folder / self.name
        os.replace(self._tmp, final)
        return StoredFile(final, self.size, digest)

    def abort(self) -> None:
        """Forget the upload and delete its partial file (safe to call twice)."""
        if not self._fh.closed:
            self._fh.close()
        self._tmp.unlink(missing_ok=True)


class UploadStore:
    """The uploads folder with its limits and its clean-up of old files."""

    def __init__(self, root: Path, *, max_upload_bytes: int, ttl_s: float) -> None:
        self.root = root
        self.partial_dir = root / PARTIAL_DIR
        self.max_upload_bytes = max_upload_bytes
        self.ttl_s = ttl_s
        self.partial_dir.mkdir(parents=True, exist_ok=True)

    def begin(self, name: str, size: int) -> PartialUpload:
        """Start an upload of `size` bytes, refusing what exceeds the limit before a byte is sent."""
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadRequest(f"upload size must be a byte count (an integer of 0 or more); got {size!r}")
        if size > self.max_upload_bytes:
            raise MessageTooLarge(
                f"upload of {size} bytes is larger than network.max_upload_bytes ({self.max_upload_bytes}); "
                "raise the limit in the bridge's config or send a shorter file"
            )
        return PartialUpload(self, str(name), size)

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
