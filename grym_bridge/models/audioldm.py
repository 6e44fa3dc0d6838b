"""Loading AudioLDM and AudioLDM 2 pipelines through diffusers, and placing them in memory.

A pipeline is loaded from a diffusers folder (one found by the registry: a
folder from config or the Hugging Face cache) with safetensors only, in the
dtype picked for the device, and placed by a memory mode:

- `full`: every component on the GPU. Fastest: on a CUDA GPU every part is
  replayed as CUDA graphs and the UNet, VAE and vocoder compiled (`grym_bridge.models.fast`).
- `model_offload`: components wait in CPU memory and move to the GPU one at a
  time, while they run (accelerate hooks). A little slower, peak VRAM is the
  largest component plus activations.
- `sequential`: weights stream to the GPU layer by layer. Slowest, least VRAM.
- `low_vram`: fp16 weights, model offload, and the VAE decoding in slices: the
  documented mode for a 6 GB GPU (AudioLDM 2's largest component, the UNet, is
  about 0.7 GB in fp16; `bench/generate.py` measures the peak).

On the CPU the mode is always `full`. torch and diffusers are imported only
inside these functions.
"""

from __future__ import annotations

import inspect
import logging
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from grym_bridge.errors import ModelUnavailable
from grym_bridge.models.device import pick_device, pick_dtype
from grym_bridge.models.registry import read_model_index

if TYPE_CHECKING:
    from grym_bridge.models.compiled import CompileWorker

log = logging.getLogger(__name__)

MEMORY_MODES = ("full", "model_offload", "sequential", "low_vram")
#: The order an out-of-memory error walks down before failing.
FALLBACK_ORDER = ("full", "model_offload", "low_vram", "sequential")
PIPELINE_CLASSES = {"AudioLDMPipeline": "audioldm", "AudioLDM2Pipeline": "audioldm2"}
SCHEDULERS = ("dpm++", "ddim", "euler", "pndm", "model")
#: Free VRAM `auto` wants before it keeps a whole AudioLDM 2 on the GPU (weights fp16 plus working memory).
AUTO_FULL_MIN_FREE_GB = 8.0


@dataclass
class LoadedPipeline:
    """A pipeline in memory, with how it was placed."""

    pipe: Any
    family: str
    device: str
    dtype: str
    memory_mode: str
    folder: Path
    base_scheduler_config: dict[str, Any]
    cuda_graphs: bool = False
    compile: bool = False
    #: Turns an eager call into its compiled version when `compile` is on (`compiled.compiler`).
    compiler: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None
    #: Compiles new shapes in the background while eager graphs serve (`compiled.CompileWorker`).
    compile_worker: CompileWorker | None = None
    #: Schedulers built so far, by name (building one from its config costs a few ms per call).
    schedulers: dict[str, Any] = field(default_factory=dict)
    #: (seconds, batch) calls made so far while compiled: a new one starts a background compile
    #: (`compiled.LENGTH_STEP_S`).
    compiled_shapes: set[tuple[float, int]] = field(default_factory=set)

    @property
    def sample_rate(self) -> int:
        return int(self.pipe.vocoder.config.sampling_rate)

    @property
    def compiled(self) -> bool:
        """Whether its parts run compiled: it has a compiler and sits where `place` installs it."""
        return self.compiler is not None and graphed_placement(self.device, self.memory_mode, self.cuda_graphs)

    def wait_compiled(self, timeout: float | None = None) -> bool:
        """Block until the background compiles asked so far are done (True), or `timeout` passes (False)."""
        return self.compile_worker is None or self.compile_worker.wait(timeout)


def resolve_memory_mode(requested: str, device: str) -> str:
    """`auto` -> `full` when the GPU has room for a whole pipeline, else `low_vram`; always `full` off CUDA."""
    if device != "cuda":
        return "full"
    if requested != "auto":
        return requested
    import torch

    free, _total = torch.cuda.mem_get_info()
    return "full" if free >= AUTO_FULL_MIN_FREE_GB * 1024**3 else "low_vram"


def lower_memory_mode(mode: str) -> str | None:
    """The next mode an out-of-memory retry tries, or None when none is left."""
    order = list(FALLBACK_ORDER)
    i = order.index(mode) if mode in order else 0
    return order[i + 1] if i + 1 < len(order) else None


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` is the GPU running out of memory (CUDA or MPS)."""
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except ImportError:
        return False
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def weights_bytes(folder: Path, dtype_name: str) -> int:
    """Memory the weights take once loaded: the safetensors on disk (fp32) scaled to `dtype_name`."""
    total = sum(p.stat().st_size for p in folder.rglob("*.safetensors"))
    return total // 2 if dtype_name in ("float16", "bfloat16") else total


def load_pipeline(folder: Path, *, device: str = "auto", dtype: str = "auto", memory_mode: str = "auto",
                  cuda_graphs: bool = True, compile: bool = False, compile_cache: Path | None = None) -> LoadedPipeline:
    """Load the AudioLDM or AudioLDM 2 pipeline in `folder` and place it by `memory_mode`.

    `cuda_graphs` replays the UNet, the VAE decoder, the vocoder and the text encoders as CUDA graphs when
    the whole pipeline is on a CUDA GPU; `compile` also compiles the UNet (torch.compile, kernels cached in
    `compile_cache` across runs; see `grym_bridge.models.compiled`).
    """
    index = read_model_index(folder)
    class_name = index.get("_class_name", "")
    if class_name not in PIPELINE_CLASSES:
        raise ModelUnavailable(
            f"{folder} holds a {class_name or 'unknown'} pipeline; grym runs "
            + " and ".join(PIPELINE_CLASSES) + " folders"
        )
    try:
        import diffusers
        import torch
    except ImportError as exc:
        raise ModelUnavailable(
            f"text-to-audio needs torch and diffusers ({exc.name} is missing); "
            "install them with `pip install 'grym-bridge[models]'`"
        ) from None

    device = pick_device(device)
    torch_dtype = pick_dtype(device, "auto" if dtype == "auto" else dtype)
    mode = resolve_memory_mode(memory_mode, device)
    if mode == "low_vram" and torch_dtype == torch.float32:
        torch_dtype = torch.float16  # the 6 GB promise rests on half-precision weights
    quiet_loading()
    cls = getattr(diffusers, class_name)
    try:
        with warnings.catch_warnings():
            # diffusers >= 0.36 renames torch_dtype to dtype; the old name works on every version grym supports.
            warnings.simplefilter("ignore", FutureWarning)
            pipe = cls.from_pretrained(folder, torch_dtype=torch_dtype, use_safetensors=True, local_files_only=True)
    except (OSError, ValueError, EnvironmentError) as exc:
        raise ModelUnavailable(
            f"cannot load {folder} ({exc}); check it holds safetensors weights, or fetch it again with `grym models pull`"
        ) from None
    family = PIPELINE_CLASSES[class_name]
    if family == "audioldm2":
        install_language_model_fix(pipe)
    pipe.set_progress_bar_config(disable=True)
    loaded = LoadedPipeline(
        pipe=pipe, family=family, device=device, dtype=str(torch_dtype).replace("torch.", ""),
        memory_mode=mode, folder=folder, base_scheduler_config=dict(pipe.scheduler.config), cuda_graphs=cuda_graphs,
        compile=compile and cuda_graphs and device == "cuda",
    )
    if loaded.compile:
        from grym_bridge.models import compiled

        loaded.compiler = compiled.compiler(compile_cache)
        loaded.compile_worker = compiled.CompileWorker(f"grym-compile-{family}")
    place(pipe, device, mode, cuda_graphs, loaded.compiler, loaded.compile_worker)
    return loaded


#: diffusers warnings that are false alarms for grym: every published AudioLDM 2 checkpoint holds a GPT2Model
#: (the loader expects GPT2LMHeadModel); AudioLDM is "deprecated" but still ships; and the offload modes park
#: fp16 weights on the CPU between uses, where they never run, after every call.
_FALSE_ALARMS = ("Expected types for language_model", "The AudioLDMPipeline has been deprecated",
                 "Pipelines loaded with `dtype=torch.float16` cannot run with `cpu` device")


class _DropFalseAlarms(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_FALSE_ALARMS)


def quiet_loading() -> None:
    """No per-file loading bars from diffusers and transformers: grym reports its own progress."""
    import diffusers
    import transformers

    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    logger = logging.getLogger("diffusers.pipelines.pipeline_utils")
    if not any(isinstance(f, _DropFalseAlarms) for f in logger.filters):
        logger.addFilter(_DropFalseAlarms())


def graphed_placement(device: str, mode: str, cuda_graphs: bool) -> bool:
    """Whether `place` graphs (and, given a compiler, compiles) a pipeline placed so: whole on a CUDA GPU."""
    return cuda_graphs and device == "cuda" and mode == "full"


def place(pipe: Any, device: str, mode: str, cuda_graphs: bool = False,
          compiler: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
          worker: CompileWorker | None = None) -> None:
    """Move `pipe` onto `device` as `mode` says (removing earlier offload hooks and graphs first).

    Whole on a CUDA GPU it is graphed, and with `compiler` compiled (in the background with `worker`).
    """
    from grym_bridge.models import fast

    fast.uninstall(pipe)
    if hasattr(pipe, "remove_all_hooks"):
        pipe.remove_all_hooks()
    if device != "cuda" or mode == "full":
        pipe.to(device)
    elif mode in ("model_offload", "low_vram"):
        pipe.enable_model_cpu_offload(device=device)
    elif mode == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        raise ValueError(f"unknown memory mode {mode!r}; one of {', '.join(MEMORY_MODES)}")
    if graphed_placement(device, mode, cuda_graphs):
        fast.install(pipe, compiler, worker)
    if hasattr(pipe, "vae") and mode in ("low_vram", "sequential"):
        # Decoding the mel latents in slices keeps the VAE's activations small for many variations.
        if hasattr(pipe.vae, "enable_slicing"):
            pipe.vae.enable_slicing()


def replace(loaded: LoadedPipeline, mode: str) -> None:
    """Re-place a loaded pipeline in another memory mode (the out-of-memory retry)."""
    import torch

    place(loaded.pipe, "cpu", "full")
    if loaded.device == "cuda":
        torch.cuda.empty_cache()
    place(loaded.pipe, loaded.device, mode, loaded.cuda_graphs, loaded.compiler, loaded.compile_worker)
    loaded.memory_mode = mode


def release(loaded: LoadedPipeline) -> None:
    """Drop a pipeline's weights and CUDA graphs from the GPU (called when the memory budget unloads it)."""
    from grym_bridge.models import fast

    fast.uninstall(loaded.pipe)  # the graphs' inputs and memory pool go with their wrappers
    try:
        loaded.pipe.to("cpu")
    except Exception:  # offloaded pipelines may refuse; their weights are on the CPU already
        pass
    if loaded.device == "cuda":
        import torch

        torch.cuda.empty_cache()


def set_scheduler(loaded: LoadedPipeline, name: str) -> str:
    """Install the scheduler `name` built from the model's own scheduler config; its class name.

    Each is built once per loaded pipeline (the pipeline resets its state at every call's `set_timesteps`).
    """
    if name in loaded.schedulers:
        loaded.pipe.scheduler = loaded.schedulers[name]
        return type(loaded.pipe.scheduler).__name__
    import diffusers

    config = loaded.base_scheduler_config
    if name == "model":
        cls_name = config.get("_class_name", "DDIMScheduler")
        scheduler = getattr(diffusers, cls_name).from_config(config)
    elif name == "dpm++":
        # DPM-Solver++ (2M): second order, multistep; about 25 steps match 200 DDIM steps.
        scheduler = diffusers.DPMSolverMultistepScheduler.from_config(
            config, algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=False
        )
    elif name == "ddim":
        scheduler = diffusers.DDIMScheduler.from_config(config)
    elif name == "euler":
        scheduler = diffusers.EulerDiscreteScheduler.from_config(config)
    elif name == "pndm":
        scheduler = diffusers.PNDMScheduler.from_config(config, skip_prk_steps=True)
    else:
        raise ValueError(f"unknown scheduler {name!r}; one of {', '.join(SCHEDULERS)}")
    loaded.pipe.scheduler = loaded.schedulers[name] = scheduler
    return type(scheduler).__name__


def install_language_model_fix(pipe: Any) -> None:
    """Give an AudioLDM 2 pipeline a language-model loop that works with transformers 5.

    diffusers' `AudioLDM2Pipeline.generate_language_model` calls GPT-2's
    generation helpers (`_get_initial_cache_position`,
    `_update_model_kwargs_for_generation`), which `GPT2Model` no longer has
    (diffusers issue #12630): every AudioLDM 2 checkpoint fails on transformers
    5. This loop does the same work, eight greedy steps of hidden states with a
    key/value cache, through GPT-2's plain forward call.
    """
    pipe.generate_language_model = types.MethodType(_generate_language_model, pipe)


def _generate_language_model(self: Any, inputs_embeds: Any, max_new_tokens: int | None = None, **model_kwargs: Any) -> Any:
    import torch
    from transformers import DynamicCache

    steps = max_new_tokens if max_new_tokens is not None else self.language_model.config.max_new_tokens
    mask = model_kwargs.get("attention_mask")
    # transformers 5.2x renamed GPT-2's `past_key_values` argument to `cache` (the old name warns, and goes in
    # 5.40); the cache object is filled in place either way.
    cache_arg = "cache" if "cache" in inspect.signature(self.language_model.forward).parameters else "past_key_values"
    cache = DynamicCache()
    step_input = inputs_embeds
    generated = []
    for _ in range(steps):
        out = self.language_model(
            inputs_embeds=step_input, attention_mask=mask, use_cache=True, output_hidden_states=True,
            return_dict=True, **{cache_arg: cache},
        )
        nxt = out.hidden_states[-1][:, -1:, :]
        generated.append(nxt)
        step_input = nxt
        if mask is not None:
            mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
    return torch.cat(generated, dim=1)
