"""Bad input over the RPC: each gets a clear error or a closed connection, nothing partial is
kept, and the server keeps serving everyone else."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from pathlib import Path

import pytest

from grym_bridge.errors import GrymError
from grym_bridge.transports.rpc.client import RpcClient
from grym_bridge.transports.rpc.framing import data_frame_prefix
from tests.network.conftest import RawRpc, rpc_port
from tests.osc_client import RunningServer


def uploads_dir(server: RunningServer) -> Path:
    return server.services.config.data_dir / "uploads"


def kept_uploads(server: RunningServer) -> list[Path]:
    """Every file under uploads/, partial ones included."""
    return sorted(p for p in uploads_dir(server).rglob("*") if p.is_file())


def nothing_kept(server: RunningServer, within: float = 5.0) -> bool:
    """True once no upload file is left (a partial file is deleted by its writer thread, just after the close)."""
    deadline = time.monotonic() + within
    while kept_uploads(server) and time.monotonic() < deadline:
        time.sleep(0.02)
    return kept_uploads(server) == []


def still_serves(server: RunningServer) -> bool:
    """A fresh client gets a ping answered."""
    raw = RawRpc(rpc_port(server))
    try:
        raw.send({"t": "osc", "address": "/grym/system/ping", "args": ["alive"]})
        frame = raw.recv()
        return frame["t"] == "osc" and frame["args"][0] == "alive"
    finally:
        raw.close()


def fatal_error(raw: RawRpc) -> dict:
    """The connection-level error frame the server sends before it closes."""
    frame = raw.recv()
    assert frame["t"] == "error" and frame["id"] is None, frame
    assert raw.closed_by_server()
    return frame


def test_oversized_frame_is_refused_before_its_body_is_read(bridge: RunningServer) -> None:
    raw = RawRpc(rpc_port(bridge))
    raw.send_raw(struct.pack(">I", 300 * 1024 * 1024))  # claims 300 MiB, sends nothing more
    error = fatal_error(raw)
    assert error["code"] == "too_large" and "network.max_frame_bytes" in error["message"]
    assert still_serves(bridge)


def test_truncated_frame_then_close_costs_nothing(bridge: RunningServer) -> None:
    raw = RawRpc(rpc_port(bridge))
    raw.send_raw(struct.pack(">I", 100) + b"\x85" + b"x" * 9)  # 10 of 100 bytes
    raw.close()
    assert still_serves(bridge)


@pytest.mark.parametrize("garbage", [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", os.urandom(64), b"\x00\x00\x00\x00"])
def test_garbage_gets_an_error_and_a_closed_connection(bridge: RunningServer, garbage: bytes) -> None:
    raw = RawRpc(rpc_port(bridge), hello=False)
    raw.send_raw(garbage)
    error = fatal_error(raw)
    assert error["code"] in ("malformed", "too_large") and error["message"]
    assert still_serves(bridge)


def test_a_frame_that_is_not_a_map_is_malformed(bridge: RunningServer) -> None:
    raw = RawRpc(rpc_port(bridge))
    raw.send_raw(struct.pack(">I", 2) + b"\x92\x01")  # msgpack [1, ...] cut short
    assert fatal_error(raw)["code"] == "malformed"


def test_transfer_frames_need_a_usable_id(bridge: RunningServer) -> None:
    raw = RawRpc(rpc_port(bridge))
    raw.send({"t": "put", "id": 5, "name": "open.wav", "size": 3})  # an upload is open meanwhile
    raw.send({"t": "put", "id": [1, 2], "name": "x.wav", "size": 3})
    error = raw.recv()
    assert error["t"] == "error" and error["id"] == [1, 2] and error["code"] == "bad_args" and "'id'" in error["message"]
    raw.send({"t": "teleport", "id": 1})
    assert "unknown frame kind" in raw.recv()["message"]
    raw.send({"t": "osc", "address": "/grym/system/ping", "args": ["still here"]})
    assert raw.recv()["args"][0] == "still here"


def test_first_frame_must_be_the_hello(bridge: RunningServer) -> None:
    raw = RawRpc(rpc_port(bridge), hello=False)
    raw.send({"t": "osc", "address": "/grym/system/ping", "args": [1]})
    error = fatal_error(raw)
    assert error["code"] == "malformed" and "hello" in error["message"]


def test_wrong_token_is_refused_even_from_loopback(bridge: RunningServer) -> None:
    raw = RawRpc(rpc_port(bridge), hello=False)
    raw.send({"t": "hello", "v": 1, "token": "a-wrong-token-of-enough-length"})
    error = fatal_error(raw)
    assert error["code"] == "unauthorized" and "token" in error["message"]

    async def with_the_right_one() -> str:
        client = await RpcClient.connect("127.0.0.1", rpc_port(bridge), token=bridge.services.network.token)
        try:
            return (await client.request("/grym/system/ping"))[1]
        finally:
            await client.close()

    assert asyncio.run(with_the_right_one())


def test_upload_with_a_wrong_hash_is_deleted(bridge: RunningServer) -> None:
    raw = RawRpc(rpc_port(bridge))
    payload = os.urandom(5000)
    raw.send({"t": "put", "id": 1, "name": "clip.wav", "size": len(payload)})
    raw.send_raw(data_frame_prefix(1, len(payload)) + payload)
    raw.send({"t": "end", "id": 1, "blake3": "0" * 64})
    error = raw.recv()
    assert error == {"t": "error", "id": 1, "code": "bad_args", "message": error["message"]}
    assert "damaged" in error["message"]
    raw.send({"t": "osc", "address": "/grym/system/ping", "args": ["same connection"]})
    assert raw.recv()["args"][0] == "same connection"
    assert nothing_kept(bridge)


def test_upload_larger_than_the_limit_is_refused_at_once(bridge: RunningServer, tmp_path: Path) -> None:
    big = tmp_path / "big.wav"
    big.write_bytes(os.urandom(1024 * 1024 + 1))

    async def body() -> None:
        client = await RpcClient.connect("127.0.0.1", rpc_port(bridge))
        try:
            with pytest.raises(GrymError) as refused:
                await client.upload(big)
            assert refused.value.code == "too_large" and "network.max_upload_bytes" in refused.value.message
            assert (await client.request("/grym/system/ping"))[1]
        finally:
            await client.close()

    asyncio.run(body())
    assert nothing_kept(bridge)


def test_more_bytes_than_declared_aborts_the_upload(bridge: RunningServer) -> None:
    raw = RawRpc(rpc_port(bridge))
    raw.send({"t": "put", "id": 7, "name": "x.wav", "size": 10})
    raw.send_raw(data_frame_prefix(7, 11) + b"y" * 11)
    error = raw.recv()
    assert error["id"] == 7 and "more than the 10 bytes" in error["message"]
    raw.send({"t": "end", "id": 7, "blake3": "0" * 64})  # the rest of a failed upload is ignored
    raw.send({"t": "osc", "address": "/grym/system/ping", "args": ["ok"]})
    assert raw.recv()["args"][0] == "ok"
    assert nothing_kept(bridge)


def test_peer_that_stops_mid_upload_leaves_nothing(bridge: RunningServer) -> None:
    raw = RawRpc(rpc_port(bridge))
    raw.send({"t": "put", "id": 1, "name": "half.wav", "size": 200_000})
    raw.send_raw(data_frame_prefix(1, 100_000) + os.urandom(100_000))
    deadline = time.monotonic() + 5
    while not list((uploads_dir(bridge) / ".partial").glob("*.part")) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert list((uploads_dir(bridge) / ".partial").glob("*.part")), "the partial file should exist while uploading"
    raw.close()
    assert nothing_kept(bridge)
    assert still_serves(bridge)


def test_stalled_upload_is_closed_while_others_are_served(bridge: RunningServer) -> None:
    raw = RawRpc(rpc_port(bridge))
    raw.send({"t": "put", "id": 1, "name": "slow.wav", "size": 50_000})
    raw.send_raw(data_frame_prefix(1, 50_000) + b"z" * 1000)  # then nothing: a peer that hung
    start = time.monotonic()
    assert still_serves(bridge)  # served while the other one hangs
    error = fatal_error(raw)  # network.frame_timeout_s is 1 s in these tests
    assert error["code"] == "timeout" and time.monotonic() - start < 5
    assert nothing_kept(bridge)


def test_a_client_that_never_reads_is_dropped(bridge: RunningServer, tmp_path: Path) -> None:
    """Downloads to a peer that stops reading pause, then close; other clients do not notice."""
    big = bridge.services.config.data_dir / "renders" / "big.bin"
    big.write_bytes(os.urandom(24 * 1024 * 1024))
    raw = RawRpc(rpc_port(bridge))
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.send({"t": "get", "id": 1, "path": str(big)})
    time.sleep(0.3)
    assert still_serves(bridge)
    deadline = time.monotonic() + 10
    conns = bridge.services.network.rpc
    while conns.connection_count > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert conns.connection_count <= 1  # the stuck one is gone (a still_serves probe may be closing)
    raw.close()


def test_connection_limit_answers_busy(bridge: RunningServer) -> None:
    """Client slots are counted once a connection said hello (silent ones hold separate slots)."""
    held = [RawRpc(rpc_port(bridge)) for _ in range(6)]
    try:
        extra = RawRpc(rpc_port(bridge), hello=False)
        extra.send({"t": "hello", "v": 1, "token": None})
        error = fatal_error(extra)
        assert error["code"] == "busy" and "network.max_connections" in error["message"]
    finally:
        for raw in held:
            raw.close()
    deadline = time.monotonic() + 5
    while bridge.services.network.rpc.connection_count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert still_serves(bridge)
