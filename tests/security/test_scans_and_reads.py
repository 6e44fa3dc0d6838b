"""Issue 14, items 4 and 5: folder scans stay in the roots and open only regular files; client-named
files are read in workers, bounded, and a bad one is a clear error.

The attacks: a scanned folder holding links out of the roots (to a file
outside, to /etc/passwd), a link to /dev/zero and a FIFO named like audio;
a FIFO, a huge file and a binary file given as a chain file. The server must
answer pings throughout, and its one CPU worker must be free afterwards.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.osc_client import JobFailed
from tests.security.serve import Serve, start, write_clip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    tmp = tmp_path_factory.mktemp("scans")
    # /dev among the roots: a link to /dev/zero must then be refused for what it is, not where it is
    s = start(tmp, {"paths": {"allowed_roots": [str(tmp / "music"), "/dev"], "max_read_bytes": 65536},
                    "jobs": {"timeout_s": 30.0}})
    yield s
    s.stop()


def test_folder_scan_refuses_links_out_of_the_roots_fifos_and_devices(server: Serve, tmp_path: Path) -> None:
    outside = write_clip(tmp_path / "outside" / "secret.wav")  # a real clip, outside every root
    folder = server.root / "library"
    write_clip(folder / "good.wav")
    (folder / "secret.wav").symlink_to(outside)
    (folder / "passwd.wav").symlink_to("/etc/passwd")
    (folder / "zero.wav").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe.wav")
    with server.client() as c:
        started = time.monotonic()
        job = c.start_job("/grym/memory/add", str(folder))
        result = c.wait_job(job, 60)
        took = time.monotonic() - started
    assert len(result["added"]) == 1, result
    failed = {Path(f["path"]).name: f["code"] for f in result["failed"]}
    assert failed == {"secret.wav": "path_not_allowed", "passwd.wav": "path_not_allowed",
                      "zero.wav": "bad_args", "pipe.wav": "bad_args"}, result
    assert took < 30
    with server.client() as c:  # only the good clip was stored
        _, (clip,) = c.request("/grym/memory/get", result["added"][0])
        assert json.loads(clip)["path"].endswith("good.wav")
    # the worker is free: a new job runs at once
    assert server.ping_ms() < 1000
    with server.client() as c:
        c.wait_job(c.start_job("/grym/fx/map", json.dumps([{"plugin": "Gain", "params": {}}]), "reaper"), 10)


def test_devices_and_fifos_named_directly_are_refused_at_once(server: Serve) -> None:
    fifo = server.root / "direct.wav"
    os.mkfifo(fifo)
    with server.client() as c:
        for path in ("/dev/zero", str(fifo)):
            started = time.monotonic()
            with pytest.raises(JobFailed) as info:
                c.wait_job(c.start_job("/grym/analyze/file", path), 10)
            assert info.value.code == "bad_audio" and ("device" in info.value.message or "FIFO" in info.value.message)
            assert time.monotonic() - started < 5


def test_a_fifo_chain_file_never_freezes_the_server(server: Serve) -> None:
    fifo = server.root / "chain.json"
    os.mkfifo(fifo)
    clip = write_clip(server.root / "a.wav")
    with server.client() as c:
        jobs = [c.start_job("/grym/fx/map", str(fifo), "reaper"), c.start_job("/grym/fx/render", str(clip), str(fifo))]
        assert server.ping_ms() < 1000  # the event loop never opened the FIFO
        for job in jobs:
            with pytest.raises(JobFailed) as info:
                c.wait_job(job, 10)
            assert info.value.code == "bad_args" and "named pipe" in info.value.message
    assert fifo.exists()


def test_huge_and_binary_chain_files_are_clear_errors(server: Serve) -> None:
    huge = server.root / "huge.json"
    huge.write_text("[" + " " * (1 << 20) + "]")  # 1 MiB, over the 64 KiB paths.max_read_bytes
    binary = server.root / "binary.json"
    binary.write_bytes(bytes(range(256)) * 4)
    with server.client() as c:
        with pytest.raises(JobFailed) as info:
            c.wait_job(c.start_job("/grym/fx/map", str(huge), "ableton"), 10)
        assert info.value.code == "too_large" and "paths.max_read_bytes" in info.value.message
        with pytest.raises(JobFailed) as info:
            c.wait_job(c.start_job("/grym/fx/map", str(binary), "ableton"), 10)
        assert info.value.code == "bad_args" and "not UTF-8" in info.value.message
    assert "Traceback" not in server.stderr()


def test_links_in_a_stems_folder_are_checked_after_resolution(server: Serve, tmp_path: Path) -> None:
    stems = server.root / "stems"
    write_clip(stems / "bass.wav")
    (stems / "drums.wav").symlink_to(write_clip(tmp_path / "elsewhere" / "drums.wav"))
    with server.client() as c:
        address, args = c.request("/grym/mix/suggest", str(stems))
    assert address == "/grym/error" and args[2] == "path_not_allowed", args


def test_impulse_responses_are_checked_after_resolution_and_must_be_regular(server: Serve, tmp_path: Path) -> None:
    fifo = server.root / "room.wav"
    os.mkfifo(fifo)
    link = server.root / "hall.wav"
    link.symlink_to(write_clip(tmp_path / "outside" / "hall.wav"))
    with server.client() as c:
        for ir, code in ((fifo, "bad_args"), (link, "path_not_allowed")):
            chain = json.dumps([{"plugin": "Convolution", "params": {"impulse_response_filename": str(ir)}}])
            address, args = c.request("/grym/fx/map", chain, "reaper")
            assert address == "/grym/error" and args[2] == code, args
    assert server.ping_ms() < 1000
