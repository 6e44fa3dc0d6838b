"""Issue 14, item 6: cancel and timeout free the worker within a second; SIGTERM ends the process within 5 s.

The attack: a job that reads a very large file (hashing the samples of a
sparse WAV declaring 4 GiB of PCM16 silence, as `/grym/memory/add` does) on a
server with one CPU worker. Cancelling it, or letting it time out, must free that worker at
once (a quick job queued behind it finishes within a second or two), and
SIGTERM while it runs must end the process.
"""

from __future__ import annotations

import json
import signal
import struct
import time
from pathlib import Path

import pytest

from tests.osc_client import JobFailed, OscClient
from tests.security.serve import Serve, start

QUICK = json.dumps([{"plugin": "Gain", "params": {"gain_db": 1.0}}])


def sparse(path: Path, data_bytes: int = 0xFFFFFF00) -> Path:
    """A valid mono PCM16 WAV of `data_bytes` of silence that takes no disk space (decoding and
    hashing its samples, the memory's identity of a clip, still takes seconds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt "
              + struct.pack("<IHHIIHH", 16, 1, 1, 44100, 88200, 2, 16) + b"data" + struct.pack("<I", data_bytes))
    with open(path, "wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + data_bytes)
    return path


def start_hashing(server: Serve, c: OscClient) -> int:
    job = c.start_job("/grym/memory/add", str(sparse(server.root / "huge" / "big.wav")))
    c.expect(lambda a, args: a == "/grym/job/progress" and args[0] == job, 10)
    time.sleep(0.3)  # well inside the hash by now
    return job


def seconds_until_quick_job_done(c: OscClient, timeout: float = 10.0) -> float:
    started = time.monotonic()
    c.wait_job(c.start_job("/grym/fx/map", QUICK, "reaper"), timeout)
    return time.monotonic() - started


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = start(tmp_path, {"jobs": {"cpu_workers": 1, "timeout_s": 3.0}})
    with s.client() as c:
        seconds_until_quick_job_done(c, 60)  # imports the fx capability once, so the timings below are the worker's
    yield s
    s.stop()


def test_cancel_frees_the_worker_within_a_second(server: Serve) -> None:
    with server.client() as c:
        job = start_hashing(server, c)
        _, (job_id, state) = c.request("/grym/job/cancel", job)
        assert (job_id, state) == (job, "cancelled")
        assert seconds_until_quick_job_done(c) < 2.0  # the hash loop stopped; a still-running thread would hold it ~10 s


def test_timeout_frees_the_worker(server: Serve) -> None:
    with server.client() as c:
        job = start_hashing(server, c)
        with pytest.raises(JobFailed) as info:
            c.wait_job(job, 10)
        assert info.value.code == "timeout"
        assert seconds_until_quick_job_done(c) < 2.0
    assert "Traceback" not in server.stderr()  # the stopped thread's Cancelled is taken, not logged


def test_sigterm_ends_the_process_within_five_seconds(server: Serve) -> None:
    with server.client() as c:
        start_hashing(server, c)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(5)
        assert time.monotonic() - started < 5.0
    assert server.proc.returncode == 0
    assert "Traceback" not in server.stderr()
