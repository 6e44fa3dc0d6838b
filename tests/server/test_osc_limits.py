"""Issues 14 and 23 against a real server over real sockets: every bound of the OSC transport, hit on purpose."""

from __future__ import annotations

import json
import logging
import socket
import struct
import time
from pathlib import Path

import pytest
from pythonosc.osc_packet import OscPacket

from grym_bridge import __version__
from grym_bridge.api.routes import Route
from grym_bridge.config import Config
from grym_bridge.errors import GrymError
from grym_bridge.transports.osc.codec import SLIP_END, encode, slip_frame, slip_unframe
from tests.osc_client import OscClient, RunningServer, osc_server  # noqa: F401


@pytest.fixture
def tight(config: Config) -> Config:
    """Small TCP bounds, so a test reaches them in a second."""
    s = config.server
    s.tcp_max_connections, s.tcp_idle_timeout_s, s.tcp_frame_timeout_s = 4, 1.0, 0.5
    s.tcp_max_output_bytes = 64 * 1024
    return config


@pytest.fixture
def limited(tight: Config, osc_server: RunningServer) -> RunningServer:  # noqa: F811
    return osc_server


def read_frames(sock: socket.socket, timeout: float = 5.0) -> tuple[list[tuple[str, list]], bool]:
    """Every SLIP frame the server sends until it closes the connection (or `timeout`); (frames, closed)."""
    sock.settimeout(timeout)
    data, closed = b"", False
    try:
        while chunk := sock.recv(65536):
            data += chunk
        closed = True
    except socket.timeout:
        closed = False
    except ConnectionResetError:
        closed = True
    frames = []
    for frame in filter(None, data.split(SLIP_END)):
        m = OscPacket(slip_unframe(frame)).messages[0].message
        frames.append((m.address, list(m.params)))
    return frames, closed


def session_key(server: RunningServer) -> str | None:
    return server.services.orchestrator.sessions.get("default").to_dict().get("key")


@pytest.mark.parametrize("first_bytes", [
    b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 32,  # a TLS ClientHello
])
def test_a_connection_that_is_not_osc_is_closed_with_nothing_executed(osc_server: RunningServer,
                                                                     first_bytes: bytes) -> None:
    """Issue 14.2: the HTTP POST that carried SLIP-framed OSC in its body runs nothing."""
    body = slip_frame(encode("/grym/session/set", [1, "key", "B minor"]))
    with socket.create_connection(("127.0.0.1", osc_server.port)) as raw:
        raw.sendall(first_bytes + body)
        frames, closed = read_frames(raw)
    assert closed and len(frames) == 1
    address, args = frames[0]
    assert address == "/grym/error" and args[2] == "malformed" and "nothing executed" in args[3]
    assert session_key(osc_server) != "B minor"


def test_connection_cap_idle_and_partial_frame_timeouts(limited: RunningServer) -> None:
    port = limited.port
    held = [OscClient(port, tcp=True) for _ in range(4)]
    try:
        for c in held:
            assert c.request("/grym/system/ping")[0] == "/grym/system/ping"
        with socket.create_connection(("127.0.0.1", port)) as extra:
            frames, closed = read_frames(extra)
        assert closed and frames[0][1][2] == "busy" and "server.tcp_max_connections" in frames[0][1][3]
    finally:
        for c in held:
            c.close()
    time.sleep(0.2)
    with socket.create_connection(("127.0.0.1", port)) as idle:
        started = time.monotonic()
        frames, closed = read_frames(idle)
        assert closed and "server.tcp_idle_timeout_s" in frames[0][1][3] and time.monotonic() - started < 3
    with socket.create_connection(("127.0.0.1", port)) as partial:
        partial.sendall(b"\xc0/grym/sys")  # a frame that never ends
        frames, closed = read_frames(partial)
        assert closed and "server.tcp_frame_timeout_s" in frames[0][1][3]
    with OscClient(port, tcp=True) as c:  # the server still serves
        assert c.request("/grym/system/ping") == ("/grym/system/ping", [__version__])


def test_a_reader_that_never_reads_is_closed_and_logged_once(limited: RunningServer,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """Issue 23.3: replies for a client that sends but never reads are bounded (server.tcp_max_output_bytes)."""
    caplog.set_level(logging.INFO)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", limited.port))
    request = slip_frame(encode("/grym/system/addresses", [1]))  # a large reply each
    raw.settimeout(5)
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline and limited.services.router is not None:
            raw.sendall(request * 10)
            if any("server.tcp_max_output_bytes" in r.getMessage() for r in caplog.records):
                break
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    raw.close()
    time.sleep(0.2)
    lines = [r for r in caplog.records if "server.tcp_max_output_bytes" in r.getMessage()]
    assert len(lines) == 1 and not any(r.exc_info for r in caplog.records)
    with OscClient(limited.port, tcp=True) as c:
        assert c.request("/grym/system/ping")[0] == "/grym/system/ping"


def test_reply_files_are_named_by_the_server(osc_server: RunningServer) -> None:
    """Issue 14.1: a request id never becomes a file name, and two clients with one id get two files."""
    evil = "x/../../../../tmp/pwned"
    results = osc_server.services.config.data_dir / "results"
    paths = []
    for _ in range(2):
        with osc_server.client() as c:
            c.send("/grym/system/addresses", evil)
            address, args = c.recv()
            assert address == "/grym/system/addresses" and args[0] == evil
            paths.append(Path(json.loads(args[1])["result_file"]))
    assert paths[0] != paths[1] and all(p.parent == results and "pwned" not in p.name for p in paths)
    assert json.loads(paths[0].read_text()) == json.loads(paths[1].read_text())
    assert not Path("/tmp/pwned.json").exists()


def test_subscriptions_are_deduplicated_and_udp_ones_lapse(osc_server: RunningServer) -> None:
    """Issue 23.4: one subscription per client and property; a UDP lease lapses unless renewed."""
    osc_server.services.config.server.subscription_lease_s = 1.0
    with osc_server.client() as listener, osc_server.client() as setter, osc_server.client(tcp=True) as tcp:
        for _ in range(5):
            listener.request("/grym/session/start_listen/context")
        tcp.request("/grym/session/start_listen/context")
        setter.request("/grym/session/set", "key", "C minor")
        updates = [listener.recv(2)]
        with pytest.raises(TimeoutError):
            updates.append(listener.recv(0.3))
        assert updates[0][0] == "/grym/session/context"
        assert tcp.expect(lambda a, v: a == "/grym/session/context", 2)
        time.sleep(1.2)  # the UDP lease lapses; the TCP subscription lasts as long as the connection
        setter.request("/grym/session/set", "key", "D minor")
        with pytest.raises(TimeoutError):
            listener.recv(0.4)
        assert tcp.expect(lambda a, v: a == "/grym/session/context" and "D minor" in v[1], 2)
        listener.request("/grym/session/start_listen/context")  # renewing brings it back
        setter.request("/grym/session/set", "key", "E minor")
        assert "E minor" in listener.recv(2)[1][1]
    time.sleep(0.3)
    subs = osc_server.services.router.subscribers["/grym/session/context"]
    assert not any(key[0] == "tcp" for key in subs)  # ended with its connection


def test_a_job_error_too_large_for_a_datagram_arrives_truncated_with_its_file(osc_server: RunningServer) -> None:
    """Issue 23.5: a 270 KB job error reaches a UDP client, cut to fit, naming the file with all of it."""
    text = "bad thing happened " * 15_000

    def handler(req):  # type: ignore[no-untyped-def]
        def work(job):  # type: ignore[no-untyped-def]
            raise GrymError(text, code="bad_audio")
        req.start_job("huge-error", work)

    osc_server.services.router.add([Route("/grym/test/huge_error", handler, reply="job", doc="test")])
    with osc_server.client() as c:
        address, args = c.request("/grym/test/huge_error")
        assert address == "/grym/job/queued"
        address, args = c.expect(lambda a, v: a == "/grym/job/error", 10)
    assert args[1] == "bad_audio" and len(args[2]) < 2000 and "truncated" in args[2]
    path = Path(args[2].rsplit("full text is in ", 1)[1].rstrip("]"))
    assert path.read_text() == text


def test_too_many_subscribers_get_busy(osc_server: RunningServer) -> None:
    osc_server.services.config.server.max_subscribers = 2
    clients = [osc_server.client() for _ in range(3)]
    try:
        assert clients[0].request("/grym/system/start_listen/queue")[0] == "/grym/system/start_listen/queue"
        assert clients[1].request("/grym/system/start_listen/queue")[0] == "/grym/system/start_listen/queue"
        address, args = clients[2].request("/grym/system/start_listen/queue")
        assert address == "/grym/error" and args[2] == "busy" and "server.max_subscribers" in args[3]
    finally:
        for c in clients:
            c.close()


def test_repeated_bad_input_is_logged_once_per_interval_with_a_count(osc_server: RunningServer,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Issue 14.11: 200 bad frames, one log line, no traceback."""
    caplog.set_level(logging.INFO)
    with osc_server.client() as c:
        for i in range(200):
            c.send_raw(b"/grym\x00\x00\x00,i\x00\x00" + struct.pack(">h", i))  # int argument cut short
        for _ in range(200):
            assert c.recv(3)[1][2] == "malformed"
    lines = [r for r in caplog.records if "malformed OSC" in r.getMessage()]
    assert len(lines) == 1 and not any(r.exc_info for r in caplog.records)
    osc_server.services.config.server.log_interval_s = 0.0
    with osc_server.client() as c:
        c.send_raw(b"/grym\x00\x00\x00,i\x00\x00")
        c.recv(3)
    again = [r.getMessage() for r in caplog.records if "malformed OSC" in r.getMessage()]
    assert len(again) == 2 and "199 more like this" in again[1]
