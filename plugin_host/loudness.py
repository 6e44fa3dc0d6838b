"""Integrated loudness (ITU-R BS.1770-4 / EBU R128) measured block by block while a file streams.

A render never holds the whole file, so the loudness of its input and output
is measured as the blocks pass: the K-weighting filter keeps its state across
blocks and only the mean square of each 100 ms step is kept (1,800 numbers per
channel for 3 minutes); the gating runs at the end.

The K-weighting is built from pedalboard's filters, because plugin_host may
not use scipy: BS.1770's first stage is an RBJ high shelf (1681.97 Hz,
+4.0 dB, Q 0.7072), and its second stage, a 38.14 Hz high-pass with Q 0.5, is
exactly two identical first-order high-passes (Q 0.5 means two coincident
real poles). tests/plugin_host checks it against pyloudnorm.
"""

from __future__ import annotations

import math
from typing import Callable, Protocol

import numpy as np
import pedalboard

_SHELF = (1681.974450955533, 3.999843853973347, 0.7071752369554196)
_HIGHPASS_HZ = 38.13547087602444
_ABSOLUTE_GATE = -70.0
_RELATIVE_GATE = -10.0
# Channel weights of BS.1770 for 5.0/5.1 layouts (L, R, C, LFE, Ls, Rs); LFE is not measured.
_WEIGHTS_51 = (1.0, 1.0, 1.0, 0.0, 1.41, 1.41)


class LoudnessMeter(Protocol):
    """What a render needs from a meter: feed blocks, then ask for the integrated loudness."""

    def add(self, block: np.ndarray) -> None: ...

    def integrated_lufs(self) -> float: ...


#: A factory of meters, `(sample_rate, channels) -> LoudnessMeter`; a render takes one to measure with.
MeterFactory = Callable[[float, int], LoudnessMeter]


class StreamingLoudness:
    """BS.1770-4 gated integrated loudness over blocks of shape (channels, samples)."""

    def __init__(self, sample_rate: float, channels: int, *,
                 k_filter: Callable[[np.ndarray], np.ndarray] | None = None,
                 weights: np.ndarray | None = None) -> None:
        """`k_filter` (stateful, block in, K-weighted block out) and channel `weights` may be injected
        by a host with a faster filter; by default pedalboard's filters do the K-weighting."""
        self.sample_rate = float(sample_rate)
        self.channels = channels
        if k_filter is None:
            board = pedalboard.Pedalboard([pedalboard.HighShelfFilter(*_SHELF), pedalboard.HighpassFilter(_HIGHPASS_HZ),
                                           pedalboard.HighpassFilter(_HIGHPASS_HZ)])
            k_filter = lambda x: board(x, self.sample_rate, reset=False)  # noqa: E731
        self._filter = k_filter
        self._step = max(1, int(round(self.sample_rate * 0.1)))
        self._pending = np.zeros((channels, 0), dtype=np.float32)
        self._steps: list[np.ndarray] = []  # per 100 ms step: mean square per channel
        if weights is not None:
            self._weights = np.asarray(weights, dtype=np.float64)
        elif channels in (5, 6):
            self._weights = np.array(_WEIGHTS_51[:3] + _WEIGHTS_51[4:] if channels == 5 else _WEIGHTS_51)
        else:
            self._weights = np.ones(channels)

    def add(self, block: np.ndarray) -> None:
        """Feed the next block; any length, the filter state carries over."""
        if block.shape[1] == 0:
            return
        weighted = self._filter(np.ascontiguousarray(block, dtype=np.float32))
        data = np.concatenate([self._pending, weighted], axis=1) if self._pending.shape[1] else weighted
        whole = data.shape[1] // self._step * self._step
        if whole:
            steps = data[:, :whole].reshape(self.channels, -1, self._step)
            # float32 sums of 4,410 squares are exact to ~1e-4 dB; einsum avoids a float64 copy
            energy = np.einsum("csn,csn->cs", steps, steps).astype(np.float64)
            self._steps.append(energy / self._step)
        self._pending = data[:, whole:]

    def integrated_lufs(self) -> float:
        """The gated integrated loudness so far, in LUFS; -inf for silence or less than 400 ms."""
        if not self._steps:
            return -math.inf
        steps = np.concatenate(self._steps, axis=1)  # (channels, n_steps)
        if steps.shape[1] < 4:
            return -math.inf
        # 400 ms blocks with 75 % overlap = 4 consecutive 100 ms steps.
        cumulative = np.cumsum(np.pad(steps, ((0, 0), (1, 0))), axis=1)
        blocks = (cumulative[:, 4:] - cumulative[:, :-4]) / 4.0
        power = (self._weights[:, None] * blocks).sum(axis=0)
        with np.errstate(divide="ignore"):
            loudness = -0.691 + 10 * np.log10(power)
        above = power[loudness > _ABSOLUTE_GATE]
        if above.size == 0:
            return -math.inf
        relative = -0.691 + 10 * math.log10(above.mean()) + _RELATIVE_GATE
        gated = power[(loudness > _ABSOLUTE_GATE) & (loudness > relative)]
        return -0.691 + 10 * math.log10(gated.mean()) if gated.size else -math.inf


def integrated_lufs(samples: np.ndarray, sample_rate: float) -> float:
    """Integrated loudness of a whole (channels, samples) array in LUFS (convenience over the meter)."""
    meter = StreamingLoudness(sample_rate, samples.shape[0])
    meter.add(samples)
    return meter.integrated_lufs()
