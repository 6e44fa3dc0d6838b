"""Effects plugin_host adds to pedalboard's built-ins, where a mix needs one that pedalboard lacks.

pedalboard has no mid/side width control, yet "too narrow" and "make it wider"
are among the commonest mix moves, and every DAW has the tool (Ableton's
Utility Width, REAPER's JS Stereo Width). `StereoWidth` is that tool: a
stateless mid/side gain in numpy, so it streams with no latency.
"""

from __future__ import annotations

import numpy as np
import pedalboard


class StereoWidth:
    """Scale the side signal: 0 % folds to mono, 100 % leaves the audio as it is, 400 % is widest.

    With `crossover_hz` above 0 the side is split at that frequency (a 24 dB per octave
    high-pass, pedalboard's ladder filter, normalised to unity gain): `width_percent` applies
    above it and `low_width_percent` below, so a mix can be widened while its kick and bass
    stay centred, or its low end folded to mono while the top keeps its width.
    Channels beyond the first two pass through; mono audio is unchanged (it has no side to scale).
    """

    def __init__(self, width_percent: float = 100.0, crossover_hz: float = 0.0,
                 low_width_percent: float = 100.0) -> None:
        self.width_percent = float(width_percent)
        self.crossover_hz = float(crossover_hz)
        self.low_width_percent = float(low_width_percent)
        self._high_pass: pedalboard.LadderFilter | None = None
        self._gain = 1.0

    def _split(self, side: np.ndarray, sample_rate: float, reset: bool) -> np.ndarray:
        """The side above the crossover (the filter keeps its state from block to block)."""
        if self._high_pass is None:
            self._high_pass = pedalboard.LadderFilter(mode=pedalboard.LadderFilter.Mode.HPF24,
                                                      cutoff_hz=self.crossover_hz, resonance=0.0, drive=1.0)
            # The ladder model has a little gain in its pass band: measure it once on a 4 kHz tone.
            t = np.arange(int(sample_rate // 10)) / sample_rate
            probe = (0.1 * np.sin(2 * np.pi * 4000.0 * t)).astype(np.float32)[None, :]
            out = self._high_pass(probe, sample_rate, reset=True)[0, probe.shape[1] // 2:]
            self._gain = float(np.sqrt(np.mean(out**2)) / np.sqrt(np.mean(probe[0, probe.shape[1] // 2:] ** 2)))
            reset = True
        return self._high_pass(side[None, :], sample_rate, reset=reset)[0] / np.float32(self._gain)

    def __call__(self, x: np.ndarray, sample_rate: float, reset: bool = False) -> np.ndarray:
        split = self.crossover_hz > 0.0 and self.low_width_percent != self.width_percent
        if x.shape[0] < 2 or (self.width_percent == 100.0 and (not split or self.low_width_percent == 100.0)):
            return x
        mid = (x[0] + x[1]) * np.float32(0.5)
        side = (x[0] - x[1]) * np.float32(0.5)
        if split:
            high = self._split(np.ascontiguousarray(side), sample_rate, reset)
            low_k, high_k = self.low_width_percent / 100.0, self.width_percent / 100.0
            side = side * np.float32(low_k) + high * np.float32(high_k - low_k)
        else:
            side = side * np.float32(self.width_percent / 100.0)
        out = x.copy()
        out[0], out[1] = mid + side, mid - side
        return out

    def __repr__(self) -> str:
        return (f"<plugin_host.StereoWidth width_percent={self.width_percent:g} crossover_hz={self.crossover_hz:g} "
                f"low_width_percent={self.low_width_percent:g}>")


#: name -> (class, {param: (default, min, max, unit)}, one-line description)
EXTRAS: dict[str, tuple[type, dict[str, tuple[float, float, float, str]], str]] = {
    "StereoWidth": (StereoWidth, {"width_percent": (100.0, 0.0, 400.0, "%"), "crossover_hz": (0.0, 0.0, 1000.0, "Hz"),
                                  "low_width_percent": (100.0, 0.0, 400.0, "%")},
                    "Mid/side stereo width (plugin_host's own; no pedalboard object)."),
}
