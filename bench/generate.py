"""grym's text-to-audio against diffusers as a speed-minded user would run it, in one run.

Run here (CPU, tiny models):       .venv/bin/python bench/generate.py --tiny
Run on a GPU (real-size, random):  python bench/generate.py --real-size --device cuda

For each model (AudioLDM `cvssp/audioldm-s-full-v2` and AudioLDM 2 `cvssp/audioldm2-music`) the
pipeline is built from configs with seeded random weights (the compute of a real checkpoint is
the same: same shapes, same number of operations) and saved as a diffusers safetensors folder.
Then, on the same folder and the same prompt, 10 s of audio each, at grym's step counts (16
DPM++ steps for AudioLDM, 25 for AudioLDM 2):

- diffusers fp16 + DPM++: `from_pretrained(folder, torch_dtype=float16).to("cuda")`, the
  DPM-Solver++ 2M scheduler, `pipe(prompt, audio_length_in_s=10, num_inference_steps=N)`;
- diffusers fp16 + DPM++ + compile: the same with `pipe.unet = torch.compile(pipe.unet,
  mode="reduce-overhead")`, diffusers' own speed advice. This is the peer every ratio is
  against ("vs compiled"). AudioLDM 2 gets grym's GPT-2 loop fix in every diffusers row, without
  which it does not run on transformers 5 (diffusers issue #12630);
- diffusers defaults (with `--defaults`): fp32, its default scheduler and steps;
- grym full: `TextToAudio.generate` through the registry at grym's defaults (fp16, DPM++, the UNet,
  VAE and vocoder compiled with frozen weights, and those and the text encoders replayed as CUDA graphs:
  grym_bridge.models.fast), including conforming to 48 kHz stereo at -14 LUFS (on the GPU:
  grym_bridge.generate.conform_gpu) and writing the file with provenance; also with graphs only
  (`models.compile off`);
- grym 4 variations: one call making 4 clips (one batch), against the time of one;
- grym low_vram: the documented 6 GB mode (fp16, model CPU offload, sliced VAE), for its peak;
- where the time goes: grym full's parts for 1 and 4 variations, each timed between two synchronizations;
- cold start (with `--cold`): a fresh process, from its start (weights on disk) to the first 10 s
  clip written, for grym (the serve path: config, registry, load, generate, write) with an empty
  compile cache (a machine's first run) and again with the cache the first run left, and for the
  compiled diffusers peer with an empty cache (with `--cold-cached`, also with its cache warm).
  grym's first clip comes from its eager graphs while it compiles in the background; its rows also
  print when that compile was done and a clip's time after it, inductor's cache counters and
  dynamo's compile phases.

`--check` also compares the final latents of eager, graphed and graphed + compiled pipelines.

Warm rows: after untimed warm-up calls of the same length (kernels, graph capture; for grym, its
background compile waited for and the compiled graphs captured), the median of `--runs` timed
calls. Printed per row: seconds per 10 s of audio, x real time, peak memory (GPU:
torch.cuda.max_memory_allocated; CPU: peak RSS growth sampled every 10 ms) and
the speed-up over the compiled peer. Goals on the GPU (issue 22): grym >= 1.3x the compiled peer
for both models, 4 variations < 2x one, low_vram peak <= 6 GB.

The real-size configurations are those of the published checkpoints, as the diffusers conversion
scripts derive them from the original AudioLDM / AudioLDM 2 configs (scripts/
convert_original_audioldm{,2}_to_diffusers.py: model_channels 128, channel_mult 1,2,3,5,
attention at resolutions 8,4,2, two res blocks; a 3-level 128-channel mel VAE with 8 latent
channels; a 16 kHz HiFi-GAN with 64 mels and upsampling 5,4,2,2,2), with the text models of
laion/clap-htsat-unfused (RoBERTa-base text branch, HTSAT audio branch), google/flan-t5-large and
gpt2. Tokenizers are tiny (grym_bridge.models.synthetic): prompts are a handful of tokens either
way; the CLAP tokenizer pads to 512 like the real one. Needs on the GPU machine: torch, diffusers,
transformers, accelerate, safetensors, soxr, soundfile, scipy, platformdirs, psutil.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grym_bridge.config import load_config  # noqa: E402
from grym_bridge.generate import runner  # noqa: E402
from grym_bridge.generate.options import GenerateOptions  # noqa: E402
from grym_bridge.generate.runner import TextToAudio  # noqa: E402
from grym_bridge.models import audioldm, fast, synthetic  # noqa: E402

PROMPT = "dusty lofi hip hop drum loop with warm bass"
AUDIO_S = 10.0
GB = 1024**3
PEER = "diffusers fp16 + DPM++ + compile"

_VOCODER = dict(model_in_dim=64, sampling_rate=16000, upsample_initial_channel=1024, upsample_rates=[5, 4, 2, 2, 2],
                upsample_kernel_sizes=[16, 16, 8, 4, 4], resblock_kernel_sizes=[3, 7, 11],
                resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]], normalize_before=False)
_VAE = dict(sample_size=512, in_channels=1, out_channels=1, block_out_channels=[128, 256, 512], latent_channels=8,
            layers_per_block=2, down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3,
            scaling_factor=0.9228)
_SCHEDULER = dict(beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear", num_train_timesteps=1000,
                  clip_sample=False, set_alpha_to_one=False, steps_offset=1)
_CLAP_TEXT = dict(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                  intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, projection_dim=512,
                  pad_token_id=1, bos_token_id=0, eos_token_id=2)
_UNET = dict(sample_size=128, in_channels=8, out_channels=8, block_out_channels=[128, 256, 384, 640], layers_per_block=2,
             down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
             up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"])

#: cvssp/audioldm-s-full-v2: FiLM-conditioned UNet (the CLAP embedding is concatenated to the time embedding).
REAL_AUDIOLDM: dict[str, Any] = {
    "family": "audioldm", "tokenizer_max_length": 512, "vocoder": _VOCODER, "vae": _VAE, "scheduler": _SCHEDULER,
    "text_encoder": _CLAP_TEXT,
    "unet": dict(_UNET, cross_attention_dim=[128, 256, 384, 640], class_embed_type="simple_projection",
                 projection_class_embeddings_input_dim=512, class_embeddings_concat=True),
}

#: cvssp/audioldm2-music: UNet with self-attention plus cross-attention to GPT-2 (768) and Flan-T5 (1024) states.
REAL_AUDIOLDM2: dict[str, Any] = {
    "family": "audioldm2", "tokenizer_max_length": 512, "tokenizer_2_max_length": 128, "vocoder": _VOCODER,
    "vae": _VAE, "scheduler": _SCHEDULER, "clap_text": _CLAP_TEXT,
    "clap_audio": dict(hidden_size=768, depths=[2, 2, 6, 2], num_attention_heads=[4, 8, 16, 32], spec_size=256,
                       patch_embeds_hidden_size=96, num_mel_bins=64, window_size=8, projection_dim=512),
    "clap_projection_dim": 512,
    "t5": dict(vocab_size=32128, d_model=1024, d_kv=64, d_ff=2816, num_layers=24, num_heads=16,
               feed_forward_proj="gated-gelu", tie_word_embeddings=False),
    "gpt2": dict(n_embd=768, n_layer=12, n_head=12, n_positions=1024, vocab_size=50257),
    "max_new_tokens": 8,
    "unet": dict(_UNET, cross_attention_dim=[[None, 768, 1024]] * 4),
}

MODELS = {"audioldm": "cvssp/audioldm-s-full-v2", "audioldm2": "cvssp/audioldm2-music"}
#: grym's default steps per family (the registry's), used for every DPM++ row.
STEPS = {"audioldm": 16, "audioldm2": 25}


@dataclass
class Row:
    model: str
    setup: str
    steps: int
    scheduler: str
    dtype: str
    seconds: float
    peak_gb: float
    note: str = ""


class PeakMemory:
    """Peak memory while the block runs: CUDA allocator peak, or sampled process RSS growth on the CPU."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.peak_bytes = 0

    def __enter__(self) -> "PeakMemory":
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            return self
        import psutil

        proc = psutil.Process()
        self._base = proc.memory_info().rss
        self._stop = threading.Event()

        def sample() -> None:
            while not self._stop.wait(0.01):
                self.peak_bytes = max(self.peak_bytes, proc.memory_info().rss - self._base)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            self.peak_bytes = torch.cuda.max_memory_allocated()
        else:
            self._stop.set()
            self._thread.join()


def timed(device: str, fn: Callable[[], Any]) -> tuple[float, float]:
    """(seconds, peak GB) of one call of `fn`."""
    with PeakMemory(device) as mem:
        start = time.perf_counter()
        fn()
        sync(device)
        seconds = time.perf_counter() - start
    return seconds, mem.peak_bytes / GB


def median_timed(device: str, fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    """(median seconds, largest peak GB) over `runs` calls of `fn`."""
    results = [timed(device, fn) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def free(device: str) -> None:
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


# -- diffusers, as a user tunes it ----------------------------------------------------------------

def diffusers_pipe(folder: Path, family: str, device: str, half: bool = True, dpm: bool = True) -> Any:
    """The diffusers pipeline of `folder`, fp16 and DPM-Solver++ as diffusers' speed docs advise."""
    import diffusers
    import torch

    cls = diffusers.AudioLDMPipeline if family == "audioldm" else diffusers.AudioLDM2Pipeline
    kwargs = {"torch_dtype": torch.float16} if half and device == "cuda" else {}
    pipe = cls.from_pretrained(folder, **kwargs).to(device)
    if dpm:
        pipe.scheduler = diffusers.DPMSolverMultistepScheduler.from_config(
            pipe.scheduler.config, algorithm_type="dpmsolver++", solver_order=2)
    if family == "audioldm2":
        audioldm.install_language_model_fix(pipe)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def bench_diffusers(folder: Path, family: str, device: str, runs: int, compile_unet: bool) -> list[Row]:
    """The fp16 + DPM++ row, and (with `compile_unet`) the compiled peer's row, on one pipeline."""
    import torch

    pipe = diffusers_pipe(folder, family, device)
    steps = STEPS[family]
    call = lambda: pipe(PROMPT, audio_length_in_s=AUDIO_S, num_inference_steps=steps)  # noqa: E731
    pipe(PROMPT, audio_length_in_s=AUDIO_S, num_inference_steps=2)  # warm-up, not timed
    seconds, peak = median_timed(device, call, runs)
    dtype = str(pipe.unet.dtype).replace("torch.", "")
    rows = [Row(MODELS[family], "diffusers fp16 + DPM++", steps, "DPMSolverMultistepScheduler", dtype, seconds, peak)]
    if compile_unet:
        pipe.unet = torch.compile(pipe.unet, mode="reduce-overhead")
        first, _ = timed(device, call)  # compiles, then records its CUDA graphs
        call()
        seconds, peak = median_timed(device, call, runs)
        rows.append(Row(MODELS[family], PEER, steps, "DPMSolverMultistepScheduler", dtype, seconds, peak,
                        f"first call (compiling) {first:.1f} s"))
    del pipe
    return rows


def bench_diffusers_defaults(folder: Path, family: str, device: str) -> Row:
    """diffusers at its defaults: fp32, the model's scheduler and diffusers' default step count."""
    pipe = diffusers_pipe(folder, family, device, half=False, dpm=False)
    pipe(PROMPT, audio_length_in_s=AUDIO_S, num_inference_steps=2)
    seconds, peak = timed(device, lambda: pipe(PROMPT, audio_length_in_s=AUDIO_S))
    steps = inspect.signature(pipe.__call__).parameters["num_inference_steps"].default
    return Row(MODELS[family], "diffusers defaults", steps, type(pipe.scheduler).__name__, "float32", seconds, peak)


# -- grym -----------------------------------------------------------------------------------------

def grym(models_dir: Path, device: str, mode: str, out: Path, *, graphs: bool = True,
         compile: str = "auto") -> TextToAudio:
    config = load_config(None, {"data_dir": str(out), "models.dirs": [str(models_dir)], "models.device": device,
                                "models.memory_mode": mode, "models.cuda_graphs": graphs, "models.compile": compile,
                                "paths.allowed_roots": [str(out)]}, environ={})
    return TextToAudio(config)


def options(family: str, **kw: Any) -> GenerateOptions:
    return GenerateOptions(prompt=PROMPT, duration_s=AUDIO_S, seed=0, model=MODELS[family], **kw)


def warm_up(t2a: TextToAudio, family: str, **kw: Any) -> float:
    """Untimed calls until grym runs at full speed for this shape: one that captures its graphs (and, on a GPU,
    starts compiling it in the background), then, once the compile is done, one that captures the compiled
    graphs. Returns the seconds spent waiting for the background compile."""
    t2a.generate(options(family, steps=2, **kw))
    t = time.perf_counter()
    loaded = t2a.load(MODELS[family])
    if not loaded.wait_compiled():
        raise RuntimeError("the background compile did not finish")
    waited = time.perf_counter() - t
    if loaded.compiled:
        t2a.generate(options(family, steps=2, **kw))
    return waited


def grym_note(t2a: TextToAudio, family: str, device: str, memory_mode: str) -> str:
    """Which parts run eagerly, and which compiled parts still replay uncompiled graphs (both should be none)."""
    parts = fast.status(t2a.load(MODELS[family]).pipe) if memory_mode == "full" and device == "cuda" else {}
    eager = [p for p, s in parts.items() if s == "eager"]
    behind = [p for p, s in parts.items() if "uncompiled" in s]
    return "; ".join(([f"eager: {', '.join(eager)}"] if eager else []) +
                     ([f"uncompiled graphs: {', '.join(behind)}"] if behind else []))


def bench_grym(t2a: TextToAudio, family: str, device: str, runs: int, label: str) -> Row:
    waited = warm_up(t2a, family)  # the same length as the timed calls
    result: list[Any] = []
    seconds, peak = median_timed(device, lambda: result.append(t2a.generate(options(family))), runs)
    r = result[-1]
    note = grym_note(t2a, family, device, r.memory_mode)
    if t2a.load(MODELS[family]).compiled:
        note = "; ".join(filter(None, [f"background compile {waited:.1f} s", note]))
    return Row(MODELS[family], f"grym {r.memory_mode}{label}", r.steps, r.scheduler, r.dtype, seconds, peak, note)


def bench_variations(t2a: TextToAudio, family: str, device: str, runs: int, one: Row) -> Row:
    warm_up(t2a, family, variations=4)  # the batch of 4 has its own graphs (and compile)
    seconds, peak = median_timed(device, lambda: t2a.generate(options(family, variations=4)), runs)
    note = "; ".join(filter(None, [f"{seconds / one.seconds:.2f}x the time of one (goal < 2x)",
                                   grym_note(t2a, family, device, "full")]))
    return Row(one.model, "grym full, 4 variations in one call", one.steps, one.scheduler, one.dtype, seconds, peak,
               note)


def breakdown(t2a: TextToAudio, family: str, device: str, variations: int = 1) -> dict[str, float]:
    """Seconds per part of one warm grym call of `variations` clips, each part timed between two synchronizations."""
    loaded = t2a.load(MODELS[family])
    spent: dict[str, float] = {}
    undo: list[Callable[[], None]] = []

    def timing(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            sync(device)
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                sync(device)
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t
        return call

    for part, obj, method, _warmup in fast._targets(loaded.pipe):
        had = method in obj.__dict__
        current = getattr(obj, method)
        setattr(obj, method, timing(part, current))
        undo.append((lambda o=obj, m=method, c=current, h=had: setattr(o, m, c) if h else delattr(o, m)))
    for name, module, attr in (("conform", runner, "conform"), ("conform", runner, "conform_batch"),
                               ("write", runner.clip_files, "write_clip")):
        current = getattr(module, attr)
        setattr(module, attr, timing(name, current))
        undo.append(lambda m=module, a=attr, c=current: setattr(m, a, c))
    try:
        total, _ = timed(device, lambda: t2a.generate(options(family, variations=variations)))
    finally:
        for u in undo:
            u()
    spent["other (scheduler, glue, copies)"] = total - sum(spent.values())
    spent["total"] = total
    return spent


def graph_replay_error(folder: Path, cache: Path) -> dict[str, float]:
    """Largest difference of the final latents from the eager pipeline's (same seed): graphed, graphed + compiled.

    The CUDA graphs replay the eager kernels (expect 0); the compiled UNet fuses fp16 work differently.
    """
    import torch

    finals = []
    for fast_on, comp in ((False, False), (True, False), (True, True)):
        loaded = audioldm.load_pipeline(folder, device="cuda", memory_mode="full", cuda_graphs=fast_on,
                                        compile=comp, compile_cache=cache)
        audioldm.set_scheduler(loaded, "dpm++")
        seen: list[Any] = []
        for _ in range(2):  # the first call captures the graph (and compiles in the background); the second
            # replays it (or captures the compiled one). grym's own length: 10 s and its margin.
            loaded.pipe(PROMPT, audio_length_in_s=AUDIO_S + 0.1, num_inference_steps=8, output_type="pt",
                        generator=torch.Generator("cpu").manual_seed(3),
                        callback=lambda i, t, latents: seen.append(latents.float().clone()), callback_steps=1)
            loaded.wait_compiled()
        finals.append(seen[-1])
        del loaded
        free("cuda")
    return {"graphs": float((finals[0] - finals[1]).abs().max()),
            "graphs + compiled UNet": float((finals[0] - finals[2]).abs().max()),
            "latent scale (largest eager value)": float(finals[0].abs().max())}


# -- cold start -----------------------------------------------------------------------------------

def cold_child(kind: str, folder: Path, family: str, data: Path) -> None:
    """In a fresh process: load and make the first 10 s clip; prints seconds since the process started (for
    grym also when its background compile was done, and a clip's time after it)."""
    started = float(os.environ["GRYM_BENCH_T0"])
    phases: dict[str, float] = {}  # seconds since the process started, at the end of each phase
    later: dict[str, float] = {}  # after the first clip: when the background compile is done, a clip's time then
    if kind == "grym":
        t2a = grym(folder.parents[1], "cuda", "auto", data)
        phases["imports"] = time.time() - started
        t2a.load(MODELS[family])
        phases["load"] = time.time() - started
        result = t2a.generate(options(family))
        done = time.time()
        assert Path(result.files[0].path).exists()
        # the first clip came from the eager graphs; how long until clips come compiled, and how fast then
        loaded = t2a.load(MODELS[family])
        loaded.wait_compiled()
        later["compiled, s after start"] = time.time() - started
        t2a.generate(options(family))  # captures the compiled graphs
        later["a clip then, s"], _ = timed("cuda", lambda: t2a.generate(options(family)))
    else:
        import torch

        phases["imports"] = time.time() - started
        pipe = diffusers_pipe(folder, family, "cuda")
        pipe.unet = torch.compile(pipe.unet, mode="reduce-overhead")
        phases["load"] = time.time() - started
        audio = pipe(PROMPT, audio_length_in_s=AUDIO_S, num_inference_steps=STEPS[family]).audios[0]
        import soundfile

        soundfile.write(str(data / "peer.wav"), audio, 16000)
        done = time.time()
    from torch._dynamo.utils import compile_times, counters

    # inductor's on-disk cache at work (hits) or not (misses, bypasses): the second start should hit
    cache = {k.removeprefix("fxgraph_cache_"): v for k, v in counters["inductor"].items()
             if k.startswith("fxgraph_cache")}
    cache.update({f"aot {k.removeprefix('autograd_cache_')}": v for k, v in counters["aot_autograd"].items()
                  if k.startswith("autograd_cache")})
    # where compiling spent its time (dynamo's per-phase totals, the phases over a second)
    names, totals = compile_times(repr="csv", aggregate=True)
    spent = {name: round(float(total), 1) for name, total in zip(names, totals) if float(total) >= 1.0}
    print("COLD " + json.dumps({"seconds": done - started, "phases": phases, "later": later, "cache": cache,
                                "compile": spent}), flush=True)


def cold_start(kind: str, folder: Path, family: str, data: Path) -> tuple[float, str]:
    """Seconds from a new process's start to its first clip written (the caches under `data` persist), and
    where they went ("imports 5.1 s, load 9.0 s, first clip 44.7 s")."""
    data.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GRYM_BENCH_T0=repr(time.time()))
    if kind == "peer":
        env["TORCHINDUCTOR_CACHE_DIR"] = str(data / "inductor")
    else:
        env.pop("TORCHINDUCTOR_CACHE_DIR", None)  # grym's own default: <data dir>/cache/compile
    proc = subprocess.run([sys.executable, __file__, "--cold-child", kind, "--folder", str(folder),
                           "--family", family, "--data", str(data)], env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("COLD "):
            report = json.loads(line[5:])
            ends = [*report["phases"].items(), ("first clip", report["seconds"])]
            spans = [(name, end - (ends[i - 1][1] if i else 0.0)) for i, (name, end) in enumerate(ends)]
            parts = [f"{name} {span:.1f} s" for name, span in spans]
            parts += [f"{name} {value:.{3 if value < 10 else 1}f}" for name, value in report["later"].items()]
            parts += [f"inductor cache {k} {v}" for k, v in report["cache"].items()]
            parts += [f"compile: {k} {v} s" for k, v in report["compile"].items()]
            return float(report["seconds"]), ", ".join(parts)
    raise RuntimeError(f"cold start of {kind} failed:\n{proc.stderr[-3000:]}")


# -- main -----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--tiny", action="store_true", help="tiny configurations (the default; runs on a CPU in seconds)")
    size.add_argument("--real-size", action="store_true", help="the published checkpoints' configurations")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--models", default="audioldm2,audioldm", help="comma-separated: audioldm2, audioldm")
    parser.add_argument("--keep", type=Path, default=None, help="build the model folders here and keep them")
    parser.add_argument("--runs", type=int, default=3, help="timed calls per warm row (their median)")
    parser.add_argument("--defaults", action="store_true", help="also diffusers at its defaults (fp32, slow)")
    parser.add_argument("--cold", action="store_true", help="also the cold-start rows (fresh processes)")
    parser.add_argument("--cold-cached", action="store_true", help="with --cold: the peer again, its cache warm too")
    parser.add_argument("--no-warm", action="store_true", help="skip the warm rows (with --cold)")
    parser.add_argument("--no-cold-peer", action="store_true", help="with --cold: grym's cold rows only")
    parser.add_argument("--check", action="store_true", help="also the eager-vs-compiled-graphs latent difference")
    parser.add_argument("--cold-child", choices=["grym", "peer"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--family", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_child:
        cold_child(args.cold_child, args.folder, args.family, args.data)
        return

    import torch

    specs = {"audioldm": REAL_AUDIOLDM, "audioldm2": REAL_AUDIOLDM2} if args.real_size else \
        {f: synthetic.tiny_spec(f) for f in ("audioldm", "audioldm2")}
    cuda = args.device == "cuda"
    gpu = torch.cuda.get_device_name(0) if cuda else "CPU"
    import diffusers
    import transformers

    print(f"# {'real-size' if args.real_size else 'tiny'} random-weight models on {args.device} ({gpu}), "
          f"torch {torch.__version__}, diffusers {diffusers.__version__}, transformers {transformers.__version__}; "
          f"{AUDIO_S:g} s of audio per run", flush=True)
    rows: list[Row] = []

    def add(*new: Row) -> None:
        for row in new:
            rows.append(row)
            print(_format(row, _peer(rows, row)), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        models_dir = args.keep or Path(tmp) / "models"
        for family in [m.strip() for m in args.models.split(",") if m.strip()]:
            folder = models_dir / MODELS[family]
            if not (folder / "model_index.json").exists():
                t = time.perf_counter()
                synthetic.save(synthetic.build_pipeline(specs[family], seed=0), folder)
                print(f"# built {MODELS[family]} in {time.perf_counter() - t:.0f} s", flush=True)
            if not args.no_warm:
                if args.defaults:
                    add(bench_diffusers_defaults(folder, family, args.device))
                    free(args.device)
                add(*bench_diffusers(folder, family, args.device, args.runs, compile_unet=cuda))
                free(args.device)
                out = Path(tmp) / f"out-{family}"
                t2a = grym(models_dir, args.device, "auto", out)
                one = bench_grym(t2a, family, args.device, args.runs, "")
                add(one)
                add(bench_variations(t2a, family, args.device, args.runs, one))
                for n in (1, 4):
                    parts = breakdown(t2a, family, args.device, n)
                    print(f"# {MODELS[family]}, {one.setup}, {n} variation(s), where the time goes: " + ", ".join(
                        f"{k} {v * 1000:.1f} ms" for k, v in parts.items()), flush=True)
                t2a.registry.budget.clear()
                free(args.device)
                if cuda:
                    t2a = grym(models_dir, args.device, "auto", out, compile="off")
                    add(bench_grym(t2a, family, args.device, args.runs, ", graphs only (compile off)"))
                    t2a.registry.budget.clear()
                    free(args.device)
                    t2a = grym(models_dir, args.device, "low_vram", out)
                    add(bench_grym(t2a, family, args.device, 1, ""))
                    t2a.registry.budget.clear()
                    free(args.device)
            if cuda and args.check:
                diffs = graph_replay_error(folder, Path(tmp) / f"out-{family}" / "cache" / "compile")
                print(f"# {MODELS[family]}: eager vs grym, largest difference of the final latents: " + ", ".join(
                    f"{k} {v:.3g}" for k, v in diffs.items()), flush=True)
            if cuda and args.cold:
                cold = Path(tmp) / f"cold-{family}"
                both = ["empty compile cache", "cache of the first run"]
                kinds = (("grym", "grym serve"),) + (() if args.no_cold_peer else (("peer", PEER),))
                for kind, label in kinds:
                    for run in (both if kind == "grym" or args.cold_cached else both[:1]):
                        seconds, spans = cold_start(kind, folder, family, cold / kind)
                        add(Row(MODELS[family], f"cold: {label}, {run}", STEPS[family], "", "float16",
                                seconds, 0.0, f"process start to first clip written ({spans})"))
    print()
    print("| model | setup | steps | dtype | s per 10 s audio | x real time | peak mem GB | vs compiled peer | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(_format(row, _peer(rows, row)))


def _peer(rows: list[Row], row: Row) -> Row | None:
    """The compiled peer's row of `row`'s model (its cold row for cold rows), or None (CPU runs)."""
    setup = f"cold: {PEER}" if row.setup.startswith("cold") else PEER
    run = row.setup.split(", ")[-1] if row.setup.startswith("cold") else ""
    return next((r for r in rows if r.model == row.model and r.setup.startswith(setup) and r.setup.endswith(run)),
                None)


def _format(row: Row, peer: Row | None) -> str:
    per10 = row.seconds * 10.0 / AUDIO_S
    ratio = f"{peer.seconds / row.seconds:.2f}x" if peer is not None else "-"
    return (f"| {row.model} | {row.setup} | {row.steps} | {row.dtype} | {per10:.3f} | "
            f"{AUDIO_S / row.seconds:.1f} | {row.peak_gb:.3f} | {ratio} | {row.note} |")


if __name__ == "__main__":
    main()
