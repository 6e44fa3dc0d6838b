"""Ping round trip and sustained throughput over UDP: grym against a bare python-osc echo server.

Both servers run as separate processes on loopback; this process is the client. The bare peer is
what a user would otherwise write: python-osc's AsyncIOOSCUDPServer with a Dispatcher whose handler
returns the reply. Each is measured in the same run, interleaved in blocks so that machine load
affects both alike.

    python bench/osc_roundtrip.py [--pings 4000] [--rate 3000] [--seconds 5]

Goals (issue 2): p50 within 1.3x of the bare echo, p99 under 2 ms, 3,000 requests/s sustained
with no lost reply, on 2 cores. The "grym pattern" row sends the same ping to the address pattern
`/grym/system/p?ng` (issue 13: OSC 1.0 pattern dispatch), to show what matching costs.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

REPO = Path(__file__).resolve().parents[1]

BARE_ECHO = r"""
import asyncio, sys
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import AsyncIOOSCUDPServer

def ping(address, *args):
    return ("/grym/system/ping", *args[:1], "0.0.0")

async def main():
    d = Dispatcher(strict_timing=False)
    d.map("/grym/system/ping", ping)
    server = AsyncIOOSCUDPServer(("127.0.0.1", int(sys.argv[1])), d, asyncio.get_running_loop())
    transport, _ = await server.create_serve_endpoint()
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def free_port() -> int:
    """A port number free for both UDP and TCP on loopback (grym serves both on one number)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


PATTERN = "/grym/system/p?ng"


def ping_packet(req_id: int, address: str = "/grym/system/ping") -> bytes:
    b = OscMessageBuilder(address)
    b.add_arg(req_id)
    return b.build().dgram


class Client:
    def __init__(self, port: int) -> None:
        self.addr = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(1.0)

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.05)
        while time.monotonic() < deadline:
            self.sock.sendto(ping_packet(0), self.addr)
            try:
                self.sock.recv(2048)
                self.sock.settimeout(1.0)
                return
            except socket.timeout:
                continue
        raise RuntimeError(f"server on {self.addr} never answered")

    def roundtrips(self, n: int, start_id: int, address: str = "/grym/system/ping") -> list[float]:
        """n sequential ping round trips, in seconds each."""
        out = []
        for i in range(start_id, start_id + n):
            packet = ping_packet(i, address)
            t0 = time.perf_counter()
            self.sock.sendto(packet, self.addr)
            while True:
                data = self.sock.recv(2048)
                if OscMessage(data).params[0] == i:
                    break
            out.append(time.perf_counter() - t0)
        return out

    def sustained(self, rate: float, seconds: float) -> tuple[int, int, float]:
        """Send at `rate` per second for `seconds`; return (sent, replies received, achieved rate)."""
        total = int(rate * seconds)
        received = 0
        done = threading.Event()

        def receive() -> None:
            nonlocal received
            self.sock.settimeout(0.5)
            while True:
                try:
                    self.sock.recv(2048)
                    received += 1
                    if received == total:
                        break
                except socket.timeout:
                    if done.is_set():
                        break
            done.set()

        packets = [ping_packet(i) for i in range(total)]
        receiver = threading.Thread(target=receive)
        receiver.start()
        t0 = time.perf_counter()
        burst = max(1, int(rate / 500))  # send in bursts every 2 ms
        for i in range(0, total, burst):
            target = t0 + i / rate
            while time.perf_counter() < target:
                time.sleep(0.0002)
            for p in packets[i:i + burst]:
                self.sock.sendto(p, self.addr)
        elapsed = time.perf_counter() - t0
        done.set()
        receiver.join(10)
        self.sock.settimeout(1.0)
        return total, received, total / elapsed


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pings", type=int, default=4000, help="round trips per server")
    parser.add_argument("--rate", type=float, default=3000.0, help="requests per second in the sustained run")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the sustained run")
    args = parser.parse_args()

    grym_port, bare_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        procs = {
            "grym": subprocess.Popen([sys.executable, "-m", "grym_bridge", "--data-dir", data_dir, "serve",
                                      "--osc-port", str(grym_port), "--log-level", "warning"],
                                     cwd=REPO, env=env, stdout=subprocess.PIPE, text=True),
            "bare python-osc": subprocess.Popen([sys.executable, "-c", BARE_ECHO, str(bare_port)], env=env,
                                                stdout=subprocess.DEVNULL),
        }
        try:
            clients = {"grym": Client(grym_port), "bare python-osc": Client(bare_port)}
            clients["grym"].wait_ready()
            startup_s = time.perf_counter() - started
            for line in procs["grym"].stdout:  # measure the steady state: wait for the banner's last line
                if line.startswith("Ready."):
                    break
            for c in clients.values():
                c.wait_ready()
                c.roundtrips(200, 1)  # warm up
            lat: dict[str, list[float]] = {k: [] for k in (*clients, "grym pattern")}
            runs = [(name, c, "/grym/system/ping") for name, c in clients.items()]
            runs.append(("grym pattern", clients["grym"], PATTERN))
            block = 250
            for b in range(args.pings // block):
                for name, c, address in (runs if b % 2 == 0 else reversed(runs)):
                    lat[name] += c.roundtrips(block, 10_000 + b * block, address)
            sustained = {name: c.sustained(args.rate, args.seconds) for name, c in clients.items()}
        finally:
            for p in procs.values():
                p.terminate()
                p.wait(10)

    print(f"OSC ping over UDP on loopback: {args.pings} round trips each, "
          f"then {args.rate:.0f} req/s for {args.seconds:g} s ({os.cpu_count()} cores)\n")
    print(f"{'server':<18}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'sent':>8}{'replies':>9}{'lost':>6}{'req/s':>9}")
    for name in lat:
        v = lat[name]
        sent, got, rate = sustained.get(name, (0, 0, 0.0))
        print(f"{name:<18}{pct(v, .5) * 1e3:>9.3f}{pct(v, .99) * 1e3:>9.3f}{statistics.mean(v) * 1e3:>9.3f}"
              + (f"{sent:>8}{got:>9}{sent - got:>6}{rate:>9.0f}" if name in sustained else f"{'-':>8}{'-':>9}{'-':>6}{'-':>9}"))
    g, b = lat["grym"], lat["bare python-osc"]
    sent, got, rate = sustained["grym"]
    print()
    print(f"p50 ratio grym / bare: {pct(g, .5) / pct(b, .5):.2f}x   (goal <= 1.3x)")
    print(f"p99 ratio grym / bare: {pct(g, .99) / pct(b, .99):.2f}x;  grym p99 {pct(g, .99) * 1e3:.3f} ms (goal < 2 ms)")
    pat = lat["grym pattern"]
    print(f"pattern dispatch ({PATTERN}) / plain address: p50 {pct(pat, .5) / pct(g, .5):.2f}x, "
          f"p99 {pct(pat, .99) / pct(g, .99):.2f}x")
    print(f"grym startup: first ping answered {startup_s:.2f} s after the process started (goal < 1.5 s)")
    print(f"grym sustained: {rate:.0f} req/s sent, {got}/{sent} replies, {sent - got} lost (goal 3000 req/s, none lost)")


if __name__ == "__main__":
    main()
