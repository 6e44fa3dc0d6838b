"""Test hosts in network namespaces: a private studio LAN that never touches the real interfaces.

`studio_lan(n)` makes one "switch" namespace holding a Linux bridge and `n`
host namespaces, each with one veth link to the switch and an address in
10.231.7.0/24 (inside the namespaces only), and loopback up. Processes run
inside a host with `host.popen(...)` (`ip netns exec`). Everything is torn
down at the end: the processes are stopped and the namespaces deleted (which
deletes their links).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[2]
SUBNET = "10.231.7"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=20)


@dataclass
class NetnsHost:
    """One test host: a namespace with an address on the test LAN."""

    ns: str
    address: str
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def popen(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start `argv` inside this host (stdin, stdout and stderr are pipes, text mode)."""
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns, *argv], cwd=REPO, env=full_env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.processes.append(proc)
        return proc

    def python(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Run this repository's Python inside the host (`-m grym_bridge ...`, `-m tests.network.agent ...`)."""
        return self.popen(sys.executable, *args, env=env)

    def stop_all(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()


@contextmanager
def studio_lan(count: int) -> Iterator[list[NetnsHost]]:
    """`count` hosts on one private switch; torn down however the test ends."""
    tag = uuid.uuid4().hex[:6]
    switch = f"grym-{tag}-sw"
    hosts = [NetnsHost(f"grym-{tag}-h{i}", f"{SUBNET}.{i + 1}") for i in range(count)]
    made: list[str] = []
    try:
        for ns in (switch, *(h.ns for h in hosts)):
            _ip("netns", "add", ns)
            made.append(ns)
        _ip("-n", switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        _ip("-n", switch, "link", "set", "br0", "up")
        for i, host in enumerate(hosts):
            port = f"p{i}"
            # Created inside the switch namespace with its peer placed straight into the host's:
            # the links never exist in the machine's own namespace.
            _ip("-n", switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", host.ns)
            _ip("-n", switch, "link", "set", port, "master", "br0")
            _ip("-n", switch, "link", "set", port, "up")
            _ip("-n", host.ns, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip("-n", host.ns, "link", "set", "eth0", "up")
            _ip("-n", host.ns, "link", "set", "lo", "up")
        yield hosts
    finally:
        for host in hosts:
            host.stop_all()
        for ns in reversed(made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def netns_available() -> bool:
    """Root and iproute2: what making namespaces needs."""
    if os.geteuid() != 0:
        return False
    probe = f"grym-probe-{uuid.uuid4().hex[:6]}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if done.returncode != 0:
        return False
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return True
