"""A real server on an ephemeral loopback port, and a plain UDP/TCP OSC client to talk to it.

Import the fixture in a test module (or conftest) with
`from tests.osc_client import osc_server, OscClient  # noqa: F401`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

import pytest
from pythonosc.osc_packet import OscPacket

from grym_bridge.app import Services, serve
from grym_bridge.config import Config
from grym_bridge.transports.osc.server import SLIP_END, encode, slip_frame, slip_unframe

_req_ids = itertools.count(1000)


class JobFailed(AssertionError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


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


@dataclass
class RunningServer:
    services: Services
    port: int
    host: str
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop
    stop_event: asyncio.Event
    cancelled: list[int]

    def client(self, **kwargs: Any) -> "OscClient":
        return OscClient(self.port, self.host, **kwargs)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
            self.thread.join(10)


def start_server(config: Config) -> RunningServer:
    """Run `serve` in a background thread with its own event loop; return once it answers."""
    config.server.osc_port = 0
    ready = threading.Event()
    box: dict[str, Any] = {"cancelled": []}
    loop = asyncio.new_event_loop()
    stop_event: asyncio.Event | None = None

    def on_ready(services: Services) -> None:
        box["services"] = services
        ready.set()

    def run() -> None:
        nonlocal stop_event
        asyncio.set_event_loop(loop)

        async def main() -> None:
            nonlocal stop_event
            stop_event = asyncio.Event()
            box["stop"] = stop_event
            await serve(config, on_ready=on_ready, stop=stop_event, install_signal_handlers=False,
                        on_stopped=box["cancelled"].extend)

        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # surfaced to the test below
            box["error"] = exc
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="grym-test-server", daemon=True)
    thread.start()
    if not ready.wait(10) or "error" in box:
        raise RuntimeError(f"test server did not start: {box.get('error')!r}")
    services: Services = box["services"]
    return RunningServer(services, services.endpoints["osc_udp"], config.server.host, thread, loop,
                         box["stop"], box["cancelled"])


@pytest.fixture
def osc_server(config: Config) -> Iterator[RunningServer]:
    """A real grym server on 127.0.0.1 with an ephemeral port, this test's config and data dir."""
    server = start_server(config)
    try:
        yield server
    finally:
        server.stop()


class OscClient:
    """A UDP OSC client with its own socket (replies come back to it), or TCP with SLIP framing."""

    def __init__(self, port: int, host: str = "127.0.0.1", *, tcp: bool = False, bind_ip: str = "127.0.0.1",
                 timeout: float = 5.0) -> None:
        self.server = (host, port)
        self.tcp = tcp
        self.timeout = timeout
        if tcp:
            self.sock = socket.create_connection(self.server, timeout=timeout)
            self._buffer = b""
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((bind_ip, 0))
        self.sock.settimeout(timeout)
        self.pending: list[tuple[str, list[Any]]] = []

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "OscClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def send(self, address: str, *args: Any) -> None:
        self.send_raw(encode(address, list(args)))

    def send_raw(self, data: bytes) -> None:
        if self.tcp:
            self.sock.sendall(slip_frame(data))
        else:
            self.sock.sendto(data, self.server)

    def _read_packet(self, timeout: float) -> bytes:
        self.sock.settimeout(timeout)
        if not self.tcp:
            return self.sock.recv(65536)
        while SLIP_END not in self._buffer.lstrip(SLIP_END):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self._buffer += chunk
        self._buffer = self._buffer.lstrip(SLIP_END)
        frame, _, self._buffer = self._buffer.partition(SLIP_END)
        return slip_unframe(frame)

    def recv(self, timeout: float | None = None) -> tuple[str, list[Any]]:
        """The next message (address, args); raises TimeoutError when none arrives in time."""
        if self.pending:
            return self.pending.pop(0)
        try:
            data = self._read_packet(self.timeout if timeout is None else timeout)
        except socket.timeout:
            raise TimeoutError("no OSC message arrived in time") from None
        msgs = [(m.message.address, list(m.message.params)) for m in OscPacket(data).messages]
        self.pending.extend(msgs[1:])
        return msgs[0]

    def expect(self, predicate: Any, timeout: float | None = None) -> tuple[str, list[Any]]:
        """Receive until a message matches `predicate(address, args)`; others are kept for later."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        skipped: list[tuple[str, list[Any]]] = []
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the expected OSC message did not arrive")
                address, args = self.recv(remaining)
                if predicate(address, args):
                    return address, args
                skipped.append((address, args))
        finally:
            self.pending = skipped + self.pending

    def request(self, address: str, *args: Any, timeout: float | None = None) -> tuple[str, list[Any]]:
        """Send with a fresh request id; return the reply (address, args after the id).

        The reply is the first message whose first argument echoes the id
        (`/grym/error` replies carry it second and are returned as-is).
        """
        req_id = next(_req_ids)
        self.send(address, req_id, *args)

        def mine(addr: str, a: list[Any]) -> bool:
            if addr == "/grym/error":
                return len(a) > 1 and a[1] == req_id
            return bool(a) and a[0] == req_id

        addr, a = self.expect(mine, timeout)
        return (addr, a) if addr == "/grym/error" else (addr, a[1:])

    def start_job(self, address: str, *args: Any) -> int:
        """Send a job request; return its job id (fails the test on an error reply)."""
        addr, a = self.request(address, *args)
        assert addr == "/grym/job/queued", f"expected /grym/job/queued, got {addr} {a}"
        return a[0]

    def wait_job(self, job_id: int, timeout: float = 60.0) -> Any:
        """The parsed result of a job, or JobFailed(code, message)."""
        addr, a = self.expect(lambda ad, ar: ad in ("/grym/job/done", "/grym/job/error") and ar and ar[0] == job_id,
                              timeout)
        if addr == "/grym/job/error":
            raise JobFailed(a[1], a[2])
        result = json.loads(a[1])
        if isinstance(result, dict) and set(result) == {"result_file"}:
            with open(result["result_file"], encoding="utf-8") as fh:
                return json.load(fh)
        return result

