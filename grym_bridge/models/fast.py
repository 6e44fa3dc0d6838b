"""The speed set-up of a pipeline that sits whole on a CUDA GPU: which calls replay as CUDA graphs, which compile.

What each part of a 10 s AudioLDM 2 clip costs, and what is done about it
(`bench/generate.py --real-size --device cuda` prints the measured breakdown):

- the UNet steps (most of the time): compiled with inductor (weights frozen) when
  `models.compile` allows, and replayed as a CUDA graph per call signature;
- the VAE decoder and the HiFi-GAN vocoder: compiled too (their group norms,
  SiLUs and leaky ReLUs fuse into the convolutions' neighbours) and one graph
  each per audio length and batch size. They scale with the number of
  variations while the UNet's steps barely do, so they decide how much 4
  variations cost against one (on an H200, AudioLDM's 4 clips: VAE 16.4 ->
  7.9 ms, vocoder 24.3 -> 18.4 ms);
- the CLAP text encoder (always padded to 512 tokens: one shape): a graph, handed its padding mask
  ready-made (`additive_mask`: transformers before 5.24 builds it with a host copy a graph cannot
  record, which left the encoder eager at ~20 ms a call);
- AudioLDM 2's Flan-T5 encoder and the eight GPT-2 steps: a graph per prompt
  length (the first prompt of a new length runs eagerly once, then replays).

The waveform stays on the GPU for `generate.conform_gpu` (no copy to the host
and back before conforming), and the pipeline's execution device is pinned
(diffusers otherwise walks every module looking for offload hooks, 6 ms a call).

Everything is undone by `uninstall` before a pipeline moves to an offloading
memory mode (offload hooks move weights during a call, which a graph cannot).
"""

from __future__ import annotations

import functools
import types
from typing import Any, Callable

from grym_bridge.models import cuda_graphs

#: Parts compiled when compiling is on. The text encoders and GPT-2 are only graphed: they run once per
#: call at a few milliseconds, and compiling them would cost start-up time for little gain.
COMPILED: tuple[str, ...] = ("unet", "vae", "vocoder")

#: Per compiled part, the keyword arguments whose size varies between calls, and which dimension: compiled
#: once for every size. AudioLDM 2's UNet takes the Flan-T5 states as long as the prompt's tokens; compiled
#: statically, every new prompt length was one more compile of a minute or two (on the CPU, the tiny UNet at
#: four prompt lengths: 4 compiles in 241 s, against 1 in 60 s, same outputs).
DYNAMIC: dict[str, dict[str, int]] = {"unet": {"encoder_hidden_states_1": 1, "encoder_attention_mask_1": 1}}

Compiler = Callable[..., Callable[..., Any]]


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


def install(pipe: Any, compiler: Compiler | None = None,
            worker: cuda_graphs.Worker | None = None) -> dict[str, cuda_graphs.GraphedCallable]:
    """Graph (and, with `compiler`, compile the `COMPILED` parts of) `pipe`; the wrappers by part name.

    With `worker`, the parts compile in the background while their eager graphs serve (`cuda_graphs`).
    Also keeps the waveform on the GPU (`waveform_on_device`) and pins the pipeline's execution device.
    """
    import torch

    torch.backends.cudnn.benchmark = True  # the convolutions' fastest algorithms, picked once per shape
    pool = torch.cuda.graph_pool_handle()  # one pool: the parts never run at the same time
    installed = {}
    for part, obj, method, warmup in _targets(pipe):
        compile = functools.partial(compiler, dynamic=DYNAMIC.get(part)) if compiler and part in COMPILED else None
        # the text encoder is graphed, not compiled (not in COMPILED): only its mask needs building
        wrap = additive_mask(obj.dtype) if part == "text_encoder" else None
        installed[part] = cuda_graphs.install_method(obj, method, part, pool, wrap, warmup, compile, worker)
    keep_on_device(pipe, torch.device("cuda", torch.cuda.current_device()))
    return installed


def additive_mask(dtype: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A wrapper that hands a transformers encoder its 2-D padding mask as the 4-D additive mask its eager
    attention would build: 0 where a token counts, the dtype's lowest value where it is padding.

    transformers returns a 4-D mask as-is. Before 5.24 its own builder (`masking_utils.eager_mask`) made
    the 0 with `torch.tensor(0.0, device=...)`, a host-to-device copy that a CUDA graph cannot record, so
    the CLAP text encoder stayed eager; built here from device tensors alone, it captures on any 5.x.
    """
    def wrap(call: Callable[..., Any]) -> Callable[..., Any]:
        def masked(*args: Any, attention_mask: Any = None, **kwargs: Any) -> Any:
            if attention_mask is not None and attention_mask.dim() == 2:
                import torch

                padding = 1.0 - attention_mask[:, None, None, :].to(dtype)
                attention_mask = padding * torch.finfo(dtype).min
            return call(*args, attention_mask=attention_mask, **kwargs)

        return masked

    return wrap


def keep_on_device(pipe: Any, device: Any) -> None:
    """Keep `pipe`'s waveforms on `device` (for generate.conform_gpu) and pin its execution device there.

    Only for a pipeline whole on `device` (no offload hooks); `uninstall` undoes it.
    """
    pipe.mel_spectrogram_to_waveform = types.MethodType(_waveform_on_device, pipe)
    _pin_execution_device(pipe, device)


def uninstall(pipe: Any) -> None:
    """Every part back to its eager call."""
    for _part, obj, method, _warmup in _targets(pipe):
        cuda_graphs.uninstall_method(obj, method)
    pipe.__dict__.pop("mel_spectrogram_to_waveform", None)
    if getattr(type(pipe), "_grym_pinned", False):
        pipe.__class__ = type(pipe).__bases__[0]


def waveform_on_device(pipe: Any) -> bool:
    """Whether `pipe` returns its waveforms as a device tensor (`output_type="pt"` then stays on the GPU)."""
    return "mel_spectrogram_to_waveform" in pipe.__dict__


def _waveform_on_device(self: Any, mel_spectrogram: Any) -> Any:
    """diffusers' `mel_spectrogram_to_waveform` without its `.cpu()`: float32 on the vocoder's device."""
    if mel_spectrogram.dim() == 4:
        mel_spectrogram = mel_spectrogram.squeeze(1)
    return self.vocoder(mel_spectrogram).float()


_PINNED: dict[type, type] = {}


def _pin_execution_device(pipe: Any, device: Any) -> None:
    """Answer `pipe._execution_device` with `device` directly.

    diffusers finds it by walking every module of every component for offload hooks (6 ms per call on
    AudioLDM, while the GPU waits); a pipeline whole on one GPU has none. The property lives on the class,
    so the pipeline gets a subclass that overrides it (undone by `uninstall`).
    """
    cls = type(pipe)
    if getattr(cls, "_grym_pinned", False):
        pipe.__dict__["_grym_device"] = device
        return
    if cls not in _PINNED:
        _PINNED[cls] = type(cls.__name__, (cls,), {
            "_grym_pinned": True, "__module__": cls.__module__,
            "_execution_device": property(lambda self: self.__dict__["_grym_device"]),
        })
    pipe.__dict__["_grym_device"] = device
    pipe.__class__ = _PINNED[cls]


def status(pipe: Any) -> dict[str, str]:
    """Per part: `graphs: N` (captured signatures; for a compiled part, `, K uncompiled` while K of them still
    record the eager call), or `eager` (capture failed or never installed)."""
    out = {}
    for part, obj, method, _warmup in _targets(pipe):
        g = cuda_graphs.graphed(obj, method)
        if g is None or g.disabled:
            out[part] = "eager"
            continue
        out[part] = f"graphs: {len(g.graphs)}"
        behind = sum(1 for key in g.graphs if key not in g.compiled_keys) if g.compiled is not None else 0
        if behind:
            out[part] += f", {behind} uncompiled"
    return out
