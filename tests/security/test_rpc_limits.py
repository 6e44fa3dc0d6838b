"""Issue 14, items 8 (RPC) and 10 (uploads): silent connections never lock out a token holder; all
uploads together stay under a total cap, the oldest going first.

The attacks: 32 TCP connections to the RPC port that never say hello (the
old server gave each a client slot before the token was checked, so the
32nd locked everyone out), and uploads that together exceed the disk the
server means to give them.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Iterator

import pytest

from grym_bridge import __version__
from grym_bridge.errors import GrymError
from grym_bridge.transports.rpc.client import RpcClient
from tests.security.serve import Serve, start

TOKEN = "studio-token-for-the-test"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    s = start(tmp_path_factory.mktemp("rpc"), {"network": {
        "token": TOKEN, "max_connections": 4, "max_preauth_connections": 8, "hello_timeout_s": 60.0,
        "max_uploads_total_bytes": 300_000}})
    yield s
    s.stop()


async def ping_over_rpc(port: int) -> list:
    client = await RpcClient.connect("127.0.0.1", port, token=TOKEN, timeout=5)
    try:
        return await client.request("/grym/system/ping", timeout=5)
    finally:
        await client.close()


def test_silent_connections_never_lock_out_a_token_holder(server: Serve) -> None:
    silent = []
    try:
        for n in range(32):
            sock = socket.create_connection(("127.0.0.1", server.rpc_port), timeout=5)
            if n % 2:
                sock.sendall(b"\x00\x00")  # half a frame header, then nothing
            silent.append(sock)
        time.sleep(0.2)
        for _ in range(3):  # each token holder gets in, though the silent ones never timed out (60 s)
            assert asyncio.run(ping_over_rpc(server.rpc_port))[-1] == __version__
        # the oldest silent connections were closed to make room; the newest 8 wait for their hello
        closed = 0
        for sock in silent:
            sock.settimeout(0.05)
            try:
                closed += sock.recv(1) == b""
            except (TimeoutError, socket.timeout):
                pass
            except ConnectionResetError:
                closed += 1
        assert closed >= 32 - 8
    finally:
        for sock in silent:
            sock.close()
    assert server.proc.poll() is None and server.ping_ms() < 1000
    assert server.stderr().count("pre-authentication slots full") == 1  # logged once, with a count


def test_uploads_stay_under_the_total_cap_oldest_first(server: Serve, tmp_path: Path) -> None:
    files = []
    for n in range(3):
        f = tmp_path / f"take{n}.wav"
        f.write_bytes(bytes([n]) * 120_000)
        files.append(f)

    async def run() -> list[str]:
        client = await RpcClient.connect("127.0.0.1", server.rpc_port, token=TOKEN, timeout=5)
        try:
            stored = []
            for f in files:
                stored.append((await client.upload(f)).path)
                await asyncio.sleep(0.02)  # distinct modification times: "oldest" is well defined
            big = tmp_path / "big.wav"
            big.write_bytes(b"x" * 400_000)
            with pytest.raises(GrymError) as info:
                await client.upload(big)
            assert info.value.code == "too_large" and "network.max_uploads_total_bytes" in info.value.message
            return stored
        finally:
            await client.close()

    stored = asyncio.run(run())
    assert not Path(stored[0]).exists()  # 3 x 120 kB > 300 kB: the oldest made room
    assert Path(stored[1]).read_bytes() == files[1].read_bytes()
    assert Path(stored[2]).read_bytes() == files[2].read_bytes()


def test_running_out_of_descriptors_is_logged_once_and_the_server_recovers(tmp_path: Path) -> None:
    """The accept loop meets EMFILE (a low RLIMIT_NOFILE and 200 connections): asyncio backs off and
    retries each second; the log says so once, not once per retry, and a token holder gets in afterwards."""
    server = start(tmp_path, {"network": {"token": TOKEN, "max_preauth_connections": 1000,
                                          "hello_timeout_s": 60.0}}, max_files=160)
    socks = []
    try:
        for _ in range(200):
            try:
                socks.append(socket.create_connection(("127.0.0.1", server.rpc_port), timeout=2))
            except OSError:  # the listen backlog is full too: the server has stopped accepting, as meant
                break
        assert len(socks) > 50  # (the log line below shows the server did run out)
        time.sleep(3.5)  # three or four retries of the accept loop
        assert server.ping_ms() < 1000  # UDP needs no new descriptor: the server still answers
        assert server.stderr().count("could not accept a connection") == 1
        for sock in socks:
            sock.close()
        socks.clear()
        deadline = time.monotonic() + 10
        while True:  # the server closes what the accept loop took in once descriptors are free
            try:
                assert asyncio.run(ping_over_rpc(server.rpc_port))[-1] == __version__
                break
            except GrymError:
                assert time.monotonic() < deadline
                time.sleep(0.5)
    finally:
        for sock in socks:
            sock.close()
        server.stop()
