"""Replaying the UNet's denoising step as a CUDA graph: the step stops paying for a thousand kernel launches.

At AudioLDM's sizes one UNet step is about a thousand small kernels; on an
H100 launching them from Python takes several times longer than running them
(`bench/generate.py`'s profile: 66 ms of GPU work under 790 ms of CPU for four
AudioLDM 2 steps). A CUDA graph records the kernels of one call once and
replays them with a single launch.

`install(unet)` replaces the UNet's `forward` on that instance (its config,
dtype and device stay as they are, so the diffusers pipeline sees the same
module). Each distinct call signature (tensor shapes and dtypes, the other
arguments) is captured once, after two eager warm-up calls on a side stream;
later calls copy their tensors into the captured inputs and replay. Graphs
share one memory pool (calls never overlap: one generation at a time per
pipeline). Anything the capture cannot handle falls back to the eager
forward for good, with a log line. Only for pipelines fully on one CUDA
device: offloading hooks move weights during the call, which a graph cannot.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any, Callable

log = logging.getLogger(__name__)

#: Captured signatures kept per UNet (each holds its own inputs; memory comes from the shared pool).
MAX_GRAPHS = 8
_WARMUP_CALLS = 2


class GraphedForward:
    """A drop-in `forward` that captures and replays CUDA graphs per call signature."""

    def __init__(self, eager: Callable[..., Any]) -> None:
        self.eager = eager
        self.graphs: OrderedDict[tuple, tuple[Any, dict[str, Any], Any]] = OrderedDict()
        self.pool: Any = None  # made at the first capture: a CPU-only machine never needs one
        self.disabled = False
        self.captures = 0
        self._lock = threading.Lock()

    @staticmethod
    def _signature(arguments: dict[str, Any]) -> tuple | None:
        import torch

        key = []
        for name, value in arguments.items():
            if isinstance(value, torch.Tensor):
                if not value.is_cuda:
                    return None
                key.append((name, tuple(value.shape), value.dtype))
            elif value is None or isinstance(value, (bool, int, float, str)):
                key.append((name, value))
            else:
                return None  # dicts of attention kwargs and the like: not worth graphing
        return tuple(key)

    def __call__(self, sample: Any, timestep: Any, *args: Any, **kwargs: Any) -> Any:
        if self.disabled or args:
            return self.eager(sample, timestep, *args, **kwargs)
        arguments = {"sample": sample, "timestep": timestep, **kwargs}
        key = self._signature(arguments)
        if key is None:
            return self.eager(sample, timestep, **kwargs)
        with self._lock:
            entry = self.graphs.get(key)
            if entry is None:
                entry = self._capture(key, arguments)
                if entry is None:
                    return self.eager(sample, timestep, **kwargs)
            self.graphs.move_to_end(key)
            graph, static, output = entry
            for name, value in arguments.items():
                if name in static:
                    static[name].copy_(value)
            graph.replay()
            return _clone_output(output)

    def _capture(self, key: tuple, arguments: dict[str, Any]) -> tuple[Any, dict[str, Any], Any] | None:
        import torch

        static = {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in arguments.items()}
        tensors = {k: v for k, v in static.items() if isinstance(v, torch.Tensor)}
        try:
            if self.pool is None:
                self.pool = torch.cuda.graph_pool_handle()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream), torch.no_grad():
                for _ in range(_WARMUP_CALLS):
                    self.eager(**static)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            # thread_local: CUDA work of other threads (another model in another job) does not spoil the capture.
            with torch.no_grad(), torch.cuda.graph(graph, pool=self.pool, capture_error_mode="thread_local"):
                output = self.eager(**static)
        except Exception as exc:  # an op the capture cannot record: stay eager from now on
            log.warning("CUDA graph capture of the UNet failed (%s: %s); running it eagerly",
                        exc.__class__.__name__, exc)
            self.disabled = True
            return None
        self.captures += 1
        entry = (graph, tensors, output)
        self.graphs[key] = entry
        while len(self.graphs) > MAX_GRAPHS:
            self.graphs.popitem(last=False)
        return entry


def _clone_output(output: Any) -> Any:
    """A copy of the captured output (the next replay overwrites the graph's own tensors)."""
    if isinstance(output, tuple):
        return tuple(o.clone() if hasattr(o, "clone") else o for o in output)
    if hasattr(output, "sample"):
        return type(output)(sample=output.sample.clone())
    return output.clone()


def install(unet: Any) -> GraphedForward:
    """Make `unet` replay CUDA graphs; returns the graphed forward (undo with `uninstall`)."""
    current = unet.__dict__.get("forward")
    if isinstance(current, GraphedForward):
        return current
    graphed = GraphedForward(unet.forward)
    unet.forward = graphed
    return graphed


def uninstall(unet: Any) -> None:
    """Back to the eager forward (before offloading: hooks and graphs do not mix)."""
    if isinstance(unet.__dict__.get("forward"), GraphedForward):
        del unet.forward
