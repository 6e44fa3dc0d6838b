"""The loudness meter grym gives plugin_host's renders: the analysis' own K-weighting, block by block.

plugin_host measures with pedalboard's filters because it may not use scipy;
grym may, and `scipy.signal.sosfilt` with carried state runs the same two
biquads in about two thirds of the time (bench/render.py). Using the
analysis' filter coefficients and channel weights also makes a render's
loudness figures agree with `grym analyze` to the last digit.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from grym_bridge.analysis.loudness import channel_weights, k_weighting_sos
from plugin_host import StreamingLoudness


class _KWeighting:
    """Stateful K-weighting of (channels, samples) float32 blocks."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sos = k_weighting_sos(sample_rate).astype(np.float32)
        self.zi = np.zeros((self.sos.shape[0], channels, 2), np.float32)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        out, self.zi = signal.sosfilt(self.sos, block, axis=-1, zi=self.zi)
        return out.astype(np.float32, copy=False)


def analysis_meter(sample_rate: float, channels: int) -> StreamingLoudness:
    """A `plugin_host.MeterFactory`: BS.1770 with the analysis' filters and channel weights."""
    return StreamingLoudness(sample_rate, channels, k_filter=_KWeighting(int(sample_rate), channels),
                             weights=channel_weights(channels))
