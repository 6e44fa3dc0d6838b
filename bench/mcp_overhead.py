"""What MCP costs on top of the bridge: `grym mcp` (stdio, over the RPC) against the RPC client alone.

Run:  .venv/bin/python bench/mcp_overhead.py [--repeats 50] [--jobs 20]

Starts a real `grym serve` in a temporary data folder, then times, in the same
run and alternating, the two ways a tool reaches the same bridge:

- rpc: `RpcClient.request` straight to the bridge's RPC port (what `grym relay` uses);
- mcp: the SDK's stdio client -> `grym mcp` subprocess -> the same RPC port.

for a plain request (`session_get`: /grym/session/get) and for a job
(`analyze` of a 4-bar synthetic progression: /grym/analyze/file, waited for),
plus how long `grym mcp` takes from spawn to the first tool list. Prints the
medians and the ratios mcp / rpc. The extra work is one more process hop with
JSON-RPC framing and pydantic validation per message, so a plain request costs
a few times the RPC alone while a job is dominated by its own work.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grym_bridge.transports.rpc.client import RpcClient  # noqa: E402
from tests.mcp.conftest import write_progression  # noqa: E402
from tests.osc_client import free_port  # noqa: E402


def start_bridge(folder: Path) -> tuple[subprocess.Popen[str], Path, int]:
    rpc_port, osc_port = free_port(), free_port()
    config = folder / "grym.toml"
    config.write_text(f'data_dir = "{folder / "data"}"\n[paths]\nallowed_roots = ["{folder}"]\n'
                      f"[network]\nrpc_port = {rpc_port}\noscquery_port = 0\n[http]\nport = 0\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "grym_bridge", "--config", str(config), "serve", "--osc-port",
                             str(osc_port), "--log-level", "error"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("Ready."):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        proc.kill()
        raise RuntimeError("grym serve did not start")
    return proc, config, rpc_port


async def bench(config: Path, rpc_port: int, clip: Path, repeats: int, jobs: int) -> dict[str, list[float]]:
    from mcp import Client, StdioServerParameters

    times: dict[str, list[float]] = {"rpc plain": [], "mcp plain": [], "rpc job": [], "mcp job": []}
    rpc = await RpcClient.connect("127.0.0.1", rpc_port, max_payload=None)
    params = StdioServerParameters(command=sys.executable, cwd=str(ROOT),
                                   args=["-m", "grym_bridge", "--config", str(config), "mcp"])
    started = time.perf_counter()
    async with Client(params) as mcp:
        await mcp.list_tools()
        times["mcp start"] = [time.perf_counter() - started]

        async def timed(key: str, call: Any) -> None:
            t = time.perf_counter()
            await call
            times[key].append(time.perf_counter() - t)

        async def rpc_job() -> None:
            queued = await rpc.request("/grym/analyze/file", str(clip))
            await rpc.wait_job(queued[1])

        async def mcp_call(name: str, arguments: dict[str, Any]) -> None:
            result = await mcp.call_tool(name, arguments)
            assert not result.is_error, result.content

        for _ in range(3):  # warm both paths (imports in the bridge, the first analysis)
            await rpc.request("/grym/session/get")
            await mcp_call("session_get", {})
        await rpc_job()
        for _ in range(repeats):
            await timed("rpc plain", rpc.request("/grym/session/get"))
            await timed("mcp plain", mcp_call("session_get", {}))
        for _ in range(jobs):
            await timed("rpc job", rpc_job())
            await timed("mcp job", mcp_call("analyze", {"path": str(clip)}))
    await rpc.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=50, help="plain requests per peer")
    parser.add_argument("--jobs", type=int, default=20, help="analysis jobs per peer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = write_progression(folder / "prog.wav", "A minor", bpm=100, bars=4)
        proc, config, rpc_port = start_bridge(folder)
        try:
            times = asyncio.run(bench(config, rpc_port, clip, args.repeats, args.jobs))
        finally:
            proc.terminate()
            proc.wait(15)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"grym mcp start to first tool list: {med['mcp start'] * 1000:.0f} ms")
    for kind in ("plain", "job"):
        rpc, mcp = med[f"rpc {kind}"], med[f"mcp {kind}"]
        print(f"{kind:>5}: rpc {rpc * 1000:8.2f} ms   mcp {mcp * 1000:8.2f} ms   mcp/rpc {mcp / rpc:5.2f}x   "
              f"(+{(mcp - rpc) * 1000:.2f} ms)")


if __name__ == "__main__":
    main()
