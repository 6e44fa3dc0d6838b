"""`grym config show|path`: the effective configuration and where each value came from."""

from __future__ import annotations

import click

from grym_bridge.cli.common import pass_config
from grym_bridge.config import Config, default_config_file, env_name


@click.group("config")
def config_group() -> None:
    """Inspect the configuration (TOML file, GRYM_* variables, flags)."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: key -> {value, source}.")
@pass_config
def show(config: Config, as_json: bool) -> None:
    """Print every setting, its effective value and where it came from."""
    rows = config.items()
    if as_json:
        from grym_bridge.cli.common import echo_json

        echo_json({key: {"value": value, "source": source} for key, value, source, _ in rows})
        return
    click.echo(f"# config file: {config.file or f'{default_config_file()} (not present)'}")
    width = max(len(k) for k, *_ in rows)
    for key, value, source, help_text in rows:
        env = f"env {env_name(key)}"
        click.echo(f"{key:<{width}} = {value!s:<28} # {source}" + ("" if source == env else f"; {env}"))


@config_group.command("path")
@pass_config
def path(config: Config) -> None:
    """Print the config file in use (or where one would be read from)."""
    click.echo(str(config.file or default_config_file()))


commands = [config_group]
