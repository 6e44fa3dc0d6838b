"""OSC over TCP from another machine (network namespaces): pre-authentication limits (issue 14.8)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.network.netns import NetnsHost
from tests.network.test_lan import OSC_PORT, Output

CLIENT = r"""
import json, sys, time
from tests.osc_client import OscClient
host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def emit(**kw): print(json.dumps(kw), flush=True)
def first(c, timeout=5.0):
    try:
        return list(c.recv(timeout))
    except Exception as exc:
        return ["no answer", type(exc).__name__]
trusted = OscClient(port, host, tcp=True)
emit(step="hello", reply=list(trusted.request("/grym/system/hello", 0, token)))
waiting = [OscClient(port, host, tcp=True) for _ in range(2)]
time.sleep(0.5)
emit(step="third unauthenticated", reply=first(OscClient(port, host, tcp=True)))
emit(step="after the auth timeout", replies=[first(c) for c in waiting])
time.sleep(0.5)
emit(step="trusted still served", reply=list(trusted.request("/grym/system/ping")))
"""


def test_unauthenticated_remote_connections_are_capped_and_time_out(lan: list[NetnsHost], tmp_path: Path) -> None:
    server, client = lan[0], lan[1]
    token = "studio-token-" + "5" * 20
    env = {"GRYM_NETWORK_TOKEN": token, "GRYM_SERVER_TCP_MAX_UNAUTHENTICATED": "2",
           "GRYM_SERVER_TCP_AUTH_TIMEOUT_S": "1.5", "GRYM_NETWORK_ADVERTISE": "off"}
    serve = Output(server.python("-m", "grym_bridge", "--data-dir", str(tmp_path / "data"), "serve", "--host",
                                 server.address, "--osc-port", str(OSC_PORT), "--log-level", "warning", env=env))
    serve.expect(lambda line: line == "Ready. Press Ctrl-C to stop.", timeout=60)
    run = Output(client.python("-c", CLIENT, server.address, str(OSC_PORT), token))
    steps = {k: run.expect(lambda e, k=k: isinstance(e, dict) and e["step"] == k)
             for k in ("hello", "third unauthenticated", "after the auth timeout", "trusted still served")}
    assert steps["hello"]["reply"][1][0] == "ok", steps
    address, args = steps["third unauthenticated"]["reply"]
    assert address == "/grym/error" and args[2] == "busy" and "server.tcp_max_unauthenticated" in args[3], steps
    for address, args in steps["after the auth timeout"]["replies"]:
        assert address == "/grym/error" and "server.tcp_auth_timeout_s" in args[3], steps
    assert steps["trusted still served"]["reply"][0] == "/grym/system/ping", json.dumps(steps)
