"""A client this project did not write: liblo's oscsend and oscdump (Debian liblo-tools)."""

from __future__ import annotations

import subprocess
import time

from grym_bridge import __version__
from tests.conftest import require_tool
from tests.osc_client import RunningServer, free_port, osc_server  # noqa: F401


def test_oscsend_pings_and_oscdump_receives_the_reply(osc_server: RunningServer) -> None:
    oscsend, oscdump = require_tool("oscsend"), require_tool("oscdump")
    dump_port = free_port()
    dump = subprocess.Popen([oscdump, "-L", str(dump_port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)  # let oscdump bind
        port = str(osc_server.port)
        # oscsend sends each message from a fresh socket, so it says hello with oscdump's port first.
        subprocess.run([oscsend, "127.0.0.1", port, "/grym/system/hello", "ii", "1", str(dump_port)], check=True, timeout=10)
        subprocess.run([oscsend, "127.0.0.1", port, "/grym/system/ping", "i", "42"], check=True, timeout=10)
        subprocess.run([oscsend, "127.0.0.1", port, "/grym/nope", "i", "43"], check=True, timeout=10)
        deadline = time.monotonic() + 5
        lines: list[str] = []
        while time.monotonic() < deadline and len(lines) < 3:
            line = dump.stdout.readline()  # type: ignore[union-attr]
            if line:
                lines.append(line.strip())
    finally:
        dump.terminate()
        dump.wait(5)
    # oscdump prints "<timetag> <address> <types> <args...>"
    assert lines[0].endswith(f'/grym/system/hello issi 1 "ok" "{__version__}" 1')
    assert lines[1].endswith(f'/grym/system/ping is 42 "{__version__}"')
    assert '/grym/error sis' in lines[2] and '"/grym/nope" 43 "unknown_address"' in lines[2]
