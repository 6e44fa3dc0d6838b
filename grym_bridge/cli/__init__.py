"""The `grym` command line. Its help is the docs: every command says what it does.

Each command module exports `commands`, a list of click commands; add a module
to `COMMAND_MODULES` to register it. `grym` with no command runs `grym serve`.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from grym_bridge import __version__
from grym_bridge.cli.common import CliState
from grym_bridge.errors import GrymError

COMMAND_MODULES = (
    "serve",
    "config_cmd",
    "doctor",
    "analyze",
    "compose",
    "midi",
    "ask",
    "health",
    "memory",
    "fx",
    "generate",
    "models",
    "discover",
    "relay",
    "call",
    "install",
    "open_page",
)


class GrymGroup(click.Group):
    """Prints a GrymError as one line on stderr (exit 1; 2 for configuration errors), no traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GrymError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(2 if exc.code == "config" else 1)
        except BrokenPipeError:
            # The reader went away (`grym memory list | head -1`): stop quietly, and point stdout at
            # /dev/null so the interpreter's last flush does not complain either.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except OSError as exc:  # a file or folder the user named cannot be written or read: one line, not a traceback
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}; check that the folder exists and you may write there",
                       err=True)
            sys.exit(1)


@click.group(cls=GrymGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="grym")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Config file (TOML; also GRYM_CONFIG). Default: grym-bridge/config.toml in the platform config folder.")
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Where the store, renders and logs live (also GRYM_DATA_DIR); shared by the server and every command.")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, data_dir: str | None) -> None:
    """grym-bridge: AI music models and audio tools for your DAW, over OSC and MIDI.

    Run `grym serve` (or just `grym`) and point Ableton, REAPER or any OSC client at it.
    """
    ctx.obj = CliState(config_file, data_dir)
    if ctx.invoked_subcommand is None:
        ctx.invoke(cli.commands["serve"])


for _name in COMMAND_MODULES:
    for _command in importlib.import_module(f"grym_bridge.cli.{_name}").commands:
        cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="grym")
