"""Errors of the plugin host.

`plugin_host` depends only on numpy, soundfile and pedalboard, so it has its own
small error family; `grym_bridge.fx` maps them onto grym's `GrymError` codes.
Every message says what was wrong and lists what would have been valid.
"""

from __future__ import annotations

import difflib
from typing import Iterable


class PluginHostError(Exception):
    """Base class of every error the plugin host raises on purpose."""


class ChainError(PluginHostError, ValueError):
    """A chain spec is wrong: unknown plugin or parameter, a value out of range, NaN, bad JSON."""


class PluginLoadError(PluginHostError):
    """A plugin file (VST3) is missing or cannot be loaded."""


class AudioError(PluginHostError):
    """An audio file cannot be read or written: unreadable, empty, NaN or infinite samples."""


class OutputError(AudioError):
    """A render's output cannot be written there: it exists (and overwriting was not asked), it is not a
    regular file, its folder is missing, or it is the source itself."""


def suggest(name: str, valid: Iterable[str]) -> str:
    """' Did you mean X?' when `name` is close to one of `valid`, else an empty string."""
    close = difflib.get_close_matches(name, list(valid), n=2, cutoff=0.6)
    if not close:
        lowered = {v.lower(): v for v in valid}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
