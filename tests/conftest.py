"""Shared fixtures: a private config per test, and the rule for missing system tools.

Under `CI=true` a test that needs a missing tool or module fails instead of
skipping: `.ci/run` installs everything the suite needs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from grym_bridge.config import Config, load_config

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    """Skip (locally) or fail (under CI=true) when `what` is not available."""
    if available:
        return
    message = f"{what} is not available; `.ci/run` installs it"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """The path of command-line tool `name`, or skip/fail as `require` does."""
    path = shutil.which(name)
    require(path is not None, f"the command '{name}'")
    return path  # type: ignore[return-value]


def require_module(name: str) -> None:
    require(importlib.util.find_spec(name) is not None, f"the Python module '{name}'")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A config whose data directory and allowed root are this test's own temporary folder."""
    return load_config(
        None,
        {"data_dir": str(tmp_path / "data"), "paths.allowed_roots": [str(tmp_path)]},
        environ={},
    )
