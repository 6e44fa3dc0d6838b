"""Atomic file writes, and bounded reads of files a client named.

Writes: a temporary file in the same folder, renamed into place. Readers
never see half a file, a failed write leaves nothing behind, and the rename
is atomic on every platform grym runs on (`os.replace`). Every writer of the
package uses these; plugin_host keeps its own (it depends on nothing of
grym_bridge).

Reads of client-named files (`open_regular`, `read_bounded`, `hash_file`)
open without blocking, refuse anything but a regular file (a FIFO would hang
the reader, `/dev/zero` never ends), stop at a size cap, and reach a
cancellation point between chunks. Call them in a worker, never on the event loop.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

from grym_bridge.cancel import checkpoint
from grym_bridge.errors import BadRequest, Busy, MessageTooLarge, NotFound

CHUNK = 1024 * 1024


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str = ".part", parents: bool = True) -> Iterator[Path]:
    """A temporary path beside `path`; it replaces `path` when the block ends, and is removed if it raises.

    `parents` creates the folder first; without it a missing folder is the caller's error (FileNotFoundError).
    """
    final = Path(path)
    if parents:
        final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix, dir=str(final.parent))
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w", *, parents: bool = True) -> Iterator[IO[Any]]:
    """Open a temporary file for writing (`w` or `wb`) that replaces `path` when the block ends without error."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode 'w' or 'wb', not {mode!r}")
    with atomic_path(path, parents=parents) as tmp:
        with open(tmp, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as fh:
            yield fh


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; returns the path."""
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)


def atomic_write_json(path: str | os.PathLike[str], data: Any, *, indent: int | None = 2) -> Path:
    """Write `data` (already JSON-able) as JSON to `path` atomically; returns the path."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return atomic_write_text(path, text + ("\n" if indent is not None else ""))


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def check_regular(path: str | os.PathLike[str], what: str = "file") -> os.stat_result:
    """The `stat` of `path` (links followed) if it is a regular file; else a clear error. Never blocks on a FIFO."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotFound(f"the {what} {path} does not exist; check the path") from None
    except OSError as exc:
        raise BadRequest(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadRequest(f"the {what} {path} is {_kind(st.st_mode)}; name an ordinary file")
    return st


@contextlib.contextmanager
def open_regular(path: str | os.PathLike[str], what: str = "file") -> Iterator[IO[bytes]]:
    """Open `path` for reading only if it is a regular file, checked on the open descriptor.

    `O_NONBLOCK` makes opening a FIFO return at once instead of waiting for a writer, and the
    check on the descriptor (not the name) cannot be raced by swapping the file afterwards.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise NotFound(f"the {what} {path} does not exist; check the path") from None
    except OSError as exc:
        if exc.errno in (errno.EMFILE, errno.ENFILE):  # the server's fault, not the file's: say so
            raise Busy(f"the server has run out of file descriptors and cannot open the {what} {path} now; "
                       "retry in a moment (or raise `ulimit -n`)", retry_after_s=2.0) from None
        raise BadRequest(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise BadRequest(f"the {what} {path} is {_kind(st.st_mode)}; name an ordinary file")
    with os.fdopen(fd, "rb") as fh:
        yield fh


def read_bounded(path: str | os.PathLike[str], limit: int, *, what: str = "file",
                 key: str = "paths.max_read_bytes") -> bytes:
    """The bytes of the regular file `path`, refusing one larger than `limit` (the config `key` sets it)."""
    with open_regular(path, what) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise MessageTooLarge(f"the {what} {path} is {size} bytes, more than the limit of {limit} ({key}); "
                                  "name a smaller file or raise the limit")
        parts: list[bytes] = []
        total = 0
        while total <= limit:
            checkpoint()
            part = fh.read(min(CHUNK, limit + 1 - total))
            if not part:
                break
            parts.append(part)
            total += len(part)
    if total > limit:  # it grew while we read it
        raise MessageTooLarge(f"the {what} {path} grew past the limit of {limit} bytes ({key}) while being read")
    return b"".join(parts)


def read_text_bounded(path: str | os.PathLike[str], limit: int, *, what: str = "file",
                      key: str = "paths.max_read_bytes") -> str:
    """`read_bounded` decoded as UTF-8; a binary file is a clear `BadRequest`, not an internal error."""
    data = read_bounded(path, limit, what=what, key=key)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the {what} {path} is not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x}: "
                         "a binary file?); name a text file") from None


def hash_file(path: str | os.PathLike[str], algorithm: str = "sha256", *, what: str = "file") -> str:
    """The hex digest of a regular file's bytes, read in chunks with a cancellation point between them."""
    digest = hashlib.new(algorithm)
    with open_regular(path, what) as fh:
        while True:
            checkpoint()
            part = fh.read(CHUNK)
            if not part:
                break
            digest.update(part)
    return digest.hexdigest()
