"""Compiling the diffusion UNet, the VAE decoder and the vocoder with torch.compile (inductor), cached on disk.

Inductor fuses their element-wise work (group norms, SiLU, residual adds,
attention's reshapes) into fewer, larger kernels; `cuda_graphs` then records
those kernels, so grym's UNet step is what diffusers' own speed advice
(`torch.compile(unet, mode="reduce-overhead")`) gives, inside grym's graphs
(which also cover the text encoders). Which parts are compiled: `fast.COMPILED`.

Compiling is the slow part of a first run, so it happens in the background
(`CompileWorker`, one thread): a new length's first clip is made at once with
the eager parts in CUDA graphs (AudioLDM 2: 0.3 s per 10 s on an H200, against
0.2 s compiled), and the clips after the compile has finished use the compiled
graphs. A producer's first clip waits for loading and a few graph captures, not
for a compile.

Inductor's caches (the FX graph cache and the Triton kernels) are pointed at a
folder under grym's data directory, so a later `grym serve` on the same machine
finds the kernels made before and pays only for tracing and for AOTAutograd,
whose cache refuses graphs with frozen weights (about a minute for AudioLDM 2 on
an H200, in the background; `bench/generate.py`'s cold-start rows print the
phases). A new audio length or batch size (variations) is one more compile,
cached like the first; at most `MAX_SHAPES` per function, then dynamo runs that
function eagerly (still inside its CUDA graph). Sizes that change with every
request, such as AudioLDM 2's prompt length, are compiled dynamic (`fast.DYNAMIC`):
one compile for all of them. So that tempo and bar count do not each make a new
length, a compiled pipeline is asked for clip lengths in steps of
`LENGTH_STEP_S` (`model_seconds`), and the conform cuts the clip to its bars.
The weights are frozen into the compiled graph (inductor's `freezing`): per-step
weight layout changes are done once. Frozen constants stay with the compiled code
until the process ends.

torch is imported only inside these functions.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
from pathlib import Path
from typing import Any, Callable

from grym_bridge.models import cuda_graphs

log = logging.getLogger(__name__)

#: Compiled shapes (audio lengths, batch sizes) kept per function before dynamo falls back to eager.
MAX_SHAPES = 32
#: Compile with frozen weights (inductor's `freezing`: inference only, weights become constants).
FREEZE = True
#: A compiled pipeline makes audio in whole steps of this many seconds. The model's latent length follows
#: the asked length in 40 ms steps, and every new length is one more compile (about 45 s for AudioLDM and
#: 100 s for AudioLDM 2 on an H200): asked exactly, nearly every tempo and bar count would pay that again.
#: Rounded up to 2.5 s, 4 or 8 bars of 4/4 anywhere from 80 to 180 BPM need 8 lengths, and a clip costs
#: at most 2.5 s of extra audio, which the conform cuts away.
LENGTH_STEP_S = 2.5
#: `models.compile` values: on, off, or auto (on where it pays: a CUDA GPU with Triton).
COMPILE_CHOICES = ("auto", "on", "off")


def use_cache(folder: Path) -> Path:
    """Point inductor's and Triton's on-disk caches at `folder` (unless the user set their own)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR") in (None, _torch_default_cache()):
        # torch writes its default (a folder in /tmp, emptied by a reboot) into the variable itself as soon
        # as anything asks for the cache folder, which importing diffusers does: that value is not the user's.
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder)
    # Both caches default to on in recent torch; set them for older releases that read the variables.
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")
    return Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])


def _torch_default_cache() -> str | None:
    """The cache folder inductor picks when none is set, or None when this torch does not say."""
    try:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir
    except ImportError:
        return None
    return os.path.abspath(default_cache_dir())


def model_seconds(seconds: float) -> float:
    """The clip length a compiled pipeline makes for a clip of `seconds`: rounded up to a whole `LENGTH_STEP_S`."""
    return math.ceil(seconds / LENGTH_STEP_S - 1e-9) * LENGTH_STEP_S


def available(device: str) -> bool:
    """Whether compiling can run here: a CUDA device and Triton importable."""
    if device != "cuda":
        return False
    import importlib.util

    return importlib.util.find_spec("triton") is not None


def wants_compile(setting: str, device: str) -> bool:
    """The `models.compile` setting resolved for `device` (`auto`: on wherever it can run)."""
    if setting not in COMPILE_CHOICES:
        raise ValueError(f"models.compile: {setting!r} is not one of {', '.join(COMPILE_CHOICES)}")
    if setting == "off":
        return False
    ok = available(device)
    if setting == "on" and not ok:
        log.warning("models.compile is on, but torch.compile needs a CUDA GPU and Triton; running uncompiled")
    return ok


def compiler(cache: Path | None = None) -> Callable[..., Callable[..., Any]]:
    """A function turning an eager callable into its compiled version (inductor, no CUDA graphs of its own).

    It takes the callable and, optionally, `dynamic`: keyword arguments whose dimension varies between calls
    ({"encoder_hidden_states_1": 1}), compiled once for every size of it instead of once per size.
    """
    import torch

    if cache is not None:
        use_cache(cache)
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, MAX_SHAPES)
    # 1x1 convolutions as matrix products: inductor fuses their epilogues (diffusers' own advice for UNets).
    torch._inductor.config.conv_1x1_as_mm = True

    def compile_one(fn: Callable[..., Any], dynamic: dict[str, int] | None = None) -> Callable[..., Any]:
        # cuda_graphs records the kernels itself; inductor's own graphs would nest inside ours.
        # Static shapes (what bench/generate.py measured): each new shape is compiled for itself, but for
        # the `dynamic` dimensions (marked on each call; dynamo keeps a size static where the code needs it).
        # Freezing folds the weights into the compiled graph as constants (their layout changes and
        # transposes happen once, not per step): AudioLDM's UNet step 3.00 -> 2.55 ms on an H200.
        frozen = torch.compile(fn, dynamic=False, options={"freezing": FREEZE})
        plain: list[Callable[..., Any]] = []

        def call(*args: Any, **kwargs: Any) -> Any:
            for name, dim in (dynamic or {}).items():
                if isinstance(kwargs.get(name), torch.Tensor):
                    torch._dynamo.maybe_mark_dynamic(kwargs[name], dim)
            if not plain:
                try:
                    return frozen(*args, **kwargs)
                except Exception as exc:  # a graph freezing cannot fold: compile it plainly instead
                    log.warning("compiling with frozen weights failed (%s: %s); compiling without",
                                exc.__class__.__name__, str(exc)[:200])
                    plain.append(torch.compile(fn, dynamic=False))
            return plain[0](*args, **kwargs)

        return call

    return compile_one


class CompileWorker:
    """One background thread that compiles graphed calls' new signatures, one at a time, in the order asked.

    Each job holds `cuda_graphs.CAPTURE_LOCK` while it compiles (see `cuda_graphs`). The thread is a daemon:
    stopping the server does not wait for a compile (its cache entries are written as they finish).
    """

    def __init__(self, name: str = "grym-compile") -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[tuple[cuda_graphs.GraphedCallable, tuple, tuple, dict[str, Any]]] = \
            queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, graphed: cuda_graphs.GraphedCallable, key: tuple, args: tuple, kwargs: dict[str, Any]) -> None:
        """Queue `graphed`'s signature `key` (with its own copies of the call's arguments) for compiling."""
        with self._idle:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        self._jobs.put((graphed, key, args, kwargs))

    def _run(self) -> None:
        while True:
            graphed, key, args, kwargs = self._jobs.get()
            try:
                with cuda_graphs.CAPTURE_LOCK:
                    graphed.compile_ahead(key, args, kwargs)
            except Exception:  # compile_ahead reports its own failures: this is a bug; the thread goes on
                log.exception("background compile of the %s stopped", graphed.name)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def busy(self) -> bool:
        """Whether a compile is queued or running."""
        return self._pending > 0

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every queued compile is done (True), or `timeout` seconds pass (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)
