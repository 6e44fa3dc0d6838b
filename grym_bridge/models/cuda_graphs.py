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

A call may also have a compiled version (`grym_bridge.models.compiled`); the graph
then records the compiled kernels. Given a background `worker`, compiling never
holds a call up: a new signature is captured from the eager call at once (fast:
warm-up and capture take about a second) and queued for the worker, which
compiles it (a minute or two on AudioLDM 2); the first call after that re-captures
the signature from the compiled version, and the eager graph is dropped. Without a
worker the first call compiles, then captures. Captures and background compiles
take turns (`CAPTURE_LOCK`): compiling may synchronize the whole device, which is
illegal while any stream is capturing. A call that finds the lock taken runs
eagerly rather than wait, and captures on a later call.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterator, Protocol

log = logging.getLogger(__name__)

#: Captured signatures kept per wrapped call (each holds its own inputs; memory comes from the shared pool).
MAX_GRAPHS = 8
_WARMUP_CALLS = 2
_SCALARS = (bool, int, float, str, type(None))
#: Held by every capture and by every background compile (see the module's docstring).
CAPTURE_LOCK = threading.Lock()


class Worker(Protocol):
    """What compiles a call's new signatures in the background (`compiled.CompileWorker`)."""

    def submit(self, graphed: "GraphedCallable", key: tuple, args: tuple, kwargs: dict[str, Any]) -> None: ...


class GraphedCallable:
    """A drop-in callable that captures and replays CUDA graphs per call signature."""

    #: The device whose tensors are graphed (tests of the bookkeeping on a CPU use a stand-in subclass).
    device_type = "cuda"

    def __init__(self, eager: Callable[..., Any], name: str = "call", pool: Any = None,
                 warmup: int = _WARMUP_CALLS, compiled: Callable[..., Any] | None = None,
                 worker: Worker | None = None) -> None:
        self.eager = eager
        self.compiled = compiled
        self.worker = worker if compiled is not None else None
        self.name = name
        self.warmup = warmup
        self.original: Callable[..., Any] = eager  # what `uninstall_method` puts back
        self.was_instance_attribute = False
        self.graphs: OrderedDict[tuple, tuple[Any, list[Any], Any]] = OrderedDict()
        self.pool: Any = pool  # made at the first capture: a CPU-only machine never needs one
        self.disabled = False
        self.captures = 0
        #: Background compiling, per signature: handed to the worker, compiled by it, failed there or at
        #: capture (it keeps its eager graph), and captured from the compiled version.
        self.submitted: set[tuple] = set()
        self.ready: set[tuple] = set()
        self.failed: set[tuple] = set()
        self.compiled_keys: set[tuple] = set()
        self._lock = threading.Lock()

    @classmethod
    def _signature(cls, leaves: list[Any], spec: Any) -> tuple | None:
        import torch

        key: list[Any] = [spec]
        for value in leaves:
            if isinstance(value, torch.Tensor):
                if value.device.type != cls.device_type:
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
            if entry is None or self._upgrade_due(key):
                entry = self._capture(key, leaves, spec) or entry
            # queued after the capture: the worker's compile takes the capture lock for a minute or more
            if self.worker is not None and key not in self.submitted:
                self.submitted.add(key)
                static_args, static_kwargs = pytree.tree_unflatten(_copies(leaves), spec)
                self.worker.submit(self, key, static_args, static_kwargs)
            if entry is None:
                return self.eager(*args, **kwargs)
            self.graphs.move_to_end(key)
            graph, static, output = entry
            for target, value in zip(static, leaves):
                if target is not None:
                    target.copy_(value)
            graph.replay()
            return clone_tree(output)

    def _upgrade_due(self, key: tuple) -> bool:
        """Whether `key` has a compiled version ready in the background that its graph does not record yet."""
        return key in self.ready and key not in self.compiled_keys and key not in self.failed

    def compile_ahead(self, key: tuple, args: tuple, kwargs: dict[str, Any]) -> None:
        """Compile `key`'s signature by calling the compiled version (the worker's thread, `CAPTURE_LOCK` held);
        the next call of that signature captures it. A failure leaves the signature on its eager graph."""
        import torch

        assert self.compiled is not None
        try:
            with torch.no_grad(), _side_stream(args, kwargs):
                for _ in range(max(self.warmup, 1)):
                    self.compiled(*args, **kwargs)
        except Exception as exc:
            log.warning("compiling the %s failed (%s: %s); it keeps running uncompiled",
                        self.name, exc.__class__.__name__, str(exc)[:300])
            with self._lock:
                self.failed.add(key)
            return
        with self._lock:
            self.ready.add(key)

    def _capture(self, key: tuple, leaves: list[Any], spec: Any) -> tuple[Any, list[Any], Any] | None:
        """Capture `key`: from the compiled version once it is (or, without a worker, will be) compiled, else
        from the eager call. None when the lock is taken (the caller runs eagerly) or the capture failed."""
        import torch
        from torch.utils import _pytree as pytree

        compiled = self.compiled is not None and (self.worker is None or key in self.ready)
        fn = self.compiled if compiled else self.eager
        assert fn is not None
        if not CAPTURE_LOCK.acquire(blocking=False):
            return None
        try:
            static_leaves = _copies(leaves)
            args, kwargs = pytree.tree_unflatten(static_leaves, spec)
            graph, output = self._record(fn, args, kwargs)
        except Exception as exc:  # an op the capture cannot record
            if compiled and self.worker is not None:  # the eager graph stays
                log.warning("CUDA graph capture of the compiled %s failed (%s: %s); it keeps running uncompiled",
                            self.name, exc.__class__.__name__, exc)
                self.failed.add(key)
            else:  # stay eager from now on
                log.warning("CUDA graph capture of the %s failed (%s: %s); running it eagerly",
                            self.name, exc.__class__.__name__, exc)
                self.disabled = True
            return None
        finally:
            CAPTURE_LOCK.release()
        self.captures += 1
        if compiled:
            self.compiled_keys.add(key)
        inputs = [v if isinstance(v, torch.Tensor) else None for v in static_leaves]
        entry = (graph, inputs, output)
        self.graphs[key] = entry
        while len(self.graphs) > MAX_GRAPHS:
            self.graphs.popitem(last=False)
        return entry

    def _record(self, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> tuple[Any, Any]:
        """Warm `fn` up on a side stream, then record one call of it as a CUDA graph: (graph, its output)."""
        import torch

        if self.pool is None:
            self.pool = torch.cuda.graph_pool_handle()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(self.warmup):
                fn(*args, **kwargs)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        # thread_local: CUDA work of other threads (another model in another job) does not spoil the capture.
        with torch.no_grad(), torch.cuda.graph(graph, pool=self.pool, capture_error_mode="thread_local"):
            output = fn(*args, **kwargs)
        return graph, output


def _copies(leaves: list[Any]) -> list[Any]:
    """The leaves with every tensor copied (a graph's own inputs, or the worker's)."""
    import torch

    return [v.clone() if isinstance(v, torch.Tensor) else v for v in leaves]


@contextlib.contextmanager
def _side_stream(args: tuple, kwargs: dict[str, Any]) -> Iterator[None]:
    """Run the block on a stream of its own when the call's tensors are on a CUDA device (the worker's
    compile then does not queue behind the foreground's work), and wait for it at the end."""
    import torch
    from torch.utils import _pytree as pytree

    if not any(isinstance(v, torch.Tensor) and v.is_cuda for v in pytree.tree_leaves((args, kwargs))):
        yield
        return
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())  # the argument copies were queued there by the caller
    with torch.cuda.stream(stream):
        yield
    stream.synchronize()


#: The name the UNet's wrapper had before other modules were graphed; kept for callers and tests.
GraphedForward = GraphedCallable


def clone_tree(output: Any) -> Any:
    """A copy of a captured output's tensors (the next replay overwrites the graph's own tensors)."""
    import torch
    from torch.utils import _pytree as pytree

    return pytree.tree_map(lambda v: v.clone() if isinstance(v, torch.Tensor) else v, output)


def install_method(obj: Any, name: str, label: str | None = None, pool: Any = None,
                   wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
                   warmup: int = _WARMUP_CALLS,
                   compile: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
                   worker: Worker | None = None) -> GraphedCallable:
    """Make `obj.<name>` replay CUDA graphs (undo with `uninstall_method`).

    `wrap` turns the method into what is called (for example one handed ready-made arguments); `compile`
    turns that into its compiled version, compiled by `worker` in the background when one is given.
    """
    current = obj.__dict__.get(name)
    if isinstance(current, GraphedCallable):
        return current
    eager = getattr(obj, name)
    call = wrap(eager) if wrap is not None else eager
    graphed = GraphedCallable(call, label or f"{type(obj).__name__}.{name}", pool, warmup,
                              compile(call) if compile is not None else None, worker)
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


def install(module: Any, pool: Any = None, warmup: int = _WARMUP_CALLS) -> GraphedCallable:
    """Make `module` (the UNet, the vocoder) replay CUDA graphs; returns the graphed forward."""
    return install_method(module, "forward", type(module).__name__, pool, warmup=warmup)


def uninstall(module: Any) -> None:
    """Back to the eager forward."""
    uninstall_method(module, "forward")


def graphed(obj: Any, name: str = "forward") -> GraphedCallable | None:
    """The graphed wrapper installed on `obj.<name>`, if any."""
    current = obj.__dict__.get(name)
    return current if isinstance(current, GraphedCallable) else None
