"""Whose job it is, how long a refused client should wait, and hung workers made visible.

The slow work is real: `/grym/ask` on a real `grym serve` whose LLM planner
talks to the loopback stand-in (`llm_standin.py`), told to answer late. A
planner waiting on a late LLM makes no progress reports, so it cannot be
stopped from outside: exactly the work that overruns its job's timeout.
"""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace
from typing import Any, Iterator

import pytest

from grym_bridge.config import Config
from grym_bridge.orchestrator.job_policy import DurationStats, estimate_wait, machine, same_client
from tests.orchestrator.llm_standin import LlmStandIn
from tests.osc_client import RunningServer, start_server

ASK = ("/grym/ask", "write chords in A minor")


def peer(*key: Any) -> SimpleNamespace:
    return SimpleNamespace(key=tuple(key))


def test_ownership_by_host_and_token_holder_across_transports() -> None:
    a, b = peer("udp", "127.0.0.1", 5000), peer("tcp", "::1", 5001)
    assert same_client(a, b) and same_client(a, peer("midi", "grym-bridge"))  # this machine's own clients
    remote = peer("udp", "10.0.0.5", 5000)
    assert machine(remote) == ("token", "10.0.0.5")
    assert same_client(remote, peer("rpc", "10.0.0.5", 3))  # the same token holder over the RPC
    assert not same_client(remote, peer("rpc", "10.0.0.6", 3)) and not same_client(remote, a)
    assert not same_client(a, remote)
    # owner: only the very socket or connection
    assert same_client(a, peer("udp", "127.0.0.1", 5000), "owner") and not same_client(a, b, "owner")
    assert not same_client(remote, peer("rpc", "10.0.0.5", 3), "owner")
    assert same_client(a, remote, "anyone")


def test_the_wait_grows_with_the_queue_ahead_and_the_measured_durations() -> None:
    stats = DurationStats()
    assert stats.expected("ask", "cpu") == 1.0  # never seen: a default
    for seconds in (4.0, 4.0, 4.0):
        stats.record("render", "cpu", seconds)
    assert stats.expected("render", "cpu") == pytest.approx(4.0) and stats.expected("other", "cpu") == pytest.approx(4.0)
    # two workers: one free in 1 s, one in 3 s; three 4 s jobs ahead
    assert estimate_wait([(4.0, 3.0), (4.0, 1.0)], [], 2) == pytest.approx(1.0)
    assert estimate_wait([(4.0, 3.0), (4.0, 1.0)], [4.0], 2) == pytest.approx(3.0)
    assert estimate_wait([(4.0, 3.0), (4.0, 1.0)], [4.0, 4.0, 4.0], 2) == pytest.approx(7.0)
    assert estimate_wait([], [], 2) == 0.0


@pytest.fixture
def slow_server(config: Config, llm: LlmStandIn) -> Iterator[RunningServer]:
    """A real server with one cpu worker whose asks wait on the stand-in LLM (`llm.delay_s`)."""
    config.orchestrator.planner = "ollama"
    config.orchestrator.llm_url = llm.url
    config.jobs.cpu_workers = 1
    srv = start_server(config)
    try:
        yield srv
    finally:
        srv.stop()


class RemotePeer:
    """Stands in for a client on another machine that the OSC gate admitted with the studio token:
    the router answers it as it would over UDP (the replies are kept here)."""

    max_payload = 1400

    def __init__(self, host: str, port: int) -> None:
        self.key = ("udp", host, port)
        self.replies: list[tuple[str, list[Any]]] = []

    def send(self, address: str, args: Any) -> None:
        self.replies.append((address, list(args)))


def dispatch_from(srv: RunningServer, peer: RemotePeer, address: str, *args: Any) -> tuple[str, list[Any]]:
    """Dispatch one request on the server's loop, as its OSC transport would, and return the reply."""
    done = threading.Event()
    before = len(peer.replies)
    srv.loop.call_soon_threadsafe(lambda: (srv.services.router.dispatch(address, list(args), peer), done.set()))
    assert done.wait(5)
    return peer.replies[before]  # the direct reply; job events may follow it


def test_another_hosts_client_may_not_cancel_a_job(slow_server: RunningServer, llm: LlmStandIn) -> None:
    llm.delay_s = 1.5
    with slow_server.client() as owner, slow_server.client(tcp=True) as same_machine:
        job = owner.start_job(*ASK)
        addr, args = dispatch_from(slow_server, RemotePeer("10.231.7.9", 9000), "/grym/job/cancel", 7, job)
        assert addr == "/grym/error" and args[2] == "forbidden" and "jobs.cancel_by" in args[3], args
        # this machine's other clients (REAPER cancels through a second grym call) may
        assert same_machine.request("/grym/job/cancel", job) == ("/grym/job/cancel", [job, "cancelled"])
        # the remote token holder's own job, cancelled over another of its transports
        remote = RemotePeer("10.231.7.9", 9000)
        addr, args = dispatch_from(slow_server, remote, ASK[0], 9, ASK[1])
        assert addr == "/grym/job/queued"
        queued = args[1]
        assert owner.request("/grym/job/cancel", queued)[1][2] == "forbidden"
        over_rpc = RemotePeer("10.231.7.9", 0)
        over_rpc.key = ("rpc", "10.231.7.9", 4)
        assert dispatch_from(slow_server, over_rpc, "/grym/job/cancel", 8, queued) == \
            ("/grym/job/cancel", [8, queued, "cancelled"])


def test_cancel_by_owner_refuses_even_this_machines_other_clients(config: Config, llm: LlmStandIn) -> None:
    config.jobs.cancel_by = "owner"
    config.orchestrator.planner, config.orchestrator.llm_url = "ollama", llm.url
    llm.delay_s = 1.5
    srv = start_server(config)
    try:
        with srv.client() as owner, srv.client() as other, srv.client(tcp=True) as tcp:
            job = owner.start_job(*ASK)
            for intruder in (other, tcp):
                addr, args = intruder.request("/grym/job/cancel", job)
                assert addr == "/grym/error" and args[2] == "forbidden", args
            assert owner.request("/grym/job/cancel", job) == ("/grym/job/cancel", [job, "cancelled"])
    finally:
        srv.stop()


def busy_hint(client: Any) -> float:
    addr, args = client.request(*ASK)
    assert addr == "/grym/error" and args[2] == "busy", args
    return float(args[4])


def test_retry_after_follows_the_queue_ahead_and_measured_durations(config: Config, llm: LlmStandIn) -> None:
    config.orchestrator.planner, config.orchestrator.llm_url = "ollama", llm.url
    config.jobs.cpu_workers, config.jobs.queue_size = 1, 1
    llm.delay_s = 0.6
    srv = start_server(config)
    try:
        with srv.client(timeout=15.0) as c:
            c.wait_job(c.start_job(*ASK))  # measured: an ask takes about 0.6 s here
            first = c.start_job(*ASK)
            time.sleep(0.1)
            c.start_job(*ASK)  # waits behind the first: the queue (of one) is full now
            short = busy_hint(c)
            # about what is left of the first and all of the second
            assert 0.7 <= short <= 2.5, short
            srv.services.config.jobs.queue_size = 4
            for _ in range(3):
                c.start_job(*ASK)
            long = busy_hint(c)
            assert long >= short + 1.2, (short, long)  # three more asks ahead: more to wait
            c.request("/grym/job/cancel", first)
    finally:
        srv.stop()


def test_a_hung_worker_shows_in_the_job_list_and_turns_health_warning(config: Config, llm: LlmStandIn) -> None:
    config.orchestrator.planner, config.orchestrator.llm_url = "ollama", llm.url
    config.orchestrator.llm_timeout_s = 2.5
    config.jobs.timeout_s = 0.3
    config.health.interval_s = 0.05
    config.health.min_time_in_state_s = 0.0
    llm.delay_s = 2.5  # the planner waits on the LLM, past the job's timeout, and cannot be stopped meanwhile
    srv = start_server(config)
    try:
        with srv.client(timeout=10.0) as c:
            job = c.start_job(*ASK)
            with pytest.raises(AssertionError, match="timeout"):
                c.wait_job(job, timeout=3.0)
            listed = json.loads(c.request("/grym/job/list")[1][0])
            hung = [j for j in listed if j.get("hung")]
            assert [j["job_id"] for j in hung] == [job] and hung[0]["timeout_s"] == 0.3
            assert hung[0]["running_s"] >= 0.3 and hung[0]["state"] == "error"
            deadline = time.monotonic() + 3.0
            while True:  # health samples every 50 ms here
                health = json.loads(c.request("/grym/health/get")[1][0])
                hung_reason = any(r.startswith("hung_workers 1") for r in health["reasons"])
                if hung_reason or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            # (a loaded test machine may add a CPU reason; the hung worker alone enters warning)
            assert hung_reason and health["state"] in ("warning", "critical"), health
            assert [h["job_id"] for h in health["hung"]] == [job]
            # the planner gives up at its own deadline, the job's work stops, the worker is free again
            deadline = time.monotonic() + 6.0
            while srv.services.jobs.hung() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not json.loads(c.request("/grym/job/list")[1][0])
            assert json.loads(c.request("/grym/health/get")[1][0])["hung"] == []
    finally:
        srv.stop()


def test_one_hung_worker_alone_enters_warning_and_leaving_it_returns_to_healthy() -> None:
    from grym_bridge.config import HealthConfig
    from grym_bridge.orchestrator.health import HealthMonitor, Readings

    monitor = HealthMonitor(HealthConfig(min_time_in_state_s=0.0))
    assert monitor.update(Readings(hung_workers=0)).state.value == "healthy"
    status = monitor.update(Readings(hung_workers=1))
    assert status.state.value == "warning" and status.reasons == ["hung_workers 1 (enters warning at 1)"]
    assert monitor.update(Readings(hung_workers=0)).state.value == "healthy"


def test_http_peers_count_by_the_machine_they_talk_from() -> None:
    page = SimpleNamespace(key="web-3", host="127.0.0.1")
    assert same_client(peer("udp", "127.0.0.1", 5000), page)  # the web page may cancel Live's job
    assert not same_client(SimpleNamespace(key="http-9", host="10.0.0.5"), page)
    assert not same_client(peer("udp", "127.0.0.1", 5000), SimpleNamespace(key="web-4"))  # host unknown: no
