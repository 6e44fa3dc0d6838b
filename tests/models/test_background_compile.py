"""Compiling in the background: a new shape is served at once from its eager graph, compiled by the worker
thread, and re-captured from the compiled version on a later call; a failed compile loses nothing.

CUDA graphs need a CUDA GPU, so these tests graph CPU tensors through `ReplayStandIn`, which stands in for
`torch.cuda.CUDAGraph`: a replay runs the recorded function again on the captured inputs and writes the
captured outputs, which is what a CUDA graph's replay does to its static tensors. Everything else is the
real code: the signatures, `CAPTURE_LOCK`, `compiled.CompileWorker`'s thread and inductor's `torch.compile`
(with grym's compiler settings) running in it. bench/generate.py measures the real thing on a GPU.
"""

from __future__ import annotations

import logging
import threading
import types
from pathlib import Path
from typing import Any, Callable

import pytest

from grym_bridge.models import compiled, cuda_graphs, fast

from tests.conftest import require_module

try:
    import torch
except ImportError:  # each test then fails under CI=true, or skips elsewhere (`_needs_torch`)
    torch = None  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _needs_torch() -> None:
    require_module("torch")


class ReplayStandIn:
    """Stands in for a captured `torch.cuda.CUDAGraph` on the CPU: `replay` recomputes into the static output."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.output = fn(*args, **kwargs)
        self.replays = 0

    def replay(self) -> None:
        self.output.copy_(self.fn(*self.args, **self.kwargs))
        self.replays += 1


class CpuGraphed(cuda_graphs.GraphedCallable):
    """The real wrapper, graphing CPU tensors through `ReplayStandIn` instead of CUDA graph capture."""

    device_type = "cpu"

    def _record(self, fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> tuple[Any, Any]:
        for _ in range(self.warmup):
            fn(*args, **kwargs)
        graph = ReplayStandIn(fn, args, kwargs)
        return graph, graph.output


@pytest.fixture()
def mlp() -> Any:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, 8)).eval()


def _recorded(g: cuda_graphs.GraphedCallable, x: Any) -> Callable[..., Any]:
    """The function the graph of `x`'s signature records."""
    from torch.utils import _pytree as pytree

    leaves, spec = pytree.tree_flatten(((x,), {}))
    return g.graphs[g._signature(leaves, spec)][0].fn


def test_a_new_shape_is_served_at_once_and_runs_compiled_once_the_worker_has_compiled_it(
        mlp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    real = compiled.compiler()(mlp.forward)  # inductor, frozen weights: what a GPU pipeline's parts get
    entered, gate, threads = threading.Event(), threading.Event(), []

    def held_compile(*args: Any, **kwargs: Any) -> Any:  # the worker's compile, held until the test says
        threads.append(threading.current_thread().name)
        entered.set()
        assert gate.wait(120)
        return real(*args, **kwargs)

    worker = compiled.CompileWorker("grym-compile-test")
    g = CpuGraphed(mlp.forward, "mlp", warmup=1, compiled=held_compile, worker=worker)
    x, small = torch.randn(4, 16), torch.randn(2, 16)
    with torch.no_grad():
        want, want_small = mlp(x), mlp(small)
        # While the compile is held, calls are answered from the eager graph without waiting for it.
        torch.testing.assert_close(g(x), want, rtol=0, atol=0)
        torch.testing.assert_close(g(x * 2), mlp(x * 2), rtol=0, atol=0)  # same shape: replayed, new values
        assert worker.busy() and _recorded(g, x) == mlp.forward and not g.compiled_keys
        pipe = types.SimpleNamespace(unet=types.SimpleNamespace(forward=g))  # what fast.status reads
        assert fast.status(pipe) == {"unet": "graphs: 1, 1 uncompiled"}
        # A new shape while the worker compiles: the capture lock is taken, so it runs eagerly, is not
        # graphed yet, and is queued for compiling too.
        assert entered.wait(60)
        torch.testing.assert_close(g(small), want_small, rtol=0, atol=0)
        assert len(g.graphs) == 1 and len(g.submitted) == 2
        gate.set()
        assert worker.wait(300), "the background compile did not finish"
        assert threads and set(threads) == {"grym-compile-test"}  # compiled in the worker's thread only
        assert len(g.ready) == 2 and not g.failed
        # The next call re-captures from the compiled version; its answer agrees with the eager one.
        torch.testing.assert_close(g(x), want, rtol=1e-4, atol=1e-5)
        assert _recorded(g, x) is held_compile and len(g.compiled_keys) == 1
        torch.testing.assert_close(g(small), want_small, rtol=1e-4, atol=1e-5)
        assert _recorded(g, small) is held_compile and len(g.compiled_keys) == 2
        calls = len(threads)
        torch.testing.assert_close(g(x), want, rtol=1e-4, atol=1e-5)  # replayed: nothing compiles again
        assert len(threads) == calls + 1 and g.captures == 3 and not worker.busy()
        assert fast.status(pipe) == {"unet": "graphs: 2"}


def test_a_failed_background_compile_keeps_the_eager_graph_and_says_so_once(
        mlp: Any, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("inductor could not lower aten.fancy")

    worker = compiled.CompileWorker()
    g = CpuGraphed(mlp.forward, "mlp", warmup=1, compiled=broken, worker=worker)
    x = torch.randn(4, 16)
    with torch.no_grad(), caplog.at_level(logging.WARNING):
        first = g(x)
        assert worker.wait(60)
        for _ in range(3):
            torch.testing.assert_close(g(x), first, rtol=0, atol=0)
    assert len(g.failed) == 1 and not g.compiled_keys and _recorded(g, x) == mlp.forward
    said = [r for r in caplog.records if "compiling the mlp failed" in r.getMessage()]
    assert len(said) == 1 and "aten.fancy" in said[0].getMessage() and said[0].exc_info is None
    assert not g.disabled  # the part stays graphed


def test_without_a_worker_the_first_call_compiles_and_the_graph_records_the_compiled_version(mlp: Any) -> None:
    seen: list[str] = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        seen.append(threading.current_thread().name)
        return mlp(*args, **kwargs)

    g = CpuGraphed(mlp.forward, "mlp", warmup=1, compiled=counted)
    with torch.no_grad():
        x = torch.randn(4, 16)
        torch.testing.assert_close(g(x), mlp(x))
    # warm-up, capture and the stand-in's replay: all in the caller's thread, nothing queued
    assert _recorded(g, x) is counted and seen == [threading.current_thread().name] * 3 and not g.submitted


def test_audioldm2_unet_compiles_once_for_every_prompt_length(tiny_models_dir: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """AudioLDM 2's UNet takes the Flan-T5 states as long as the prompt's tokens: compiled with that
    dimension dynamic (`fast.DYNAMIC`), prompts of other lengths reuse the compile, and answer as eagerly."""
    from torch._dynamo.utils import counters

    from grym_bridge.models import audioldm
    from tests.models.tiny import AUDIOLDM2

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # nothing from earlier runs
    pipe = audioldm.load_pipeline(tiny_models_dir / AUDIOLDM2, device="cpu").pipe
    calls: list[tuple[tuple, dict[str, Any]]] = []
    unet_forward = pipe.unet.forward
    pipe.unet.forward = lambda *a, **k: calls.append((a, k)) or unet_forward(*a, **k)
    with torch.no_grad():
        pipe("dusty drums", audio_length_in_s=1.0, num_inference_steps=1)
    del pipe.unet.forward
    args, kwargs = calls[0]
    batch, tokens, width = kwargs["encoder_hidden_states_1"].shape
    torch._dynamo.reset()
    counters.clear()
    unet = compiled.compiler()(pipe.unet.forward, dynamic=fast.DYNAMIC["unet"])
    with torch.no_grad():
        for n in (tokens, tokens + 5):
            generator = torch.Generator().manual_seed(n)
            asked = dict(kwargs, encoder_hidden_states_1=torch.randn(batch, n, width, generator=generator),
                         encoder_attention_mask_1=torch.ones(batch, n, dtype=torch.long))
            torch.testing.assert_close(unet(*args, **asked)[0], pipe.unet(*args, **asked)[0], rtol=1e-4, atol=1e-4)
    assert counters["stats"]["unique_graphs"] == 1  # static, the second length would compile again
