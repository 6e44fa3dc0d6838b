"""The relay on loopback, pointed at a bridge with `--to HOST:RPC_PORT` (discovery: test_lan.py)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Iterator

import pytest

from grym_bridge.errors import BadRequest
from grym_bridge.paths import PathPolicy
from grym_bridge.transports.relay import Relay, Target, parse_direct, rewrite_strings
from tests.network.conftest import rpc_port
from tests.osc_client import OscClient, RunningServer


class RunningRelay:
    """A Relay on its own event loop thread, like `grym relay` in a test."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(relay.start())
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(10)

    def client(self) -> OscClient:
        return OscClient(self.relay.port, timeout=30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.relay.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def make_relay(tmp_path: Path, to: str, allowed: Path) -> Relay:
    return Relay(host="127.0.0.1", port=0, paths=PathPolicy((allowed.resolve(),)), download_dir=tmp_path / "downloads",
                 token=None, to=to)


@pytest.fixture
def relay(bridge: RunningServer, tmp_path: Path, midi_clip: Path) -> Iterator[RunningRelay]:
    running = RunningRelay(make_relay(tmp_path, f"127.0.0.1:{rpc_port(bridge)}", midi_clip.parent))
    try:
        yield running
    finally:
        running.stop()


def test_rewriting_reaches_into_json_arguments() -> None:
    async def upper_if_path(text: str) -> str | None:
        return text.upper() if text.startswith("/") else None

    options = json.dumps({"out": "/a/b.mid", "bars": 4, "list": ["/c", "d"]})
    rewritten = asyncio.run(rewrite_strings(["/x", 3, options, "plain"], upper_if_path))
    assert rewritten[:2] == ["/X", 3] and rewritten[3] == "plain"
    assert json.loads(rewritten[2]) == {"out": "/A/B.MID", "bars": 4, "list": ["/C", "d"]}
    assert asyncio.run(rewrite_strings("{not json", upper_if_path)) == "{not json"


def test_to_names_a_bridge_directly_or_by_name() -> None:
    assert parse_direct("10.0.0.5:9131") == Target("10.0.0.5:9131", "10.0.0.5", 9131)
    assert parse_direct("gpu-box") is None and parse_direct(None) is None
    with pytest.raises(BadRequest, match="HOST:RPC_PORT"):
        parse_direct("gpu-box:rpc")


def test_local_file_goes_up_and_the_result_comes_back(relay: RunningRelay, bridge: RunningServer,
                                                      midi_clip: Path, tmp_path: Path) -> None:
    with relay.client() as client:
        job_id = client.start_job("/grym/compose/continue", str(midi_clip), json.dumps({"bars": 4, "seed": 4}))
        result = client.wait_job(job_id)
        local = Path(result["path"])
        assert local.is_relative_to(tmp_path / "downloads") and local.is_file()
        remote = list((bridge.services.config.data_dir / "renders").rglob(local.name))
        assert len(remote) == 1 and remote[0].read_bytes() == local.read_bytes()
        uploaded = list((bridge.services.config.data_dir / "uploads").glob("*/melody.mid"))
        assert len(uploaded) == 1
        client.wait_job(client.start_job("/grym/compose/continue", str(midi_clip), "bars", 2))
        assert len(list((bridge.services.config.data_dir / "uploads").glob("*/melody.mid"))) == 1  # cached

        _, (text,) = client.request("/grym/system/addresses")  # too large for a datagram: a result file
        ref = json.loads(text)
        assert Path(ref["result_file"]).is_relative_to(tmp_path / "downloads")
        assert any(a["address"] == "/grym/system/ping" for a in json.loads(Path(ref["result_file"]).read_text()))

        _, (status,) = client.request("/grym/relay/status")
        assert json.loads(status)["connected"] and json.loads(status)["bridge"]["port"] == rpc_port(bridge)


def test_errors_come_back_as_osc_errors(relay: RunningRelay, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.mid"
    outside.write_bytes(b"MThd")
    with relay.client() as client:
        address, args = client.request("/grym/compose/continue", str(outside))
        assert address == "/grym/error" and args[2] == "path_not_allowed"  # the laptop's own allowed roots
        address, args = client.request("/grym/compose/chords", "key", "H major")
        assert address == "/grym/error" and args[0] == "/grym/compose/chords" and args[2] == "bad_args"
        assert client.request("/grym/system/ping")[0] == "/grym/system/ping"


def test_no_bridge_is_a_clear_error(tmp_path: Path) -> None:
    running = RunningRelay(make_relay(tmp_path, "127.0.0.1:1", tmp_path))
    try:
        with running.client() as client:
            address, args = client.request("/grym/system/ping")
        assert address == "/grym/error" and args[2] == "connection_lost" and "127.0.0.1:1" in args[3]
    finally:
        running.stop()

