"""The README is the reference: every registered OSC address and every CLI command is in it."""

from __future__ import annotations

from pathlib import Path

import click

from grym_bridge.app import build_services
from grym_bridge.cli import cli
from grym_bridge.config import Config
from grym_bridge.api import build_router

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_osc_address_is_documented_in_the_readme(config: Config) -> None:
    router = build_router(build_services(config))
    missing = [address for address in router.routes if f"`{address}`" not in README]
    assert not missing, "add these addresses to the README's OSC tables: " + ", ".join(missing)


def _command_paths(group: click.Group, prefix: str = "grym") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, path))
    return paths


def test_every_cli_command_is_documented_in_the_readme() -> None:
    missing = [path for path in _command_paths(cli) if path not in README]
    assert not missing, "document these commands in the README: " + ", ".join(missing)
