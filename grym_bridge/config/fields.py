"""The pieces every config section is built from: `setting`, `section`, and the default locations."""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "grym-bridge"
ENV_PREFIX = "GRYM_"


def setting(default: Any, help: str, **limits: Any) -> Any:
    """A config field with help text and optional `min`, `max` or `choices`."""
    meta = {"help": help, **limits}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def section(cls: type) -> Any:
    """A config field holding one TOML table."""
    return field(default_factory=cls, metadata={"section": True})


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"
