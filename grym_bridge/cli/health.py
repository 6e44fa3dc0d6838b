"""`grym health`: the running server's health, or this machine's when no server answers."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import click

from grym_bridge.cli.common import echo_json, pass_config
from grym_bridge.config import Config


def ask_server(host: str, port: int, timeout: float) -> dict[str, Any] | None:
    """`/grym/health/get` over OSC-over-TCP; None when no server answers in time.

    TCP, because its replies come back on the connection: over UDP they would go
    to the reply port a DAW on this machine registered with `/grym/system/hello`.
    """
    from grym_bridge.transports.osc.server import SLIP_END, encode, parse, slip_frame, slip_unframe

    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host if host != "0.0.0.0" else "127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(slip_frame(encode("/grym/health/get", ["cli-health"])))
            buffer = b""
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                *frames, buffer = (buffer + chunk).split(SLIP_END)
                for frame in filter(None, frames):
                    for address, args in parse(slip_unframe(frame)):
                        if address == "/grym/health/get" and args[:1] == ["cli-health"]:
                            return json.loads(args[1])
    except OSError:  # refused or timed out: no server there
        return None
    return None


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--local", is_flag=True, help="Measure this machine only; do not ask a running server.")
@click.option("--timeout", default=1.0, show_default=True, help="Seconds to wait for the server's answer.")
@pass_config
def health(config: Config, as_json: bool, local: bool, timeout: float) -> None:
    """Healthy, warning or critical, and why: CPU, memory, GPU memory, queue depth, error rate, loop lag.

    Asks the server at server.host:server.osc_port; without one, measures this machine (the queue,
    error rate and loop lag then are unknown). Exits 0 when healthy, 1 on warning, 2 on critical.
    """
    from grym_bridge.orchestrator.health import HealthMonitor, SystemProbe

    status = None if local else ask_server(config.server.host, config.server.osc_port, timeout)
    source = f"server {config.server.host}:{config.server.osc_port}"
    if status is None:
        probe = SystemProbe()
        time.sleep(0.2)  # cpu_percent measures over the time since the probe was made
        monitor = HealthMonitor(config.health, read=probe)
        status = monitor.update().to_dict(time.monotonic())
        source = "this machine (no server answered)" if not local else "this machine"
    status["source"] = source
    if as_json:
        echo_json(status)
    else:
        click.echo(f"{status['state']} ({source})")
        for reason in status["reasons"]:
            click.echo(f"  {reason}")
        for key, value in status["readings"].items():
            if value is not None:
                click.echo(f"  {key:<20} {value:.3g}")
    raise SystemExit({"healthy": 0, "warning": 1, "critical": 2}[status["state"]])


commands = [health]
