"""`grym relay`: the laptop's local OSC endpoint that forwards to a bridge on another machine."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import click

from grym_bridge.cli.common import pass_config
from grym_bridge.config import Config


@click.command()
@click.option("--to", "to", metavar="NAME_OR_HOST", default=None,
              help="The bridge to use: its zeroconf name or address (see `grym discover`), or HOST:RPC_PORT "
                   "to skip discovery (several, comma-separated: jobs are spread over them). Default: the "
                   "healthiest bridge with the shortest queue, each job to the least busy one.")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Local UDP port the DAW sends to [default: server.osc_port, 9130].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Local address to listen on (keep 127.0.0.1: the relay uploads files this machine names).")
@click.option("--interface", metavar="ADDR", default=None,
              help="Discover bridges only on the interface with this IPv4 address.")
@click.option("--token", default=None, help="The studio token `grym serve` printed (also network.token, GRYM_NETWORK_TOKEN).")
@click.option("--dir", "folder", type=click.Path(file_okay=False), default=None,
              help="Where downloaded results go [default: network.relay_dir, else <data dir>/relay].")
@pass_config
def relay(config: Config, to: str | None, port: int | None, host: str, interface: str | None, token: str | None,
          folder: str | None) -> None:
    """Let the DAW on this machine use a bridge on another machine, unchanged.

    Point Ableton or REAPER at this machine's port as if the bridge ran here. Files the requests name
    are uploaded to the bridge; files its replies name (renders, generated clips) are downloaded into
    the relay folder and the replies point at the local copies. Runs until Ctrl-C.
    """
    from grym_bridge.paths import PathPolicy
    from grym_bridge.transports.auth import load_token
    from grym_bridge.transports.relay import Relay

    if token is not None:
        config.network.token = token
    download_dir = Path(folder or config.network.relay_dir or config.data_dir / "relay").expanduser()
    service = Relay(host=host, port=config.server.osc_port if port is None else port,
                    paths=PathPolicy.from_config(config), download_dir=download_dir,
                    token=load_token(config, create=False), to=to, interface=interface)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await service.start()
        target = f"bridge {to}" if to else "the best bridge zeroconf finds"
        click.echo(f"grym relay: udp://{host}:{service.port} -> {target}; downloads in {download_dir}")
        click.echo("Ready. Press Ctrl-C to stop.")
        sys.stdout.flush()
        try:
            await stop.wait()
        finally:
            await service.close()

    try:
        asyncio.run(run())
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{service.port}: {exc.strerror or exc}; "
                                   "pick another port with --port") from None


commands = [relay]
