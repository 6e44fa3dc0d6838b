"""The results of the fx capability: reasons, suggestions, loudness targets. All JSON-able dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reason:
    """Why a move is suggested, with the measurement behind it.

    `problem` is a stable code a client can switch on (rumble, mud, harsh, dull, too_quiet, ...);
    `plugins` are the indices in the chain that carry the move (empty for advice only).
    """

    problem: str
    message: str
    measured: float | None = None
    target: float | None = None
    unit: str = ""
    band_hz: list[float] | None = None
    plugins: list[int] = field(default_factory=list)


@dataclass
class LoudnessTarget:
    """A destination's integrated loudness and the true-peak ceiling a chain must respect."""

    name: str
    lufs: float
    ceiling_dbtp: float


@dataclass
class Suggestion:
    """A chain (plugin_host chain-spec entries) and the reasons for each move."""

    chain: list[dict[str, Any]]
    reasons: list[Reason]
    source: str | None = None
    target: LoudnessTarget | None = None
    style: str | None = None
    reference: str | None = None
    #: what was measured on the clip (LUFS, true peak, LRA, width, band deviations)
    measured: dict[str, Any] = field(default_factory=dict)
    #: what the chain was verified to produce on the clip itself (same measurements)
    predicted: dict[str, Any] = field(default_factory=dict)
    #: each promise checked on the clip: {name, measure, before, after, required, passed, unit}
    checks: list[dict[str, Any]] = field(default_factory=list)

    def chain_spec(self) -> dict[str, Any]:
        """The chain as plugin_host takes it (`grym render --chain` reads this from the JSON too)."""
        return {"chain": self.chain, "mix": 1.0}
