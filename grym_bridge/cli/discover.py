"""`grym discover`: list the bridges zeroconf finds on the network."""

from __future__ import annotations

import click

from grym_bridge.cli.common import echo_json


@click.command()
@click.option("--timeout", type=click.FloatRange(0.1, 60.0), default=3.0, show_default=True,
              help="Seconds to listen for bridges.")
@click.option("--interface", metavar="ADDR", default=None,
              help="Listen only on the interface with this IPv4 address (default: every interface).")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, one object per bridge.")
def discover(timeout: float, interface: str | None, as_json: bool) -> None:
    """List the grym bridges on the network: host, addresses, ports, version, health, models.

    Bridges advertise themselves when they serve beyond 127.0.0.1 (or with `grym serve --advertise`).
    `grym relay --to NAME` connects to one of them by the name shown here.
    """
    from grym_bridge.transports.discovery import discover as browse

    bridges = browse(timeout, interface)
    if as_json:
        echo_json(bridges)
        return
    if not bridges:
        click.echo(f"no bridges found in {timeout:g} s" + (f" on {interface}" if interface else "") +
                   "; is `grym serve --host 0.0.0.0` (or `--advertise`) running?")
        return
    for b in bridges:
        ports = f"osc {b.osc_port}  rpc {b.rpc_port}" + (f"  oscquery {b.oscquery_port}" if b.oscquery_port else "")
        click.echo(f"{b.name}\n  host {b.host}  addresses {', '.join(b.addresses) or '-'}\n  {ports}\n"
                   f"  version {b.version} (protocol {b.protocol})  health {b.health}  queue {b.queue_depth}"
                   f"  token {'required' if b.token_required else 'not required'}\n"
                   f"  ready: {', '.join(b.models) or '-'}")


commands = [discover]
