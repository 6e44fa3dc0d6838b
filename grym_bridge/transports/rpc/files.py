"""Files that arrive in chunks (uploads on the bridge, downloads on the client).

Bytes go to a partial file and into the BLAKE3 hash in a worker thread, so
the event loop keeps receiving the next chunk meanwhile (bench/rpc.py: the
loop doing both was the slower half of an upload). The file is moved to its
final name only when its size and hash match; anything else deletes it, so
nothing half-written is ever visible.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from typing import Callable

from grym_bridge.errors import BadRequest, disk_full, is_disk_full
from grym_bridge.transports.rpc.framing import new_hasher

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class StoredFile:
    """A complete, checked file: where it is, its size and BLAKE3 (hex)."""

    path: Path
    size: int
    blake3: str


def safe_name(name: str) -> str:
    """A file name that cannot climb out of its folder: base name only, odd characters replaced."""
    base = os.path.basename(str(name).replace("\\", "/")).strip().lstrip(".")
    base = _UNSAFE.sub("_", base)[:120]
    return base or "upload.bin"


class IncomingFile:
    """One file being received: `write` chunks, then `finish` (checked) or `abort` (deleted)."""

    #: Chunks queued for the worker before the receiver waits (`wait_room`).
    MAX_BACKLOG = 4

    def __init__(self, partial: Path, size: int, name: str, what: str,
                 on_close: Callable[[], None] | None = None) -> None:
        self.partial = partial
        self.size = size
        self.name = name
        self.what = what
        self._on_close = on_close  # called once, when the file is finished or dropped
        self.received = 0
        self._hash = new_hasher()
        self._fh = partial.open("xb")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grym-rpc-file")
        self._pending: deque[Future[None]] = deque()
        self._closed = False

    def write(self, data: bytes) -> None:
        """Queue a chunk; more bytes than declared aborts the file."""
        if self.received + len(data) > self.size:
            self.abort()
            raise BadRequest(f"{self.what} sent more than the {self.size} bytes it declared")
        self.received += len(data)
        self._pending.append(self._pool.submit(self._write, data))
        while self._pending and self._pending[0].done():
            self._result()  # a failed write (disk full) surfaces here

    def _write(self, data: bytes) -> None:
        self._fh.write(data)
        self._hash.update(data)

    async def wait_room(self) -> None:
        """Wait while the worker is more than MAX_BACKLOG chunks behind (backpressure to the sender)."""
        while len(self._pending) > self.MAX_BACKLOG:
            await asyncio.wait([asyncio.wrap_future(self._pending[0])])
            self._result()

    def _result(self) -> None:
        """The oldest queued write's outcome; a failed one drops the file with an error a client can act on."""
        try:
            self._pending.popleft().result()
        except OSError as exc:
            self.abort()
            if is_disk_full(exc):
                raise disk_full(exc, self.what) from None
            raise BadRequest(f"{self.what} could not be written: {exc.strerror or exc}") from None

    async def finish(self, blake3: object, final: Path) -> StoredFile:
        """Wait for the writes, check size and hash, and move the file to `final`."""
        while self._pending:
            await asyncio.wait([asyncio.wrap_future(self._pending[0])])
            self._result()
        try:
            self._fh.close()
        except OSError as exc:  # the last buffered bytes did not fit
            self.abort()
            raise (disk_full(exc, self.what) if is_disk_full(exc) else
                   BadRequest(f"{self.what} could not be written: {exc.strerror or exc}")) from None
        self._pool.shutdown()
        self._closed = True
        self._closed_callback()
        digest = self._hash.hexdigest()
        if self.received != self.size:
            self.abort()
            raise BadRequest(f"{self.what} ended after {self.received} of {self.size} bytes; send it again")
        if not isinstance(blake3, str) or blake3.lower() != digest:
            self.abort()
            raise BadRequest(f"{self.what} arrived damaged (its BLAKE3 does not match); send it again")
        os.replace(self.partial, final)
        return StoredFile(final, self.size, digest)

    def _closed_callback(self) -> None:
        callback, self._on_close = self._on_close, None
        if callback is not None:
            callback()

    def abort(self) -> None:
        """Drop the file: queued writes are cancelled and the partial file deleted (safe to call twice)."""
        self._closed_callback()
        if not self._closed:
            self._closed = True
            for future in self._pending:
                future.cancel()
            # Closing and deleting run after any write already in progress.
            self._pool.submit(self._discard)
            self._pool.shutdown(wait=False)
        else:
            self.partial.unlink(missing_ok=True)

    def _discard(self) -> None:
        try:
            self._fh.close()
        except OSError:  # a full disk refuses the buffered rest: the file is dropped anyway
            pass
        self.partial.unlink(missing_ok=True)
