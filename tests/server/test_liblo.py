"""Clients this project did not write: liblo's oscsend and oscdump (Debian liblo-tools), over UDP and TCP."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from typing import Iterator

import pytest

from grym_bridge import __version__
from tests.conftest import require_tool
from tests.osc_client import RunningServer, free_port, osc_server  # noqa: F401


@pytest.fixture
def oscdump() -> Iterator[tuple[int, "queue.Queue[str]"]]:
    """oscdump listening on a free UDP port; its lines arrive on a queue (read by a thread, never blocking the test)."""
    port = free_port()
    proc = subprocess.Popen([require_tool("oscdump"), "-L", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.strip()) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    time.sleep(0.3)  # let oscdump bind
    try:
        yield port, lines
    finally:
        proc.terminate()
        proc.wait(5)


def oscsend(*args: str) -> None:
    subprocess.run([require_tool("oscsend"), *args], check=True, timeout=10)


def test_oscsend_gets_replies_through_the_reply_port_option(osc_server: RunningServer, oscdump) -> None:  # type: ignore[no-untyped-def]
    """oscsend sends every message from a fresh socket: `reply_port <port>` sends that request's replies to oscdump."""
    dump_port, lines = oscdump
    port = str(osc_server.port)
    oscsend("127.0.0.1", port, "/grym/system/ping", "isi", "42", "reply_port", str(dump_port))
    oscsend("127.0.0.1", port, "/grym/nope", "isi", "43", "reply_port", str(dump_port))
    oscsend("127.0.0.1", port, "/grym/system/p?ng", "Ssi", "sym", "reply_port", str(dump_port))
    got = [lines.get(timeout=5) for _ in range(3)]
    # oscdump prints "<timetag> <address> <types> <args...>"
    assert got[0].endswith(f'/grym/system/ping is 42 "{__version__}"')
    assert '/grym/error sis' in got[1] and '"/grym/nope" 43 "unknown_address"' in got[1]
    assert got[2].endswith(f'/grym/system/ping ss "sym" "{__version__}"')  # a symbol (S) as the request id


def test_oscsend_over_tcp_length_prefixed(osc_server: RunningServer) -> None:
    """liblo's TCP mode frames OSC 1.0 style (int32 length prefix): the server detects and serves it."""
    oscsend(f"osc.tcp://127.0.0.1:{osc_server.port}", "/grym/session/set", "iss", "5", "key", "D minor")
    deadline = time.monotonic() + 5
    with osc_server.client() as c:
        while time.monotonic() < deadline:
            address, args = c.request("/grym/session/get")
            if "D minor" in str(args):
                break
            time.sleep(0.1)
        assert "D minor" in str(args), args
