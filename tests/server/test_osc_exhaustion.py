"""Issue 14.8 against a real `grym serve` process: out of file descriptors, the OSC accept loop backs off,
logs once, and serves again as soon as descriptors are free."""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

from grym_bridge import __version__
from tests.osc_client import OscClient, free_port

REPO = Path(__file__).resolve().parents[2]


def test_accept_backs_off_and_logs_once_when_out_of_descriptors(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "GRYM_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1",
           "GRYM_SERVER_TCP_MAX_CONNECTIONS": "5000", "GRYM_NETWORK_ADVERTISE": "off",
           "GRYM_NETWORK_RPC_PORT": "0", "GRYM_NETWORK_OSCQUERY_PORT": "0", "GRYM_MIDI_ENABLED": "false"}
    limit = 160  # enough to start; far fewer than the connections below

    def low_fd_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    proc = subprocess.Popen([sys.executable, "-m", "grym_bridge", "serve", "--osc-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
                            preexec_fn=low_fd_limit)
    conns: list[socket.socket] = []
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("Ready."):
                break
        for _ in range(400):  # the kernel completes these handshakes; the server runs out of descriptors
            try:
                conns.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        time.sleep(2.0)
        for c in conns:
            c.close()
        conns.clear()
        time.sleep(1.0)
        with OscClient(port, tcp=True) as c:  # descriptors are free again: TCP is served
            assert c.request("/grym/system/ping", timeout=10) == ("/grym/system/ping", [__version__])
        with OscClient(port) as c:
            assert c.request("/grym/system/ping", timeout=5) == ("/grym/system/ping", [__version__])
    finally:
        for c in conns:
            c.close()
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    paused = [line for line in err.splitlines() if "accept paused" in line]
    assert len(paused) == 1, err[-3000:]  # once per interval (server.log_interval_s), not once per attempt
    # asyncio's own accept loop would log "out of system resource" with a traceback on every retry.
    # (The health sampler's traceback when it cannot open /proc belongs to the orchestrator, not checked here.)
    assert "transports/osc" not in err and "out of system resource" not in err, err[-3000:]
