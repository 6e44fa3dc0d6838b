"""Where RPC uploads land: written to a partial file, checked by size and BLAKE3, then moved in place.

A file appears under `<data dir>/uploads/<random>/<name>` only once all of its
bytes arrived and their hash matches what the client declared; anything else
(a wrong hash, too many bytes, a peer that went away) deletes the partial
file, so nothing half-written is ever visible to a request.

All uploads together, stored and in flight, stay under `max_total_bytes`
(`network.max_uploads_total_bytes`): a new upload first deletes the oldest
stored ones to make room, and is refused (busy) only when uploads still in
flight take the room.
"""

from __future__ import annotations

import secrets
import shutil
import time
from pathlib import Path

from grym_bridge.errors import BadRequest, Busy, MessageTooLarge, disk_full, is_disk_full
from grym_bridge.transports.rpc.files import IncomingFile, StoredFile, safe_name

PARTIAL_DIR = ".partial"


class UploadStore:
    """The uploads folder with its limits and its clean-up of old files."""

    def __init__(self, root: Path, *, max_upload_bytes: int, ttl_s: float,
                 max_total_bytes: int = 8 * 1024**3) -> None:
        self.root = root
        self.partial_dir = root / PARTIAL_DIR
        self.max_upload_bytes = max_upload_bytes
        self.max_total_bytes = max_total_bytes
        self.ttl_s = ttl_s
        self.in_flight = 0  # bytes promised by uploads not yet finished
        self.evicted = 0
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
        if size > self.max_total_bytes:
            raise MessageTooLarge(f"upload of {size} bytes is larger than all uploads may take together "
                                  f"(network.max_uploads_total_bytes, {self.max_total_bytes}); send a shorter file")
        self._make_room(size)
        clean = safe_name(str(name))
        self.in_flight += size

        def release() -> None:
            self.in_flight -= size

        return IncomingFile(self.partial_dir / f"{secrets.token_hex(8)}.part", size, clean, f"upload of {clean}",
                            on_close=release)

    def stored(self) -> list[tuple[float, int, Path]]:
        """(modified time, bytes, folder) of every stored upload, oldest first."""
        out: list[tuple[float, int, Path]] = []
        for entry in self.root.iterdir():
            if entry.name == PARTIAL_DIR:
                continue
            try:
                files = [entry] if entry.is_file() else [f for f in entry.iterdir()]
                out.append((entry.stat().st_mtime, sum(f.lstat().st_size for f in files), entry))
            except FileNotFoundError:
                continue
        return sorted(out, key=lambda item: item[0])

    def _make_room(self, size: int) -> None:
        """Delete the oldest stored uploads until `size` more bytes fit under the total cap."""
        stored = self.stored()
        used = sum(item[1] for item in stored) + self.in_flight
        for _, nbytes, entry in stored:
            if used + size <= self.max_total_bytes:
                break
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
            used -= nbytes
            self.evicted += 1
        if used + size > self.max_total_bytes:
            raise Busy(f"uploads in flight already take {self.in_flight} of the {self.max_total_bytes} bytes all "
                       "uploads may use (network.max_uploads_total_bytes); retry when they finish",
                       retry_after_s=5.0)

    async def finish(self, upload: IncomingFile, blake3: object) -> StoredFile:
        """Check and move a finished upload into a folder of its own (names never collide)."""
        folder = self.root / secrets.token_hex(8)
        try:
            folder.mkdir()
        except OSError as exc:
            upload.abort()
            raise (disk_full(exc, upload.what) if is_disk_full(exc) else
                   BadRequest(f"{upload.what} could not be stored: {exc.strerror or exc}")) from None
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
