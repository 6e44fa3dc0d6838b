"""Loudness targets by destination, from the `[fx]` config section."""

from __future__ import annotations

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest
from grym_bridge.fx.types import LoudnessTarget

DESTINATIONS = ("streaming", "club", "broadcast", "podcast")


def loudness_target(config: Config, name: str | None) -> LoudnessTarget | None:
    """The target called `name` (`None`: the configured default; "none": no loudness move).

    A number (e.g. "-16") is taken as a custom LUFS target.
    """
    fx = config.fx
    name = (name or fx.default_target).strip().lower()
    if name == "none":
        return None
    if name in DESTINATIONS:
        return LoudnessTarget(name, float(getattr(fx, f"{name}_lufs")), fx.true_peak_ceiling_dbtp)
    try:
        lufs = float(name)
    except ValueError:
        raise BadRequest(f"unknown loudness target {name!r}: use one of {', '.join(DESTINATIONS)}, none, "
                         "or a number of LUFS such as -16") from None
    if not -40.0 <= lufs <= 0.0:
        raise BadRequest(f"loudness target {lufs:g} LUFS is outside -40..0 LUFS")
    return LoudnessTarget(f"{lufs:g} LUFS", lufs, fx.true_peak_ceiling_dbtp)
