"""Replaying a model call as a CUDA graph: the call stops paying for a thousand kernel launches.

At AudioLDM's sizes one UNet step is about a thousand small kernels; on an
H100 launching them from Python takes several times longer than running them
(`bench/generate.py`'s profile: 66 ms of GPU work under 790 ms of CPU for four
AudioLDM 2 steps). The VAE decoder, the vocoder and the CLAP text encoder
are the same story on a smaller scale. A CUDA graph records the kernels of
one call once and replays them with a single launch.

`install(module)` replaces the module's `forward` on that instance, and
`install_method(obj, "decode")` any other method (its config, dtype and device
stay as they are, so the diffusers pipeline sees the same module). The
arguments are flattened as a pytree (tensors inside tuples, dicts and model
outputs are found); each distinct call signature (the tree's structure,
tensor shapes and dtypes, the other values) is captured once, after eager
warm-up calls on a side stream; later calls copy their tensors into the
captured inputs and replay. Graphs share one memory pool (calls never overlap:
one generation at a time per pipeline). A call whose arguments hold anything
else (a key/value cache object, a CPU tensor) runs eagerly; a capture that
fails (an op that syncs with the host) falls back to the eager call for good,
with a log line. Only for pipelines fully on one CUDA device: offloading hooks
move weights during the call, which a graph cannot.

`eager` may itself be a `torch.compile`d function (`grym_bridge.models.compiled`):
the graph then records the compiled kernels.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any, Callable

log = logging.getLogger(__name__)

#: Captured signatures kept per wrapped call (each holds its own inputs; memory comes from the shared pool).
MAX_GRAPHS = 8
_WARMUP_CALLS = 2
_SCALARS = (bool, int, float, str, type(None))


class GraphedCallable:
    """A drop-in callable that captures and replays CUDA graphs per call signature."""

    def __init__(self, eager: Callable[..., Any], name: str = "call", pool: Any = None,
                 warmup: int = _WARMUP_CALLS) -> None:
        self.eager = eager
        self.name = name
        self.warmup = warmup
        self.original: Callable[..., Any] = eager  # what `uninstall_method` puts back
        self.was_instance_attribute = False
        self.graphs: OrderedDict[tuple, tuple[Any, list[Any], Any]] = OrderedDict()
        self.pool: Any = pool  # made at the first capture: a CPU-only machine never needs one
        self.disabled = False
        self.captures = 0
        self._lock = threading.Lock()

    @staticmethod
    def _signature(leaves: list[Any], spec: Any) -> tuple | None:
        import torch

        key: list[Any] = [spec]
        for value in leaves:
            if isinstance(value, torch.Tensor):
                if not value.is_cuda:
                    return None
                key.append((tuple(value.shape), value.dtype, value.stride()))
            elif isinstance(value, _SCALARS):
                key.append(value)
            else:
                return None  # cache objects, modules and the like: not worth graphing
        return tuple(key)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.disabled:
            return self.eager(*args, **kwargs)
        from torch.utils import _pytree as pytree

        leaves, spec = pytree.tree_flatten((args, kwargs))
        key = self._signature(leaves, spec)
        if key is None:
            return self.eager(*args, **kwargs)
        with self._lock:
            entry = self.graphs.get(key)
            if entry is None:
                entry = self._capture(key, leaves, spec)
                if entry is None:
                    return self.eager(*args, **kwargs)
            self.graphs.move_to_end(key)
            graph, static, output = entry
            for target, value in zip(static, leaves):
                if target is not None:
                    target.copy_(value)
            graph.replay()
            return clone_tree(output)

    def _capture(self, key: tuple, leaves: list[Any], spec: Any) -> tuple[Any, list[Any], Any] | None:
        import torch
        from torch.utils import _pytree as pytree

        static_leaves = [v.clone() if isinstance(v, torch.Tensor) else v for v in leaves]
        args, kwargs = pytree.tree_unflatten(static_leaves, spec)
        try:
            if self.pool is None:
                self.pool = torch.cuda.graph_pool_handle()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream), torch.no_grad():
                for _ in range(self.warmup):
                    self.eager(*args, **kwargs)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            # thread_local: CUDA work of other threads (another model in another job) does not spoil the capture.
            with torch.no_grad(), torch.cuda.graph(graph, pool=self.pool, capture_error_mode="thread_local"):
                output = self.eager(*args, **kwargs)
        except Exception as exc:  # an op the capture cannot record: stay eager from now on
            log.warning("CUDA graph capture of the %s failed (%s: %s); running it eagerly",
                        self.name, exc.__class__.__name__, exc)
            self.disabled = True
            return None
        self.captures += 1
        inputs = [v if isinstance(v, torch.Tensor) else None for v in static_leaves]
        entry = (graph, inputs, output)
        self.graphs[key] = entry
        while len(self.graphs) > MAX_GRAPHS:
            self.graphs.popitem(last=False)
        return entry


#: The name the UNet's wrapper had before other modules were graphed; kept for callers and tests.
GraphedForward = GraphedCallable


def clone_tree(output: Any) -> Any:
    """A copy of a captured output's tensors (the next replay overwrites the graph's own tensors)."""
    import torch
    from torch.utils import _pytree as pytree

    return pytree.tree_map(lambda v: v.clone() if isinstance(v, torch.Tensor) else v, output)


def install_method(obj: Any, name: str, label: str | None = None, pool: Any = None,
                   wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
                   warmup: int = _WARMUP_CALLS) -> GraphedCallable:
    """Make `obj.<name>` replay CUDA graphs (undo with `uninstall_method`).

    `wrap` turns the eager method into what is captured (for example a compiled version of it).
    """
    current = obj.__dict__.get(name)
    if isinstance(current, GraphedCallable):
        return current
    eager = getattr(obj, name)
    graphed = GraphedCallable(wrap(eager) if wrap is not None else eager, label or f"{type(obj).__name__}.{name}",
                              pool, warmup)
    graphed.original = eager
    graphed.was_instance_attribute = name in obj.__dict__  # e.g. the GPT-2 loop fix, set on the instance
    setattr(obj, name, graphed)
    return graphed


def uninstall_method(obj: Any, name: str) -> None:
    """Back to the eager method (before offloading: hooks and graphs do not mix)."""
    current = obj.__dict__.get(name)
    if isinstance(current, GraphedCallable):
        if current.was_instance_attribute:
            setattr(obj, name, current.original)
        else:
            delattr(obj, name)


def install(module: Any, pool: Any = None, wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
            warmup: int = _WARMUP_CALLS) -> GraphedCallable:
    """Make `module` (the UNet, the vocoder) replay CUDA graphs; returns the graphed forward."""
    return install_method(module, "forward", type(module).__name__, pool, wrap, warmup)


def uninstall(module: Any) -> None:
    """Back to the eager forward."""
    uninstall_method(module, "forward")


def graphed(obj: Any, name: str = "forward") -> GraphedCallable | None:
    """The graphed wrapper installed on `obj.<name>`, if any."""
    current = obj.__dict__.get(name)
    return current if isinstance(current, GraphedCallable) else None
