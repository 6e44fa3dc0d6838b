"""Text-to-audio generation: load the model, denoise with progress and cancel, conform, write, remember.

`TextToAudio.generate(options, progress)` is the capability the CLI, OSC and
the orchestrator call. The variations (seed, seed + 1, ...) are denoised
together, as one batch of one diffusers pipeline call (each from its own
seed's noise, so variation 3 of seed 7 is the clip seed 10 gives alone), with
a per-step callback: each denoising step reports progress, and the progress
callback raising `Cancelled` (the job queue's `job.progress` does when the job
was cancelled) stops the pipeline between two steps. With the pipeline whole
on a GPU the waveforms stay there and are conformed there, all at once
(`conform_gpu`); otherwise each is conformed on the host. The clips are then
written side by side in threads. A GPU running out of memory is
retried in the next lower memory mode (full -> model offload -> low VRAM ->
sequential) before failing clearly.

torch and diffusers are imported only when a model runs.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from grym_bridge.config import Config
from grym_bridge.errors import GrymError
from grym_bridge.generate import clip_files
from grym_bridge.generate.conform import SOURCE_MARGIN_S, Conformed, ConformSpec, conform
from grym_bridge.generate.conform_gpu import conform_batch
from grym_bridge.generate.options import GenerateOptions, ResolvedOptions, resolve
from grym_bridge.models import audioldm, compiled, fast
from grym_bridge.models.device import pick_device
from grym_bridge.models.registry import MemoryBudget, ModelRegistry

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
#: Remembers a written clip in the feature memory: (path, provenance) -> clip id, or None.
Remember = Callable[[Path, dict[str, Any]], "int | None"]
#: Share of the progress bar the denoising steps take; loading and writing share the rest.
_LOAD_SHARE, _DENOISE_SHARE = 0.1, 0.85
#: Variations denoised in one batch: all of them with the model whole on the GPU, fewer when offloading.
BATCH_FULL, BATCH_OFFLOAD = 16, 2


class OutOfMemory(GrymError):
    code = "out_of_memory"


@dataclass
class GenerateResult:
    """What a generation made: the files, and the settings that made them."""

    files: list[clip_files.GeneratedFile]
    model: str
    prompt: str
    negative_prompt: str
    seed: int
    steps: int
    scheduler: str
    guidance: float
    duration_s: float
    bars: int | None
    tempo_bpm: float
    device: str
    dtype: str
    memory_mode: str
    seconds: float
    source: dict[str, Any] = field(default_factory=dict)


def _notify(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0), message)


class TextToAudio:
    """The generation capability: one per process, models loaded on first use."""

    def __init__(self, config: Config, registry: ModelRegistry | None = None, *, budget: MemoryBudget | None = None,
                 remember: Remember | None = None) -> None:
        self.config = config
        self.registry = registry or ModelRegistry(config, budget)
        self.remember = remember

    # -- models -----------------------------------------------------------------------------------

    def load(self, model_id: str, memory_mode: str | None = None) -> audioldm.LoadedPipeline:
        """The loaded pipeline of `model_id` (loading it through the registry on first use)."""
        m = self.config.models
        mode = memory_mode or m.memory_mode

        def loader(_spec: Any, folder: Path) -> audioldm.LoadedPipeline:
            device = pick_device(m.device)
            return audioldm.load_pipeline(folder, device=device, dtype=m.dtype, memory_mode=mode,
                                          cuda_graphs=m.cuda_graphs, compile=compiled.wants_compile(m.compile, device),
                                          compile_cache=self.config.data_dir / "cache" / "compile")

        half = m.dtype in ("float16", "bfloat16") or (m.dtype == "auto" and m.device != "cpu")
        return self.registry.load(
            model_id, loader, lambda folder: audioldm.weights_bytes(folder, "float16" if half else "float32"),
            variant=f"{m.device}:{m.dtype}:{mode}", release=audioldm.release,
        )

    # -- generation -------------------------------------------------------------------------------

    def generate(self, options: GenerateOptions, progress: Progress | None = None, *,
                 out_dir: Path | None = None, source: dict[str, Any] | None = None,
                 remember: Remember | None = None) -> GenerateResult:
        """Generate `options.variations` clips; each is conformed, written with provenance and remembered.

        `remember` (default: the one given at construction) stores each written clip in the feature memory.
        """
        opts = resolve(options, self.config)
        started = time.monotonic()
        _notify(progress, 0.0, f"loading {opts.model.id}")
        loaded = self.load(opts.model.id, opts.memory_mode)
        scheduler = audioldm.set_scheduler(loaded, opts.scheduler)
        _notify(progress, _LOAD_SHARE, f"{opts.model.id} ready on {loaded.device} ({loaded.memory_mode})")

        folder = Path(out_dir) if out_dir is not None else self.config.renders_dir() / "generated"
        seeds = [opts.seed + i for i in range(opts.variations)]
        size = BATCH_FULL if loaded.memory_mode == "full" else BATCH_OFFLOAD
        chunks = [self._denoise(loaded, opts, seeds[first:first + size], first, progress)
                  for first in range(0, len(seeds), size)]
        _notify(progress, _LOAD_SHARE + _DENOISE_SHARE, f"conforming and writing {len(seeds)} clip(s)")
        # Waveforms still on the GPU are conformed there, a batch at once; host waveforms one by one below.
        audios: list[Any] = []
        for chunk in chunks:
            audios.extend(chunk if isinstance(chunk, list) else conform_batch(chunk, loaded.sample_rate, opts.conform))
        keep = remember or self.remember

        def finish(i: int) -> clip_files.GeneratedFile:
            return self._finish(loaded, opts, scheduler, seeds[i], i, audios[i], folder, source or {}, keep)

        if len(audios) == 1:
            files = [finish(0)]
        else:  # resampling, loudness and writing release the GIL: the clips are finished side by side
            with ThreadPoolExecutor(max_workers=min(len(audios), 4), thread_name_prefix="grym-conform") as pool:
                files = list(pool.map(finish, range(len(audios))))
        _notify(progress, 1.0, f"{len(files)} file(s) written")
        return GenerateResult(
            files=files, model=opts.model.id, prompt=opts.prompt, negative_prompt=opts.negative_prompt,
            seed=opts.seed, steps=opts.steps, scheduler=scheduler, guidance=opts.guidance,
            duration_s=opts.seconds, bars=opts.bars, tempo_bpm=opts.tempo_bpm, device=loaded.device,
            dtype=loaded.dtype, memory_mode=loaded.memory_mode, seconds=round(time.monotonic() - started, 3),
            source=source or {},
        )

    def _denoise(self, loaded: audioldm.LoadedPipeline, opts: ResolvedOptions, seeds: list[int], first: int,
                 progress: Progress | None) -> list[Any]:
        """The waveforms of `seeds` at the model's rate, retrying lower memory modes on OOM.

        A list of 1-D numpy arrays, or (a pipeline whole on a GPU) one `(len(seeds), samples)` tensor there.
        """
        while True:
            shape = (asked_seconds(loaded, opts.conform), len(seeds))
            if loaded.compiled and shape not in loaded.compiled_shapes:
                # A new length or batch size starts compiling in the background (models.compiled): this clip
                # is made meanwhile, uncompiled; say why it, and the next few, are slower.
                _notify(progress, _LOAD_SHARE + _DENOISE_SHARE * first / opts.variations,
                        f"compiling {opts.model.id} for {shape[0]:.2f} s x {len(seeds)} in the background (once "
                        "per length and batch, about a minute); clips are made meanwhile, a little slower")
            try:
                waves = run_pipeline(loaded, opts, seeds, self._step_reporter(opts, first, len(seeds), progress))
                if loaded.compiled:
                    loaded.compiled_shapes.add(shape)
                return waves
            except Exception as exc:
                if not audioldm.is_out_of_memory(exc):
                    raise
                lower = audioldm.lower_memory_mode(loaded.memory_mode)
                if lower is None:
                    raise OutOfMemory(
                        f"the GPU ran out of memory generating {opts.seconds:.1f} s with {opts.model.id} even in "
                        "sequential offload; ask for a shorter duration or fewer variations, or close what else "
                        "uses the GPU"
                    ) from None
                log.warning("out of GPU memory in %s mode; retrying in %s mode", loaded.memory_mode, lower)
                audioldm.replace(loaded, lower)

    @staticmethod
    def _step_reporter(opts: ResolvedOptions, first: int, count: int,
                       progress: Progress | None) -> Callable[[int], None]:
        total = opts.steps * opts.variations
        which = (f"variation {first + 1}/{opts.variations}" if count == 1
                 else f"variations {first + 1}-{first + count}/{opts.variations}")

        def on_step(step: int) -> None:
            done = first * opts.steps + (step + 1) * count
            _notify(progress, _LOAD_SHARE + _DENOISE_SHARE * done / total, f"{which}: step {step + 1}/{opts.steps}")

        return on_step

    def _finish(self, loaded: audioldm.LoadedPipeline, opts: ResolvedOptions, scheduler: str, seed: int,
                index: int, audio: Any, folder: Path, source: dict[str, Any],
                remember: Remember | None) -> clip_files.GeneratedFile:
        spec = opts.conform
        out = audio if isinstance(audio, Conformed) else conform(audio, loaded.sample_rate, spec, device=loaded.device)
        path = clip_files.output_path(folder, opts.prompt, seed, index)
        provenance = {
            "model": opts.model.id, "prompt": opts.prompt, "negative_prompt": opts.negative_prompt,
            "seed": seed, "variation": index, "steps": opts.steps, "scheduler": scheduler,
            "guidance": opts.guidance, "duration_s": spec.frames / spec.sample_rate, "bars": opts.bars,
            "tempo_bpm": opts.tempo_bpm, "beats_per_bar": opts.beats_per_bar, "loop": spec.loop,
            "sample_rate": spec.sample_rate, "channels": spec.channels, "target_lufs": spec.target_lufs,
            "gain_db": out.gain_db, "lufs": out.lufs, "model_sample_rate": loaded.sample_rate,
            "device": loaded.device, "dtype": loaded.dtype, "memory_mode": loaded.memory_mode,
            "license": opts.model.license, "source": source,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        sidecar = clip_files.write_clip(path, out.samples, out.sample_rate, provenance, out.pcm24)
        clip_id = None
        if remember is not None:
            try:
                clip_id = remember(path, provenance)
            except GrymError as exc:  # the file is made; failing to remember it must not lose it
                log.warning("generated %s but could not remember it: %s", path, exc.message)
        return clip_files.GeneratedFile(
            path=str(path), sidecar=str(sidecar), seed=seed, variation=index, duration_s=spec.frames / spec.sample_rate,
            frames=spec.frames, sample_rate=spec.sample_rate, channels=spec.channels, lufs=out.lufs,
            true_peak_dbtp=out.true_peak_dbtp, clip_id=clip_id,
        )


def asked_seconds(loaded: audioldm.LoadedPipeline, spec: ConformSpec) -> float:
    """Seconds of audio to ask `loaded` for, to conform into `spec`'s clip.

    Uncompiled: the clip, the loop's tail and a margin (`ConformSpec.source_seconds`). Compiled: a few
    lengths, each compiled once, rather than one per tempo and bar count: the clip's own length in whole
    `compiled.LENGTH_STEP_S`, plus the loop's tail and the margin (loops and one-shots share the lengths,
    and a whole 10 s asks for what it asked before). The conform cuts the clip to its bars either way.
    """
    if not loaded.compiled:
        return spec.source_seconds()
    return compiled.model_seconds(spec.frames / spec.sample_rate) + spec.crossfade_s + SOURCE_MARGIN_S


def run_pipeline(loaded: audioldm.LoadedPipeline, opts: ResolvedOptions, seed: int | list[int],
                 on_step: Callable[[int], None] | None = None) -> Any:
    """Call the diffusers pipeline once: one waveform per seed, in one batch; `on_step(i)` after each step.

    An int `seed` gives its waveform (1-D numpy at the model's rate); a list of seeds, a list of waveforms.
    A pipeline that keeps its waveforms on the GPU (`fast.waveform_on_device`) gives them there as a tensor
    instead: `(samples,)` for an int seed, `(len(seeds), samples)` for a list.

    The noise comes from one CPU generator per seed, so a seed gives the same start on every device and in
    any batch. The prompt is repeated per seed (rather than `num_waveforms_per_prompt`), so AudioLDM 2 does
    not re-rank the variations by their CLAP score: variation i stays seed + i.
    """
    import torch

    seeds = [seed] if isinstance(seed, int) else list(seed)
    generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]

    def callback(step: int, _timestep: Any, _latents: Any) -> None:
        if on_step is not None:
            on_step(step)  # may raise Cancelled: the pipeline stops between two steps

    n = len(seeds)
    on_device = fast.waveform_on_device(loaded.pipe)
    out = loaded.pipe(
        [opts.prompt] * n,
        negative_prompt=[opts.negative_prompt] * n if opts.negative_prompt else None,
        audio_length_in_s=asked_seconds(loaded, opts.conform),
        num_inference_steps=opts.steps,
        guidance_scale=opts.guidance,
        num_waveforms_per_prompt=1,
        generator=generators,
        callback=callback,
        callback_steps=1,
        output_type="pt" if on_device else "np",
    )
    if on_device:
        return out.audios[0] if isinstance(seed, int) else out.audios
    return out.audios[0] if isinstance(seed, int) else list(out.audios)
