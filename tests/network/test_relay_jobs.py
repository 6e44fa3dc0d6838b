"""The relay routing each job (not each client) over two real bridges on loopback.

Both bridges are real servers (`serve`: OSC, RPC) in this process; the relay names them with
`--to A:PORT,B:PORT`. The job they run is a stand-in for a long generation: `/grym/test/hold`
(registered on each bridge's router by this test only) reports progress when it starts, then
holds its worker for the given seconds. Each bridge has one CPU worker, so a second job on the
same bridge stays queued.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from grym_bridge.api.routes import Arg, Request, Route
from grym_bridge.config import Config, load_config
from grym_bridge.paths import PathPolicy
from grym_bridge.transports.relay import Relay
from tests.network.conftest import rpc_port
from tests.network.test_relay import RunningRelay
from tests.osc_client import JobFailed, RunningServer, start_server

HOLD = "/grym/test/hold"


def _hold(req: Request, seconds: float) -> None:
    def work(job: Any) -> Any:
        job.progress(0.0, "holding")  # a real generation reports progress as it starts, too
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.02)
        return {"held": seconds}

    req.start_job("test.hold", work)


def _bridge(tmp_path: Path, name: str) -> RunningServer:
    config: Config = load_config(None, {"data_dir": str(tmp_path / name), "paths.allowed_roots": [str(tmp_path)]},
                                 environ={})
    config.network.rpc_port = config.network.oscquery_port = 0
    config.jobs.cpu_workers = 1
    server = start_server(config)
    server.services.router.add([Route(HOLD, _hold, args=[Arg("seconds", float)], reply="job: result {held}",
                                      doc="test stand-in for a long job")])
    return server


@pytest.fixture
def two_bridges(tmp_path: Path) -> Iterator[list[RunningServer]]:
    servers = [_bridge(tmp_path, "a"), _bridge(tmp_path, "b")]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def _status(client: Any) -> dict[str, Any]:
    return json.loads(client.request("/grym/relay/status")[1][0])


def test_two_jobs_of_one_client_run_on_two_bridges_and_a_queued_job_moves(two_bridges: list[RunningServer],
                                                                          tmp_path: Path) -> None:
    a, b = two_bridges
    to = f"127.0.0.1:{rpc_port(a)},127.0.0.1:{rpc_port(b)}"
    relay = RunningRelay(Relay(host="127.0.0.1", port=0, paths=PathPolicy((tmp_path.resolve(),)),
                               download_dir=tmp_path / "downloads", token=None, to=to, jobs={HOLD}))
    try:
        with relay.client() as c:
            first = c.start_job(HOLD, 3.0)
            second = c.start_job(HOLD, 0.5)
            placed = _status(c)["jobs"]
            assert {placed[str(first)], placed[str(second)]} == {f"127.0.0.1:{rpc_port(a)}", f"127.0.0.1:{rpc_port(b)}"}
            assert first != second
            assert c.wait_job(second) == {"held": 0.5}  # done while the first still runs on the other bridge
            assert first in [int(i) for i in _status(c)["jobs"]]
            # Two more: the free bridge takes the first, the last queues behind a running one.
            busy = c.start_job(HOLD, 3.0)
            queued = c.start_job(HOLD, 0.2)
            placed = _status(c)["jobs"]
            assert placed[str(queued)] in (placed[str(first)], placed[str(busy)])
            # The bridge holding the queued job goes away: the queued job moves, same id; the running one is lost.
            gone = a if placed[str(queued)] == f"127.0.0.1:{rpc_port(a)}" else b
            running_there = first if placed[str(first)] == placed[str(queued)] else busy
            gone.stop()
            with pytest.raises(JobFailed) as lost:
                c.wait_job(running_there, timeout=20)
            assert lost.value.code in ("bridge_lost", "cancelled")  # cancelled: the bridge stopped gracefully
            assert c.wait_job(queued, timeout=30) == {"held": pytest.approx(0.2)}  # moved: same id, done on the other bridge
    finally:
        relay.stop()
