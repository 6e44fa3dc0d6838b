"""The msgpack RPC against a real server on loopback: requests, jobs, uploads and downloads."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from grym_bridge import __version__
from grym_bridge.errors import GrymError
from grym_bridge.transports.rpc.client import RpcClient
from grym_bridge.transports.rpc.uploads import UploadStore
from tests.network.conftest import rpc_port
from tests.osc_client import RunningServer


def run(coro):  # noqa: ANN001, ANN201 - a tiny helper for async bodies
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_requests_and_errors_travel_like_osc(bridge: RunningServer) -> None:
    async def body() -> None:
        client = await RpcClient.connect("127.0.0.1", rpc_port(bridge))
        try:
            assert client.welcome["limits"]["max_frame_bytes"] == 256 * 1024
            req_id, version = await client.request("/grym/system/ping")
            assert req_id.startswith("rpc-") and version == __version__
            with pytest.raises(GrymError) as bad:
                await client.request("/grym/system/pnig")
            assert bad.value.code == "unknown_address" and "/grym/system/ping" in bad.value.message
            with pytest.raises(GrymError) as wrong:
                await client.request("/grym/system/hello", "not a port")
            assert wrong.value.code == "bad_args"
        finally:
            await client.close()

    run(body())


def test_upload_then_job_then_download_of_the_result(bridge: RunningServer, midi_clip: Path, tmp_path: Path) -> None:
    data_dir = bridge.services.config.data_dir

    async def body() -> None:
        client = await RpcClient.connect("127.0.0.1", rpc_port(bridge))
        try:
            stored = await client.upload(midi_clip)
            remote = Path(stored.path)
            assert remote.is_relative_to(data_dir / "uploads") and remote.name == "melody.mid"
            assert remote.read_bytes() == midi_clip.read_bytes() and stored.size == midi_clip.stat().st_size
            assert client.is_remote_file(stored.path)
            _, job_id = await client.request("/grym/compose/continue", stored.path, "bars", 4, "seed", 5)
            result = await client.wait_job(job_id)
            made = Path(result["path"])
            assert made.is_relative_to(data_dir) and made.exists() and result["kind"] == "continue"
            local = await client.download(result["path"], tmp_path)
            assert local.path == tmp_path / made.name and local.path.read_bytes() == made.read_bytes()
            assert not list(tmp_path.glob(".*.part"))
        finally:
            await client.close()

    run(body())


def test_large_results_come_as_a_result_file_when_the_client_asks(bridge: RunningServer) -> None:
    async def body() -> None:
        client = await RpcClient.connect("127.0.0.1", rpc_port(bridge), max_payload=200)
        try:
            _, text = await client.request("/grym/system/addresses")
            ref = json.loads(text)
            assert set(ref) == {"result_file"} and client.is_remote_file(ref["result_file"])
            addresses = json.loads(Path(ref["result_file"]).read_text())
            assert any(a["address"] == "/grym/system/ping" for a in addresses)
        finally:
            await client.close()

    run(body())


def test_downloads_only_reach_what_requests_make(bridge: RunningServer, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the network")

    async def body() -> None:
        client = await RpcClient.connect("127.0.0.1", rpc_port(bridge))
        try:
            with pytest.raises(GrymError) as refused:
                await client.download(str(outside), tmp_path / "got")
            assert refused.value.code == "path_not_allowed"
            sneaky = str(bridge.services.config.data_dir / ".." / outside.name)
            with pytest.raises(GrymError) as climbed:
                await client.download(sneaky, tmp_path / "got")
            assert climbed.value.code == "path_not_allowed"
            token_file = bridge.services.config.data_dir / "network_token"
            with pytest.raises(GrymError) as private:  # in the data directory, but no request makes it
                await client.download(str(token_file), tmp_path / "got")
            assert private.value.code == "path_not_allowed" and token_file.is_file()
            with pytest.raises(GrymError) as missing:
                await client.download(str(bridge.services.config.renders_dir() / "nope.wav"), tmp_path / "got")
            assert missing.value.code == "not_found"
            assert not (tmp_path / "got").exists()
            assert (await client.request("/grym/system/ping"))[1]  # the connection still serves
        finally:
            await client.close()

    run(body())


def test_several_clients_at_once_each_get_their_own_replies(bridge: RunningServer, midi_clip: Path) -> None:
    async def one(n: int) -> str:
        client = await RpcClient.connect("127.0.0.1", rpc_port(bridge))
        try:
            stored = await client.upload(midi_clip, name=f"clip{n}.mid")
            reply = await client.request("/grym/system/ping")
            return f"{Path(stored.path).name} {reply[0].startswith('rpc-')}"
        finally:
            await client.close()

    async def body() -> list[str]:
        return list(await asyncio.gather(*(one(n) for n in range(4))))

    assert run(body()) == [f"clip{n}.mid True" for n in range(4)]


def test_old_uploads_are_swept_and_partials_cleared(tmp_path: Path) -> None:
    store = UploadStore(tmp_path / "uploads", max_upload_bytes=100, ttl_s=60)
    old, new = tmp_path / "uploads" / "old", tmp_path / "uploads" / "new"
    for folder in (old, new):
        folder.mkdir()
        (folder / "clip.wav").write_bytes(b"RIFF")
    stale = store.partial_dir / "crashed.part"
    stale.write_bytes(b"half")
    now = time.time()
    os.utime(old, (now - 120, now - 120))
    assert store.sweep(now) == 1 and not old.exists() and (new / "clip.wav").exists()
    store.clear_partials()
    assert not stale.exists() and store.partial_dir.is_dir()
