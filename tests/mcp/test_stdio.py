"""`grym mcp` as a client config runs it: a subprocess on stdio, talking to a real `grym serve` over its RPC."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.mcp.conftest import run, write_progression
from tests.osc_client import OscClient, free_port

REPO = Path(__file__).resolve().parents[2]


def _config_file(tmp_path: Path, rpc_port: int) -> Path:
    path = tmp_path / "grym.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n\n[paths]\nallowed_roots = ["{tmp_path}"]\n\n'
                    f"[network]\nrpc_port = {rpc_port}\noscquery_port = 0\n\n[http]\nport = 0\n", encoding="utf-8")
    return path


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[Path, int, int, subprocess.Popen[str]]]:
    """A real `grym serve` process: (its config file, OSC port, RPC port, the process)."""
    osc_port, rpc_port = free_port(), free_port()
    config = _config_file(tmp_path, rpc_port)
    proc = subprocess.Popen([sys.executable, "-m", "grym_bridge", "--config", str(config), "serve",
                             "--osc-port", str(osc_port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ready."):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        assert ready.wait(30), "grym serve did not start: " + "".join(lines)
        yield config, osc_port, rpc_port, proc
    finally:
        proc.terminate()
        proc.wait(15)


def _client(config: Path, *extra: str) -> Any:
    from mcp import Client, StdioServerParameters

    return Client(StdioServerParameters(command=sys.executable, cwd=str(REPO),
                                        args=["-m", "grym_bridge", "--config", str(config), "mcp", *extra]))


def test_grym_mcp_shares_the_running_bridges_session_and_jobs(serving: tuple[Path, int, int, Any],
                                                              tmp_path: Path) -> None:
    config, osc_port, _, _ = serving
    clip = write_progression(tmp_path / "prog.wav", "E minor", bpm=110, bars=4)
    progress: list[str | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message)

    async def body() -> dict[str, Any]:
        async with _client(config) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            set_ = await client.call_tool("session_set", {"key": "key", "value": "E minor"})
            analyzed = await client.call_tool("analyze", {"path": str(clip)}, progress_callback=on_progress)
            refused = await client.call_tool("analyze", {"path": "/etc/hostname"})
            return locals()

    r = run(body())
    assert {"analyze", "generate_audio", "compose", "job_status"} <= r["tools"]
    assert not r["set_"].is_error
    with OscClient(osc_port) as daw:  # the DAW asks the same bridge: the LLM's change is there
        address, values = daw.request("/grym/session/get")
    assert address == "/grym/session/get" and json.loads(values[0])["key"] == "E minor"
    assert r["analyzed"].structured_content["key"] == "E minor" and "tempo" in progress
    assert r["refused"].is_error and r["refused"].structured_content["error"]["code"] == "path_not_allowed"


def test_a_bridge_that_stops_is_a_clear_tool_error(serving: tuple[Path, int, int, Any]) -> None:
    config, _, _, bridge = serving

    async def body() -> tuple[Any, Any]:
        async with _client(config) as client:
            before = await client.call_tool("session_get", {})
            bridge.terminate()
            bridge.wait(15)
            await asyncio.sleep(0.2)  # the RPC connection's close reaches grym mcp
            return before, await client.call_tool("session_get", {})

    before, after = run(body())
    assert not before.is_error
    assert after.is_error and after.structured_content["error"]["code"] == "connection_lost"
    assert "closed the connection" in after.content[0].text and "restart `grym serve`" in after.content[0].text


def test_standalone_starts_a_bridge_in_the_process(tmp_path: Path) -> None:
    """`grym mcp --standalone`: no `grym serve` needed; the bridge it starts answers the DAW too."""
    config = _config_file(tmp_path, free_port())
    osc_port = free_port()
    config.write_text(config.read_text() + f"\n[server]\nosc_port = {osc_port}\n", encoding="utf-8")

    async def body() -> tuple[Any, Any]:
        async with _client(config, "--standalone") as client:
            composed = await client.call_tool("compose", {"part": "bass", "key": "F minor", "bars": 2, "seed": 3})
            with OscClient(osc_port) as daw:
                pong = daw.request("/grym/system/ping")
            return composed, pong

    composed, pong = run(body())
    assert not composed.is_error, composed.content
    data = composed.structured_content
    assert data["kind"] == "bass" and data["key"] == "F minor" and Path(data["path"]).is_file()
    assert Path(data["path"]).is_relative_to(tmp_path / "data")
    assert pong[0] == "/grym/system/ping"


def test_grym_mcp_says_when_no_bridge_runs(tmp_path: Path) -> None:
    config = _config_file(tmp_path, free_port())
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grym_bridge", "--config", str(config), "mcp"], input="",
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 1 and done.stdout == ""  # nothing on the protocol channel
    assert "no grym bridge is running at 127.0.0.1:" in done.stderr and "grym mcp --standalone" in done.stderr
    assert "Traceback" not in done.stderr and time.monotonic() - started < 30


def test_print_config_gives_absolute_paths(tmp_path: Path) -> None:
    config = _config_file(tmp_path, free_port())
    done = subprocess.run([sys.executable, "-m", "grym_bridge", "--config", str(config), "mcp", "--print-config"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)["mcpServers"]["grym"]
    assert Path(entry["command"]).is_absolute() and Path(entry["command"]).exists()
    assert entry["args"] == ["-m", "grym_bridge", "--config", str(config.resolve()), "mcp"]
    assert "/mcp" in done.stderr  # the streamable HTTP address, for clients that speak it
