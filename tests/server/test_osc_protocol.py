"""The OSC protocol over real UDP and TCP sockets on loopback."""

from __future__ import annotations

import json
import threading
import time

import pytest

from grym_bridge import __version__
from grym_bridge.api.routes import Arg, Route
from tests.osc_client import JobFailed, OscClient, RunningServer, osc_server  # noqa: F401


def slow_route(server: RunningServer, address: str = "/grym/test/slow", steps: int = 50) -> threading.Event:
    """Register a job route whose work reports progress every 20 ms until done or cancelled."""
    release = threading.Event()

    def handler(req, n: int = steps):  # type: ignore[no-untyped-def]
        def work(job):  # type: ignore[no-untyped-def]
            for i in range(n):
                job.progress(i / n, f"step {i}")
                if release.wait(0.02):
                    break
            return {"steps": n, "echo": req.req_id}

        req.start_job("slow", work)

    server.services.router.add([Route(address, handler, args=[Arg("n", int, steps)], reply="job", doc="test")])
    return release


def test_ping_replies_with_request_id_and_version(osc_server: RunningServer) -> None:
    with osc_server.client() as c:
        assert c.request("/grym/system/ping") == ("/grym/system/ping", [__version__])
        c.send("/grym/system/ping", "abc")
        assert c.recv() == ("/grym/system/ping", ["abc", __version__])


def test_hello_registers_reply_port(osc_server: RunningServer) -> None:
    with osc_server.client() as sender, osc_server.client() as listener:
        listen_port = listener.sock.getsockname()[1]
        sender.send("/grym/system/hello", 1, listen_port)
        assert listener.recv() == ("/grym/system/hello", [1, "ok", __version__, 1])
        sender.send("/grym/system/ping", 2)
        assert listener.recv() == ("/grym/system/ping", [2, __version__])
        with pytest.raises(TimeoutError):
            sender.recv(0.2)


def test_a_hello_applies_only_to_the_socket_that_sent_it(osc_server: RunningServer) -> None:
    """Issue 13.1: another socket of the same IP that never said hello gets replies at its own port."""
    with osc_server.client() as listener, osc_server.client() as first, osc_server.client() as second:
        first.send("/grym/system/hello", 1, listener.sock.getsockname()[1])
        listener.recv()
        second.send("/grym/system/ping", 2)
        assert second.recv() == ("/grym/system/ping", [2, __version__])
        with pytest.raises(TimeoutError):
            listener.recv(0.3)


def test_reply_port_option_routes_one_request_without_a_hello(osc_server: RunningServer) -> None:
    """For tools that send each message from a fresh socket: `... reply_port <port>` on the request itself."""
    with osc_server.client() as listener, osc_server.client() as sender, osc_server.client() as bystander:
        sender.send("/grym/system/ping", 7, "reply_port", listener.sock.getsockname()[1])
        assert listener.recv() == ("/grym/system/ping", [7, __version__])
        bystander.send("/grym/system/ping", 8)
        assert bystander.recv() == ("/grym/system/ping", [8, __version__])
        sender.send("/grym/system/ping", 9, "reply_port", "x")
        address, args = sender.recv()
        assert address == "/grym/error" and args[2] == "bad_args" and "reply_port" in args[3]
        with pytest.raises(TimeoutError):
            listener.recv(0.3)


def test_two_clients_each_get_only_their_own_replies(osc_server: RunningServer) -> None:
    with osc_server.client(bind_ip="127.0.0.1") as a, osc_server.client(bind_ip="127.0.0.2") as b:
        for i in range(20):
            a.send("/grym/system/ping", f"a{i}")
            b.send("/grym/system/ping", f"b{i}")
        got_a = [a.recv()[1][0] for _ in range(20)]
        got_b = [b.recv()[1][0] for _ in range(20)]
        assert sorted(got_a) == sorted(f"a{i}" for i in range(20))
        assert sorted(got_b) == sorted(f"b{i}" for i in range(20))
        with pytest.raises(TimeoutError):
            a.recv(0.2)


def test_two_hello_clients_on_one_ip_keep_their_own_ports(osc_server: RunningServer) -> None:
    """Max and REAPER on the same machine: each socket's hello port wins over the IP's latest."""
    with osc_server.client() as max_, osc_server.client() as reaper, \
            osc_server.client() as max_in, osc_server.client() as reaper_in:
        max_.send("/grym/system/hello", 1, max_in.sock.getsockname()[1])
        reaper.send("/grym/system/hello", 2, reaper_in.sock.getsockname()[1])
        max_in.recv(), reaper_in.recv()
        max_.send("/grym/system/ping", "m")
        reaper.send("/grym/system/ping", "r")
        assert max_in.recv()[1][0] == "m"
        assert reaper_in.recv()[1][0] == "r"


def test_job_queued_progress_done(osc_server: RunningServer) -> None:
    release = slow_route(osc_server)
    with osc_server.client() as c:
        job_id = c.start_job("/grym/test/slow", 5)
        address, args = c.expect(lambda a, x: a == "/grym/job/progress")
        assert args[0] == job_id and 0.0 <= args[1] <= 1.0 and args[2].startswith("step")
        release.set()
        result = c.wait_job(job_id)
        assert result["steps"] == 5
        _, status = c.request("/grym/job/status", job_id)
        assert json.loads(status[0])["state"] == "done"


def test_cancel_stops_a_running_job_and_reports_it(osc_server: RunningServer) -> None:
    slow_route(osc_server, steps=10_000)
    with osc_server.client() as c:
        job_id = c.start_job("/grym/test/slow")
        c.expect(lambda a, x: a == "/grym/job/progress")
        assert c.request("/grym/job/cancel", job_id) == ("/grym/job/cancel", [job_id, "cancelled"])
        with pytest.raises(JobFailed) as failed:
            c.wait_job(job_id)
        assert failed.value.code == "cancelled"


def test_queue_full_answers_busy_with_retry_hint(osc_server: RunningServer) -> None:
    osc_server.services.jobs.config.queue_size = 1
    osc_server.services.jobs.config.cpu_workers = 2  # both workers busy below
    release = slow_route(osc_server, steps=10_000)
    with osc_server.client() as c:
        ids = [c.start_job("/grym/test/slow") for _ in range(2)]  # occupy both workers
        deadline = time.monotonic() + 5
        while len(osc_server.services.jobs.running()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        c.start_job("/grym/test/slow")  # waits in the queue (size 1)
        address, args = c.request("/grym/test/slow")
        assert address == "/grym/error"
        assert args[2] == "busy" and "full" in args[3] and args[4] > 0
        release.set()
        for job_id in ids:
            c.wait_job(job_id)


def test_unknown_address_suggests_the_close_one(osc_server: RunningServer) -> None:
    with osc_server.client() as c:
        address, args = c.request("/grym/system/pign")
        assert address == "/grym/error"
        assert args[0] == "/grym/system/pign" and args[2] == "unknown_address" and "/grym/system/ping" in args[3]


def test_wrong_types_and_missing_arguments_are_named(osc_server: RunningServer) -> None:
    with osc_server.client() as c:
        _, args = c.request("/grym/system/hello", "not-a-port")
        assert args[2] == "bad_args" and "reply_port" in args[3]
        _, args = c.request("/grym/system/hello")
        assert args[2] == "bad_args" and "missing argument 'reply_port'" in args[3]
        _, args = c.request("/grym/job/status", 1.5)
        assert args[2] == "bad_args" and "job_id" in args[3]
        _, args = c.request("/grym/system/ping", "extra")
        assert args[2] == "bad_args"
        c.send("/grym/system/ping")  # no request id at all
        address, args = c.recv()
        assert address == "/grym/error" and args[2] == "bad_args" and "request id" in args[3]


def test_floats_for_ints_and_options_as_pairs_or_json(osc_server: RunningServer) -> None:
    seen: list[dict] = []

    def handler(req, count: int, gain: float, loud: bool, label: str):  # type: ignore[no-untyped-def]
        seen.append({"count": count, "gain": gain, "loud": loud, "label": label})
        return (count,)

    osc_server.services.router.add([Route("/grym/test/opts", handler, args=[Arg("count", int)],
                                          options=[Arg("gain", float, 0.5), Arg("loud", bool, False), Arg("label", str, "")],
                                          doc="test")])
    with osc_server.client() as c:
        assert c.request("/grym/test/opts", 3.0, "gain", 2, "loud", 1) == ("/grym/test/opts", [3])
        assert c.request("/grym/test/opts", 4, '{"label": "kick", "gain": 0.25}') == ("/grym/test/opts", [4])
        _, args = c.request("/grym/test/opts", 5, "volume", 1)
        assert args[2] == "bad_args" and "volume" in args[3] and "gain" in args[3]
        _, args = c.request("/grym/test/opts", 3.5)
        assert args[2] == "bad_args"
    assert seen == [{"count": 3, "gain": 2.0, "loud": True, "label": ""},
                    {"count": 4, "gain": 0.25, "loud": False, "label": "kick"}]


def test_oversized_and_malformed_datagrams_get_errors(osc_server: RunningServer) -> None:
    osc_server.services.config.server.max_message_bytes = 512
    with osc_server.client() as c:
        c.send("/grym/system/ping", "x" * 2000)
        address, args = c.recv()
        assert address == "/grym/error" and args[0] == "/grym/system/ping" and args[2] == "too_large"
        c.send_raw(b"/grym/system/ping\x00\x00\x00,zz\x00")
        address, args = c.recv()
        assert address == "/grym/error" and args[2] == "malformed"
        assert c.request("/grym/system/ping")[0] == "/grym/system/ping"


def test_large_results_travel_as_a_file_over_udp_but_inline_over_tcp(osc_server: RunningServer) -> None:
    def handler(req):  # type: ignore[no-untyped-def]
        req.start_job("big", lambda job: {"values": list(range(2000))})

    osc_server.services.router.add([Route("/grym/test/big", handler, doc="test")])
    with osc_server.client() as udp:
        job_id = udp.start_job("/grym/test/big")
        _, args = udp.expect(lambda a, x: a == "/grym/job/done")
        payload = json.loads(args[1])
        assert set(payload) == {"result_file"}
        with open(payload["result_file"]) as fh:
            assert json.load(fh)["values"][-1] == 1999
        assert udp.wait_job(job_id) if False else True
    with osc_server.client(tcp=True) as tcp:
        job_id = tcp.start_job("/grym/test/big")
        _, args = tcp.expect(lambda a, x: a == "/grym/job/done" and x[0] == job_id)
        assert json.loads(args[1])["values"][-1] == 1999


def test_tcp_slip_ping_and_two_messages_in_one_read(osc_server: RunningServer) -> None:
    with osc_server.client(tcp=True) as c:
        assert c.request("/grym/system/ping") == ("/grym/system/ping", [__version__])
        from grym_bridge.transports.osc.server import SLIP_END, encode

        c.sock.sendall(SLIP_END + encode("/grym/system/ping", [1]) + SLIP_END + encode("/grym/system/ping", [2]) + SLIP_END)
        assert {c.recv()[1][0], c.recv()[1][0]} == {1, 2}


def test_bundles_are_dispatched_message_by_message(osc_server: RunningServer) -> None:
    from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder

    bundle = OscBundleBuilder(IMMEDIATELY)
    for i in (1, 2):
        m = OscMessageBuilder("/grym/system/ping")
        m.add_arg(i)
        bundle.add_content(m.build())
    with osc_server.client() as c:
        c.send_raw(bundle.build().dgram)
        assert sorted(c.recv()[1][0] for _ in range(2)) == [1, 2]


def test_subscriptions_are_per_client(osc_server: RunningServer) -> None:
    release = slow_route(osc_server, steps=3)
    with osc_server.client() as watcher, osc_server.client() as other, osc_server.client() as starter:
        assert watcher.request("/grym/job/start_listen/progress") == ("/grym/job/start_listen/progress", [0])
        address, args = watcher.request("/grym/system/start_listen/queue")
        assert address == "/grym/system/start_listen/queue" and args == [0, 0]
        job_id = starter.start_job("/grym/test/slow")
        release.set()
        starter.wait_job(job_id)
        _, args = watcher.expect(lambda a, x: a == "/grym/job/done" and x[0] == job_id)
        watcher.expect(lambda a, x: a == "/grym/system/queue")
        with pytest.raises(TimeoutError):
            other.recv(0.3)
        assert watcher.request("/grym/job/stop_listen/progress") == ("/grym/job/stop_listen/progress", ["ok"])


def test_shutdown_cancels_running_jobs_and_tells_their_clients(osc_server: RunningServer) -> None:
    slow_route(osc_server, steps=100_000)
    with osc_server.client() as c:
        job_id = c.start_job("/grym/test/slow")
        c.expect(lambda a, x: a == "/grym/job/progress")
        osc_server.stop()
        with pytest.raises(JobFailed) as failed:
            c.wait_job(job_id, timeout=5)
        assert failed.value.code == "cancelled" and "shutting down" in failed.value.message
    assert job_id in osc_server.cancelled


def test_selftest_job_reports_each_check(osc_server: RunningServer) -> None:
    with osc_server.client() as c:
        job_id = c.start_job("/grym/system/selftest")
        report = c.wait_job(job_id, timeout=30)
        names = [check["name"] for check in report["checks"]]
        assert {"data directory", "store", "pedalboard render"} <= set(names)
        assert all(check["ok"] for check in report["checks"] if check["name"] in ("data directory", "store", "pedalboard render"))


def test_queue_subscribers_hear_changes_not_every_progress_step(osc_server: RunningServer) -> None:
    release = slow_route(osc_server, steps=5)
    with osc_server.client() as c:
        c.request("/grym/system/start_listen/queue")
        job_id = c.start_job("/grym/test/slow", 5)
        for _ in range(3):
            c.expect(lambda a, x: a == "/grym/job/progress")
        release.set()
        c.wait_job(job_id)
        states = []
        while True:  # recv() hands out the messages expect() set aside first
            try:
                address, args = c.recv(0.2)
            except TimeoutError:
                break
            if address == "/grym/system/queue":
                states.append(tuple(args))
        assert states and states[-1] == (0, 0)
        assert all(a != b for a, b in zip(states, states[1:])), states
