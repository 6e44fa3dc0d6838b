"""Small programs the network tests run inside test hosts (`python -m tests.network.agent CMD ...`).

Each prints JSON lines on stdout for the test to read, and exits on its own
or when its stdin closes.

- `browse --interface IP --seconds S`: zeroconf events (added/updated/removed) as they happen.
- `advertise --address IP --name NAME`: advertise a bridge; stdin lines `health STATE`, `queue N`, `quit`.
- `osc --host H --port P --token T`: OSC to a bridge from this host: what the token gate answers.
- `relay-jobs --port P --jobs JSON [--pause-before K]`: jobs through the local relay, one client;
  waits for a stdin line before job K; prints each result and the relay's status.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from grym_bridge.transports.discovery import Advertiser, BridgeBrowser, BridgeInfo, BridgeStatus
from grym_bridge.transports.osc.codec import encode
from tests.osc_client import OscClient


def emit(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def browse(interface: str, seconds: float) -> None:
    def changed(event: str, info: BridgeInfo) -> None:
        emit(event=event, name=info.name, addresses=list(info.addresses), rpc=info.rpc_port, osc=info.osc_port,
             health=info.health, queue=info.queue_depth, token=info.token_required, version=info.version)

    browser = BridgeBrowser(interface, on_change=changed)
    browser.start()
    emit(event="browsing")
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait(seconds)
    browser.close()


def advertise(address: str, name: str) -> None:
    status = BridgeStatus(models_ready=("analysis", "composition"))
    adv = Advertiser(name, [address], osc_port=9130, rpc_port=9131, oscquery_port=9132, token_required=True)
    adv.start(status)
    emit(event="advertised", names=adv.instance_names)
    for line in sys.stdin:
        word, _, value = line.strip().partition(" ")
        if word == "health":
            status = BridgeStatus(value, status.queue_depth, status.models_ready)
        elif word == "queue":
            status = BridgeStatus(status.health, int(value), status.models_ready)
        elif word == "quit":
            break
        emit(event="updated", changed=adv.update(status))
    adv.close()
    emit(event="closed")


def osc_gate(host: str, port: int, token: str) -> None:
    """OSC over TCP with and without the token; then UDP from this machine, which the bridge refuses
    (server.remote_udp is off) without ever answering with more bytes than it was sent."""
    with OscClient(port, host, tcp=True) as client:
        emit(step="ping without hello", reply=client.request("/grym/system/ping"))
        emit(step="hello with a wrong token", reply=client.request("/grym/system/hello", 0, "x" * 32))
        emit(step="hello with the token", reply=client.request("/grym/system/hello", 0, token))
        emit(step="ping after hello", reply=client.request("/grym/system/ping"))
    with OscClient(port, host, bind_ip="0.0.0.0", timeout=1.0) as udp:
        for step, args in (("udp ping", ["/grym/system/ping", 1]),
                           ("udp hello with the token", ["/grym/system/hello", 2, 9000, token]),
                           ("udp set after hello", ["/grym/session/set", 3, "key", "F minor"])):
            packet = encode(args[0], args[1:])
            udp.send_raw(packet)
            try:
                answered = len(udp.sock.recv(65536))
            except OSError:  # timed out: no answer at all
                answered = 0
            emit(step=step, sent=len(packet), answered=answered)
    with OscClient(port, host, tcp=True) as client:
        client.request("/grym/system/hello", 0, token)
        emit(step="session after udp", reply=client.request("/grym/session/get"))


def relay_jobs(port: int, jobs: list[list[Any]], pause_before: int, timeout: float) -> None:
    """Run each `[address, args]` through the relay from one client; wait for a stdin line before `pause_before`."""
    with OscClient(port, "127.0.0.1", timeout=timeout) as client:
        emit(step="hello", reply=client.request("/grym/system/hello", client.sock.getsockname()[1]))
        for run, (address, args) in enumerate(jobs):
            if run == pause_before:
                sys.stdin.readline()
            reply = client.request(address, *args)
            if reply[0] == "/grym/job/queued":
                try:
                    emit(step="result", run=run, result=client.wait_job(reply[1][0], timeout))
                except Exception as exc:  # noqa: BLE001 - reported to the test as data
                    emit(step="failed", run=run, error=str(exc))
            else:
                emit(step="reply", run=run, reply=reply)
            status = client.request("/grym/relay/status")
            emit(step="status", run=run, status=json.loads(status[1][0]))


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("browse")
    p.add_argument("--interface", required=True)
    p.add_argument("--seconds", type=float, default=30.0)
    p = sub.add_parser("advertise")
    p.add_argument("--address", required=True)
    p.add_argument("--name", required=True)
    p = sub.add_parser("osc")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token", required=True)
    p = sub.add_parser("relay-jobs")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--jobs", required=True)
    p.add_argument("--pause-before", type=int, default=-1)
    p.add_argument("--timeout", type=float, default=30.0)
    a = parser.parse_args()
    if a.cmd == "browse":
        browse(a.interface, a.seconds)
    elif a.cmd == "advertise":
        advertise(a.address, a.name)
    elif a.cmd == "osc":
        osc_gate(a.host, a.port, a.token)
    else:
        relay_jobs(a.port, json.loads(a.jobs), a.pause_before, a.timeout)


if __name__ == "__main__":
    main()
