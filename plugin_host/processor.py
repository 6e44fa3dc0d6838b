"""A chain ready to process audio in order, block after block, with dry/wet mixed in step.

Consecutive fully-wet plugins share one pedalboard call. A plugin with a
dry/wet below 1 gets its own stage, which mixes the dry signal aligned with
the plugin's output: pedalboard holds back a plugin's latency when processing
in blocks, so output sample k always pairs with input sample k, and the dry
path waits for it. (pedalboard's own Mix misaligns its branches in blocks.)
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pedalboard

from plugin_host.chain import ChainSpec, make_plugin, parse_chain
from plugin_host.errors import ChainError, PluginHostError


class _Stage:
    """A processing step with dry/wet: `fn` is a plugin board or a nested pipeline."""

    def __init__(self, fn: Callable[[np.ndarray, float], np.ndarray], mix: float) -> None:
        self.fn, self.mix = fn, mix
        self._dry: np.ndarray | None = None

    def __call__(self, block: np.ndarray, sample_rate: float) -> np.ndarray:
        wet = self.fn(block, sample_rate)
        if self.mix >= 1.0:
            return wet
        dry = block if self._dry is None or self._dry.shape[1] == 0 else np.concatenate([self._dry, block], axis=1)
        n = wet.shape[1]
        self._dry = dry[:, n:]
        return wet * np.float32(self.mix) + dry[:, :n] * np.float32(1.0 - self.mix)


class Processor:
    """A chain ready to process blocks in order: `processor(block)` returns the matching output."""

    def __init__(self, chain: Any, sample_rate: float) -> None:
        # A parsed ChainSpec is used as it is: make_plugin checks what depends on the sample rate.
        self.spec: ChainSpec = chain if isinstance(chain, ChainSpec) else parse_chain(chain, sample_rate)
        self.sample_rate = float(sample_rate)
        stages: list[_Stage] = []
        run: list[pedalboard.Plugin] = []  # consecutive fully-wet plugins share one Pedalboard call

        def flush() -> None:
            if run:
                board = pedalboard.Pedalboard(list(run))
                stages.append(_Stage(lambda x, sr, b=board: b(x, sr, reset=False), 1.0))
                run.clear()

        for i, p in enumerate(self.spec.plugins):
            plugin = make_plugin(p, sample_rate, i)
            if p.mix >= 1.0 and isinstance(plugin, pedalboard.Plugin):
                run.append(plugin)
                continue
            flush()
            board = pedalboard.Pedalboard([plugin]) if isinstance(plugin, pedalboard.Plugin) else plugin
            stages.append(_Stage(lambda x, sr, b=board: b(x, sr, reset=False), p.mix))
        flush()

        def pipeline(x: np.ndarray, sr: float) -> np.ndarray:
            for stage in stages:
                x = stage(x, sr)
            return x

        self._run = _Stage(pipeline, self.spec.mix) if self.spec.mix < 1.0 else pipeline

    def __call__(self, block: np.ndarray) -> np.ndarray:
        try:
            return self._run(block, self.sample_rate)
        except PluginHostError:
            raise
        except (ValueError, RuntimeError) as exc:
            raise ChainError(f"the chain failed on this audio ({block.shape[0]} channels): {exc}") from None


def process_array(chain: Any, samples: np.ndarray, sample_rate: float) -> np.ndarray:
    """Process a whole (channels, samples) array; same length out, latency compensated, no tail."""
    processor = Processor(chain, sample_rate)
    x = np.ascontiguousarray(samples, dtype=np.float32)
    parts = [processor(x)]
    got = parts[0].shape[1]
    while got < x.shape[1]:  # flush the latency pedalboard held back
        part = processor(np.zeros((x.shape[0], min(8192, x.shape[1] - got + 4096)), np.float32))
        parts.append(part)
        got += part.shape[1]
    return np.concatenate(parts, axis=1)[:, : x.shape[1]]
