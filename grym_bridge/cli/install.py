"""`grym install`: put a DAW frontend where the DAW finds it. One module per DAW adds its subcommand."""

from __future__ import annotations

import click

from grym_bridge.cli.install_live import live
from grym_bridge.cli.install_reaper import reaper


@click.group()
def install() -> None:
    """Install a DAW frontend: the Max for Live device (`live`) or the REAPER actions (`reaper`)."""


install.add_command(live)
install.add_command(reaper)

commands = [install]
