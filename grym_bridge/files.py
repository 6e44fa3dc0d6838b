"""Atomic file writes: a temporary file in the same folder, renamed into place.

Readers never see half a file, a failed write leaves nothing behind, and the
rename is atomic on every platform grym runs on (`os.replace`). Every writer
of the package uses these; plugin_host keeps its own (it depends on nothing
of grym_bridge).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator


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
