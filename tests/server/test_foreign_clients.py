"""Clients this project did not write, side by side on 127.0.0.1: Pure Data and python-osc (issue 13's acceptance).

Pd (`puredata-core`) runs headless with a patch that says hello from its
`netsend -u -b` socket with the port of its `netreceive -u -b`, builds
messages with `oscformat` and reads the replies with `oscparse`. python-osc's
own UDP client, which never says hello, runs a long mix of requests,
subscriptions and jobs at the same time: each must get only its own replies.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import SimpleUDPClient

from grym_bridge import __version__
from tests.conftest import require_tool
from tests.osc_client import RunningServer, free_port, osc_server  # noqa: F401

PATCH = """#N canvas 0 0 600 400 12;
#X obj 10 10 loadbang;
#X msg 10 40 connect 127.0.0.1 {port};
#X obj 10 300 netsend -u -b;
#X obj 10 70 delay 300;
#X msg 10 100 1 {listen};
#X obj 10 130 oscformat grym system hello;
#X obj 10 240 list prepend send;
#X obj 10 270 list trim;
#X obj 200 70 delay 700;
#X msg 200 100 42;
#X obj 200 130 oscformat grym system ping;
#X obj 400 10 netreceive -u -b {listen};
#X obj 400 40 oscparse;
#X obj 400 70 print REPLY;
#X obj 10 340 delay {quit_ms};
#X msg 10 370 \\; pd quit;
#X obj 300 170 delay 1100;
#X msg 300 200 7 project pdsong;
#X obj 300 230 oscformat grym session set;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 0 0 3 0;
#X connect 3 0 4 0;
#X connect 4 0 5 0;
#X connect 5 0 6 0;
#X connect 6 0 7 0;
#X connect 7 0 2 0;
#X connect 0 0 8 0;
#X connect 8 0 9 0;
#X connect 9 0 10 0;
#X connect 10 0 6 0;
#X connect 11 0 12 0;
#X connect 12 0 13 0;
#X connect 0 0 14 0;
#X connect 14 0 15 0;
#X connect 0 0 16 0;
#X connect 16 0 17 0;
#X connect 17 0 18 0;
#X connect 18 0 6 0;
"""


def python_osc_run(port: int, rounds: int, out: dict[str, list]) -> None:
    """python-osc's client, no hello: pings, a subscription and jobs; collects every reply it receives."""
    client = SimpleUDPClient("127.0.0.1", port)
    got: list[tuple[str, list]] = []
    client.send_message("/grym/job/start_listen/progress", ["py-sub"])
    for i in range(rounds):
        client.send_message("/grym/system/ping", [f"py{i}"])
        if i % 10 == 0:
            client.send_message("/grym/system/selftest", [f"pyjob{i}"])
        for message in client.get_messages(0.05):
            got.append((message.address, list(message.params)))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(a == "/grym/system/ping" for a, _ in got) < rounds:
        for message in client.get_messages(0.2):
            got.append((message.address, list(message.params)))
    out["python-osc"] = got


def test_pure_data_and_python_osc_each_get_only_their_own_replies(osc_server: RunningServer, tmp_path: Path) -> None:
    pd = require_tool("pd")
    listen = free_port()
    patch = tmp_path / "grym_client.pd"
    patch.write_text(PATCH.format(port=osc_server.port, listen=listen, quit_ms=4000))
    out: dict[str, list] = {}
    runner = threading.Thread(target=python_osc_run, args=(osc_server.port, 60, out))
    proc = subprocess.Popen([pd, "-nogui", "-noaudio", "-nomidi", "-stderr", "-open", str(patch)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    runner.start()
    try:
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        runner.join(30)
    replies = [line.split("REPLY:", 1)[1].strip() for line in output.splitlines() if "REPLY:" in line]
    assert any(r.startswith("list grym system hello 1 ok") or r.startswith("grym system hello 1 ok")
               for r in replies), output
    assert any(f"grym system ping 42 {__version__}" in r for r in replies), output
    assert any("grym session set 7 project pdsong" in r for r in replies), output
    assert not any("py" in r for r in replies), replies  # nothing of python-osc's reached Pd
    assert osc_server.services.orchestrator.sessions.get("default").to_dict()["project"] == "pdsong"

    py = out["python-osc"]
    pings = sorted(args[0] for address, args in py if address == "/grym/system/ping")
    assert pings == sorted(f"py{i}" for i in range(60))
    assert any(address == "/grym/job/queued" for address, _ in py)
    assert any(address in ("/grym/job/progress", "/grym/job/done") for address, _ in py)  # jobs and the subscription
    assert not any(args and args[0] in (1, 42, 7, 1.0, 42.0, 7.0) for address, args in py
                   if address.startswith(("/grym/system/hello", "/grym/system/ping", "/grym/session/set")))
