"""Effects plugin_host adds to pedalboard's built-ins, where a mix needs one that pedalboard lacks.

pedalboard has no mid/side width control, yet "too narrow" and "make it wider"
are among the commonest mix moves, and every DAW has the tool (Ableton's
Utility Width, REAPER's JS Stereo Width). `StereoWidth` is that tool: a
stateless mid/side gain in numpy, so it streams with no latency.
"""

from __future__ import annotations

import numpy as np


class StereoWidth:
    """Scale the side signal: 0 % folds to mono, 100 % leaves the audio as it is, 400 % is widest.

    Channels beyond the first two pass through; mono audio is unchanged (it has no side to scale).
    """

    def __init__(self, width_percent: float = 100.0) -> None:
        self.width_percent = float(width_percent)

    def __call__(self, x: np.ndarray, sample_rate: float, reset: bool = False) -> np.ndarray:
        if x.shape[0] < 2 or self.width_percent == 100.0:
            return x
        mid = (x[0] + x[1]) * np.float32(0.5)
        side = (x[0] - x[1]) * np.float32(0.5 * self.width_percent / 100.0)
        out = x.copy()
        out[0], out[1] = mid + side, mid - side
        return out

    def __repr__(self) -> str:
        return f"<plugin_host.StereoWidth width_percent={self.width_percent:g}>"


#: name -> (class, {param: (default, min, max, unit)}, one-line description)
EXTRAS: dict[str, tuple[type, dict[str, tuple[float, float, float, str]], str]] = {
    "StereoWidth": (StereoWidth, {"width_percent": (100.0, 0.0, 400.0, "%")},
                    "Mid/side stereo width (plugin_host's own; no pedalboard object)."),
}
