"""What every CLI command shares: the effective config, and errors printed plainly."""

from __future__ import annotations

import functools
from typing import Any, Callable

import click

from grym_bridge.config import Config, load_config


class CliState:
    """Holds the global flags until a command asks for the config (loaded once)."""

    def __init__(self, config_file: str | None, data_dir: str | None) -> None:
        self.config_file = config_file
        self.data_dir = data_dir
        self._config: Config | None = None
        self.overrides: dict[str, Any] = {}

    def config(self, **overrides: Any) -> Config:
        if self._config is None or overrides:
            merged = {"data_dir": self.data_dir, **self.overrides, **overrides}
            self._config = load_config(self.config_file, merged)
        return self._config


def pass_config(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command the effective `Config` as its first argument."""

    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        state = ctx.find_object(CliState)
        if state is None:  # invoked outside the `grym` group (tests calling a command directly)
            state = CliState(None, None)
        return ctx.invoke(fn, state.config(), *args, **kwargs)

    return wrapper


def echo_json(obj: Any) -> None:
    """Print one JSON document (dataclasses and numpy values welcome)."""
    from grym_bridge.results import dumps

    click.echo(dumps(obj))
