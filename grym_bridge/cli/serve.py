"""`grym serve`: run the bridge until Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time

import click

from grym_bridge import __version__
from grym_bridge.cli.common import CliState

STATE_MARK = {"ready": "ready", "needs_weights": "waits for model weights", "unavailable": "unavailable",
              "off": "off"}


def banner(services: "object") -> str:
    """The lines `grym serve` prints once it answers requests."""
    from grym_bridge.app import describe

    info = describe(services)  # type: ignore[arg-type]
    ep = info["endpoints"]
    lines = [
        f"grym-bridge {__version__} (protocol {info['protocol']})",
        f"  OSC   udp://{ep['host']}:{ep['osc_udp']}  and  tcp://{ep['host']}:{ep['osc_tcp']} (SLIP, OSC 1.1)",
        f"  data  {info['data_dir']}",
    ]
    for cap in info["capabilities"]:
        detail = f" ({cap['detail']})" if cap["detail"] and cap["state"] != "ready" else ""
        lines.append(f"  {cap['name']:<12} {STATE_MARK.get(cap['state'], cap['state'])}{detail}")
    if ep["host"] not in ("127.0.0.1", "localhost", "::1"):
        lines.append(f"  note: serving on {ep['host']}: other machines on the network can reach this bridge")
    if "web" in ep:
        lines.append(f"  Web   {ep['web']}  (grym open)")
    if getattr(services, "network", None) is not None:
        lines.extend(services.network.banner_lines())  # type: ignore[attr-defined]
    lines.append("Ready. Press Ctrl-C to stop.")
    return "\n".join(lines)


@click.command()
@click.option("--host", default=None,
              help="Address to listen on [default: 127.0.0.1]. 127.0.0.1 keeps the bridge private to this "
                   "machine, which is all a DAW on the same computer needs. 0.0.0.0 listens on every network "
                   "interface, so any machine that can reach this one can send it requests.")
@click.option("--osc-port", type=int, default=None, help="OSC port for UDP and TCP [default: 9130].")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Where the store, renders and logs live (also GRYM_DATA_DIR).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Config file (TOML; also GRYM_CONFIG).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default=None,
              help="How much to log on stderr [default: info].")
@click.option("--advertise", is_flag=True, default=None,
              help="Announce the bridge with zeroconf even on 127.0.0.1 (always on when serving beyond "
                   "loopback, unless network.advertise is off). Other tools and `grym discover` find it.")
@click.pass_context
def serve(ctx: click.Context, host: str | None, osc_port: int | None, data_dir: str | None,
          config_file: str | None, log_level: str | None, advertise: bool | None) -> None:
    """Start the bridge: OSC over UDP and TCP, the job queue, every capability.

    Runs until Ctrl-C or SIGTERM; running jobs are then cancelled and their clients told.
    """
    from grym_bridge.app import serve as run

    state = ctx.find_object(CliState) or CliState(None, None)
    if config_file:
        state.config_file = config_file
    if data_dir:
        state.data_dir = data_dir
    config = state.config(**{"server.host": host, "server.osc_port": osc_port, "log_level": log_level,
                             "network.advertise": "on" if advertise else None})
    logging.basicConfig(level=config.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def ready(services: object) -> None:
        click.echo(banner(services))
        sys.stdout.flush()

    def stopped(job_ids: list[int]) -> None:
        note = f" (cancelled {len(job_ids)} running job(s): {', '.join(map(str, job_ids))})" if job_ids else ""
        click.echo(f"Stopped{note}.")

    try:
        asyncio.run(run(config, on_ready=ready, on_stopped=stopped))
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {config.server.host}:{config.server.osc_port}: {exc.strerror or exc}. "
            "Is another grym serve running? Pick another port with --osc-port.") from None
    exit_past_stuck_workers()


#: How long a stopping server waits for worker threads to reach a cancellation point.
WORKER_GRACE_S = 2.0


def exit_past_stuck_workers(grace_s: float = WORKER_GRACE_S) -> None:
    """End the process even when a worker thread is stuck (a blocking read, a plugin that never returns).

    Python joins worker threads at exit, so one thread that never checks its cancel flag would keep a
    stopped server alive forever. Every job was already cancelled and reported; after `grace_s` the
    process leaves without waiting for the rest.
    """
    deadline = time.monotonic() + grace_s
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon
             and t.is_alive()]
    if stuck:
        logging.getLogger(__name__).warning("%d worker thread(s) did not stop in %.0f s (%s); exiting anyway",
                                            len(stuck), grace_s, ", ".join(stuck))
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


commands = [serve]
