"""`grym install`: put a DAW frontend where the DAW finds it (one subcommand per DAW, one module each)."""

from __future__ import annotations

import click

from grym_bridge.cli.install_live import live


@click.group()
def install() -> None:
    """Install a DAW frontend: the Max for Live device (`live`)."""


install.add_command(live)

commands = [install]
