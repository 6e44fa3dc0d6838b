"""A real `grym serve` process for the attack tests: its own config file, data folder and allowed root.

Each attack of issue 14 is repeated against this process over real loopback
sockets (OSC over UDP, the msgpack RPC over TCP), as an attacker would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grym_bridge import __version__
from tests.osc_client import OscClient, free_port

REPO = Path(__file__).resolve().parents[2]


def _toml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else ("true" if value else "false")


@dataclass
class Serve:
    """One running `grym serve`: its ports, folders and process."""

    proc: subprocess.Popen
    port: int
    rpc_port: int
    root: Path
    data: Path
    log: Path
    clients: list[OscClient] = field(default_factory=list)

    def client(self, **kwargs: Any) -> OscClient:
        c = OscClient(self.port, **kwargs)
        self.clients.append(c)
        return c

    def ping_ms(self, timeout: float = 2.0) -> float:
        """Milliseconds until a UDP ping is answered (raises TimeoutError when it is not)."""
        with OscClient(self.port, timeout=timeout) as c:
            start = time.monotonic()
            _, args = c.request("/grym/system/ping", timeout=timeout)
            assert args == [__version__]
            return (time.monotonic() - start) * 1000

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        for c in self.clients:
            c.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def start(tmp: Path, settings: dict[str, dict[str, Any]] | None = None, *, data: Path | None = None,
          max_files: int | None = None) -> Serve:
    """Start `grym serve` with `settings` ({table: {key: value}}) and wait until it answers a ping.

    `max_files` lowers the process's file-descriptor limit (RLIMIT_NOFILE), as a busy machine would.
    """
    root = tmp / "music"
    root.mkdir(parents=True, exist_ok=True)
    data = data or tmp / "data"
    port, rpc = free_port(), free_port()
    tables: dict[str, dict[str, Any]] = {
        "server": {"osc_port": port},
        "paths": {"allowed_roots": [str(root)]},
        "network": {"rpc_port": rpc, "oscquery_port": 0, "advertise": "off"},
        "jobs": {"cpu_workers": 1},
    }
    for table, values in (settings or {}).items():
        tables.setdefault(table, {}).update(values)
    lines = [f'data_dir = {_toml(str(data))}', 'log_level = "info"']
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines.extend(f"{k} = {_toml(v)}" for k, v in values.items())
    config = tmp / "grym.toml"
    config.write_text("\n".join(lines) + "\n")
    log = tmp / "serve.log"
    env = {**os.environ, "GRYM_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    env.pop("GRYM_DATA_DIR", None)
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "grym_bridge", "serve"], stdout=subprocess.DEVNULL,
                                stderr=err, env=env, cwd=REPO,
                                preexec_fn=None if max_files is None else lambda: _limit_files(max_files))
    server = Serve(proc, port, rpc, root, data, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"grym serve exited: {server.stderr()}")
        try:
            server.ping_ms(0.2)
            return server
        except (TimeoutError, ConnectionError, OSError):
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"grym serve did not answer within 30 s: {server.stderr()}")


def _limit_files(n: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


def write_clip(path: Path, seconds: float = 1.0, channels: int = 2, rate: int = 44100) -> Path:
    """A short noise clip (float WAV) at `path`."""
    import numpy as np
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(0).standard_normal((int(seconds * rate), channels)).astype(np.float32) * 0.1
    sf.write(str(path), noise, rate, subtype="FLOAT")
    return path
