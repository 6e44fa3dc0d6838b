"""The analyzer the memory calls to (re)compute features: the analysis capability, when installed.

Kept behind a tiny seam so the store can refresh stale features (those written
by another analyzer version) without importing the analysis code at start.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grym_bridge.config import Config


@dataclass(frozen=True)
class Analyzer:
    """A version string and a function from an audio path to an analysis result."""

    version: str
    analyze: Callable[[Path], Any]


def default_analyzer(config: Config) -> Analyzer | None:
    """`grym_bridge.analysis.analyze_file` and its `ANALYZER_VERSION`, or None while it is absent."""
    try:
        module = importlib.import_module("grym_bridge.analysis")
    except ImportError:
        return None
    analyze_file = getattr(module, "analyze_file", None)
    version = getattr(module, "ANALYZER_VERSION", None)
    if analyze_file is None or version is None:
        return None
    return Analyzer(str(version), lambda path: analyze_file(path, config))
