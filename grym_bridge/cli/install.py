"""`grym install`: put a DAW frontend where the DAW finds it. One module per DAW adds its subcommand."""

from __future__ import annotations

import click

from grym_bridge.cli.install_reaper import reaper


@click.group()
def install() -> None:
    """Install a DAW frontend: `grym install reaper` copies the ReaScripts and registers their actions."""


install.add_command(reaper)

commands = [install]
