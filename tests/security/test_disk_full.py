"""Issue 14, item 10: a full disk is `disk_full`, never `store_corrupt` or `internal`, and every job's
owner hears done or error even when its result file cannot be written.

The attack: the data folder on a small tmpfs (mounted by the test, as root),
filled to the last byte while the server runs; then a render, an analysis
(whose result is too large for a datagram, so it goes to a results file)
and memory writes. After the filler is removed the memory is intact.
"""

from __future__ import annotations

import contextlib
import errno
import json
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import require
from tests.osc_client import JobFailed
from tests.security.serve import Serve, start, write_clip


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    return done.returncode == 0


@contextlib.contextmanager
def small_disk(where: Path, size: str = "8m") -> Iterator[Path]:
    require(_mount_tmpfs(where, size), "mounting a tmpfs (the test runs as root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(folder: Path) -> Path:
    """Write until the disk refuses one more byte."""
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 20, 1 << 14, 1 << 10, 64, 1):
            while True:
                try:
                    fh.write(b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    return filler


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Serve]:
    with small_disk(tmp_path / "data") as data:
        s = start(tmp_path, {"jobs": {"timeout_s": 60.0}}, data=data)
        try:
            yield s
        finally:
            s.stop()


def test_a_full_disk_is_disk_full_and_every_owner_hears(server: Serve) -> None:
    clip = write_clip(server.root / "loop.wav", seconds=2.0)
    other = write_clip(server.root / "other.wav", seconds=1.5)
    with server.client() as c:
        remembered = c.wait_job(c.start_job("/grym/memory/add", str(clip)), 60)["added"][0]
    filler = fill(server.data)

    with server.client() as c:
        with pytest.raises(JobFailed) as info:  # the render cannot be written
            c.wait_job(c.start_job("/grym/fx/render", str(clip), '[{"plugin": "Gain", "params": {}}]'), 60)
        assert info.value.code == "disk_full" and "free some space" in info.value.message
        assert not [p for p in (server.data / "renders").iterdir() if p.name.startswith(".")]  # no partial file

        with pytest.raises(JobFailed) as info:  # done, but its result file cannot be written: an error, not silence
            c.wait_job(c.start_job("/grym/analyze/file", str(clip)), 60)
        assert info.value.code == "disk_full"

        result = c.wait_job(c.start_job("/grym/memory/add", str(other)), 60)
        assert [f["code"] for f in result["failed"]] == ["disk_full"], result
        address, args = c.request("/grym/memory/tag", remembered, "dark")
        assert address == "/grym/error" and args[2] == "disk_full", args

    filler.unlink()
    with server.client() as c:  # the store was healthy all along
        _, (clip_json,) = c.request("/grym/memory/get", remembered)
        assert json.loads(clip_json)["id"] == remembered
        _, (clip_id, tags) = c.request("/grym/memory/tag", remembered, "dark")
        assert json.loads(tags) == ["dark"]
    assert "store_corrupt" not in server.stderr() and "Traceback" not in server.stderr()
