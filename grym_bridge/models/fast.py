"""The speed set-up of a pipeline that sits whole on a CUDA GPU: which calls replay as CUDA graphs, which compile.

What each part of a 10 s AudioLDM 2 clip costs, and what is done about it
(`bench/generate.py --real-size --device cuda` prints the measured breakdown):

- the UNet steps (most of the time): compiled with inductor when
  `models.compile` allows, and replayed as a CUDA graph per call signature;
- the VAE decoder and the HiFi-GAN vocoder: one graph each per audio length
  (a few hundred launches each, eager);
- the CLAP text encoder (always padded to 512 tokens: one shape): a graph;
- AudioLDM 2's Flan-T5 encoder and the eight GPT-2 steps: a graph per prompt
  length (the first prompt of a new length runs eagerly once, then replays).

Everything is undone by `uninstall` before a pipeline moves to an offloading
memory mode (offload hooks move weights during a call, which a graph cannot).
"""

from __future__ import annotations

from typing import Any, Callable

from grym_bridge.models import cuda_graphs

#: Parts compiled when compiling is on (the others are only graphed: compiling them costs start-up time for
#: little gain; `bench/generate.py` can try others).
COMPILED: tuple[str, ...] = ("unet",)

Compiler = Callable[[Callable[..., Any]], Callable[..., Any]]


def _targets(pipe: Any) -> list[tuple[str, Any, str, int]]:
    """(part name, object, method, warm-up calls) of every call worth graphing in `pipe`."""
    targets: list[tuple[str, Any, str, int]] = [("unet", pipe.unet, "forward", 2)]
    if getattr(pipe, "vae", None) is not None:
        targets.append(("vae", pipe.vae, "decode", 1))
    if getattr(pipe, "vocoder", None) is not None:
        targets.append(("vocoder", pipe.vocoder, "forward", 1))
    encoder = getattr(pipe, "text_encoder", None)
    if encoder is not None:
        # AudioLDM 2 asks CLAP (a ClapModel) for its text features; AudioLDM calls its CLAP text model directly.
        method = "get_text_features" if hasattr(encoder, "get_text_features") else "forward"
        targets.append(("text_encoder", encoder, method, 1))
    if getattr(pipe, "text_encoder_2", None) is not None and hasattr(pipe.text_encoder_2, "forward"):
        targets.append(("text_encoder_2", pipe.text_encoder_2, "forward", 1))
    if "generate_language_model" in pipe.__dict__:  # grym's GPT-2 loop (audioldm.install_language_model_fix)
        targets.append(("language_model", pipe, "generate_language_model", 1))
    return targets


def install(pipe: Any, compiler: Compiler | None = None) -> dict[str, cuda_graphs.GraphedCallable]:
    """Graph (and, with `compiler`, compile the `COMPILED` parts of) `pipe`; the wrappers by part name."""
    import torch

    torch.backends.cudnn.benchmark = True  # the convolutions' fastest algorithms, picked once per shape
    pool = torch.cuda.graph_pool_handle()  # one pool: the parts never run at the same time
    installed = {}
    for part, obj, method, warmup in _targets(pipe):
        wrap = compiler if compiler is not None and part in COMPILED else None
        installed[part] = cuda_graphs.install_method(obj, method, part, pool, wrap, warmup)
    return installed


def uninstall(pipe: Any) -> None:
    """Every part back to its eager call."""
    for _part, obj, method, _warmup in _targets(pipe):
        cuda_graphs.uninstall_method(obj, method)


def status(pipe: Any) -> dict[str, str]:
    """Per part: `graphs: N` (captured signatures), `eager` (capture failed or never installed)."""
    out = {}
    for part, obj, method, _warmup in _targets(pipe):
        g = cuda_graphs.graphed(obj, method)
        out[part] = "eager" if g is None or g.disabled else f"graphs: {len(g.graphs)}"
    return out
