"""grym's text-to-audio defaults against a plain diffusers pipeline call with its defaults, in one run.

Run here (CPU, tiny models):       .venv/bin/python bench/generate.py --tiny
Run on a GPU (real-size, random):  python bench/generate.py --real-size --device cuda

For each model (AudioLDM `cvssp/audioldm-s-full-v2` and AudioLDM 2 `cvssp/audioldm2-music`) the
pipeline is built from configs with seeded random weights (the compute of a real checkpoint is
the same: same shapes, same number of operations) and saved as a diffusers safetensors folder.
Then, on the same folder and the same prompt, 10 s of audio each:

- diffusers: `Pipeline.from_pretrained(folder).to(device)` and `pipe(prompt, audio_length_in_s=10)`,
  everything at diffusers' defaults (fp32; AudioLDM 10 DDIM steps at guidance 2.5, AudioLDM 2
  200 DDIM steps at guidance 3.5). AudioLDM 2 gets grym's GPT-2 loop fix, without which it does
  not run at all on transformers 5 (diffusers issue #12630).
- grym: `TextToAudio.generate` at grym's defaults through the registry (fp16 on a GPU,
  DPM-Solver++ 2M with the model's default steps: 16 for AudioLDM, 25 for AudioLDM 2; memory mode
  auto, which is full on a large GPU, with the UNet replayed as CUDA graphs), including conforming
  to 48 kHz stereo at -14 LUFS and writing the file with provenance; on a GPU also without CUDA
  graphs, to show what they bring.
- grym low_vram: the same in the documented 6 GB mode (fp16, model CPU offload, sliced VAE).

Printed per row: seconds per 10 s of audio, x real time (audio seconds per wall second), peak
memory during generation (GPU: torch.cuda.max_memory_allocated; CPU: peak RSS growth sampled every
10 ms) and the speed-up over the diffusers row. Each setup first runs a 2-step warm-up call of the
same length (CUDA kernels, allocator, graph capture), which is not timed. Goals on the GPU (issue 6): grym >= 3x faster
than diffusers' defaults for the same audio length, low_vram peak <= 6 GB.

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
from grym_bridge.generate.options import GenerateOptions  # noqa: E402
from grym_bridge.generate.runner import TextToAudio  # noqa: E402
from grym_bridge.models import audioldm, synthetic  # noqa: E402

PROMPT = "dusty lofi hip hop drum loop with warm bass"
AUDIO_S = 10.0
GB = 1024**3

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


@dataclass
class Row:
    model: str
    setup: str
    steps: int
    scheduler: str
    dtype: str
    seconds: float
    peak_gb: float


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
        if device == "cuda":
            import torch

            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return seconds, mem.peak_bytes / GB


def free(device: str) -> None:
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


def bench_diffusers(folder: Path, family: str, device: str) -> Row:
    import diffusers

    cls = diffusers.AudioLDMPipeline if family == "audioldm" else diffusers.AudioLDM2Pipeline
    pipe = cls.from_pretrained(folder).to(device)
    if family == "audioldm2":
        audioldm.install_language_model_fix(pipe)
    pipe.set_progress_bar_config(disable=True)
    pipe(PROMPT, audio_length_in_s=AUDIO_S, num_inference_steps=2)  # warm-up, not timed
    seconds, peak = timed(device, lambda: pipe(PROMPT, audio_length_in_s=AUDIO_S))
    default_steps = inspect.signature(pipe.__call__).parameters["num_inference_steps"].default
    return Row(MODELS[family], "diffusers defaults", default_steps, type(pipe.scheduler).__name__, "float32",
               seconds, peak)


def bench_grym(models_dir: Path, family: str, device: str, mode: str, out: Path, graphs: bool = True) -> Row:
    config = load_config(None, {"data_dir": str(out), "models.dirs": [str(models_dir)], "models.device": device,
                                "models.memory_mode": mode, "models.cuda_graphs": graphs,
                                "paths.allowed_roots": [str(out)]}, environ={})
    t2a = TextToAudio(config)
    model_id = MODELS[family]
    # Warm-up, not timed: the same length (on a GPU this captures the CUDA graph of that shape, once per server).
    t2a.generate(GenerateOptions(prompt=PROMPT, duration_s=AUDIO_S, steps=2, seed=0, model=model_id))
    result: list[Any] = []
    seconds, peak = timed(device, lambda: result.append(
        t2a.generate(GenerateOptions(prompt=PROMPT, duration_s=AUDIO_S, seed=0, model=model_id))))
    r = result[0]
    setup = f"grym {r.memory_mode}" + ("" if graphs or device != "cuda" or r.memory_mode != "full" else ", no CUDA graphs")
    row = Row(model_id, setup, r.steps, r.scheduler, r.dtype, seconds, peak)
    t2a.registry.budget.clear()
    free(device)
    return row


def graph_replay_error(folder: Path) -> float:
    """Largest difference of the final latents between the eager UNet and its CUDA graph replay (same seed)."""
    import torch

    finals = []
    for graphs in (False, True):
        loaded = audioldm.load_pipeline(folder, device="cuda", memory_mode="full", cuda_graphs=graphs)
        audioldm.set_scheduler(loaded, "dpm++")
        seen: list[Any] = []
        for _ in range(2):  # the first call captures the graph; the second replays it
            loaded.pipe(PROMPT, audio_length_in_s=5.0, num_inference_steps=8,
                        generator=torch.Generator("cpu").manual_seed(3),
                        callback=lambda i, t, latents: seen.append(latents.float().clone()), callback_steps=1)
        finals.append(seen[-1])
        del loaded
        free("cuda")
    return float((finals[0] - finals[1]).abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--tiny", action="store_true", help="tiny configurations (the default; runs on a CPU in seconds)")
    size.add_argument("--real-size", action="store_true", help="the published checkpoints' configurations")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--models", default="audioldm2,audioldm", help="comma-separated: audioldm2, audioldm")
    parser.add_argument("--keep", type=Path, default=None, help="build the model folders here and keep them")
    args = parser.parse_args()

    import torch

    specs = {"audioldm": REAL_AUDIOLDM, "audioldm2": REAL_AUDIOLDM2} if args.real_size else \
        {f: synthetic.tiny_spec(f) for f in ("audioldm", "audioldm2")}
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else "CPU"
    print(f"# {'real-size' if args.real_size else 'tiny'} random-weight models on {args.device} ({gpu}), "
          f"torch {torch.__version__}; {AUDIO_S:g} s of audio per run")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        models_dir = args.keep or Path(tmp) / "models"
        for family in [m.strip() for m in args.models.split(",") if m.strip()]:
            folder = models_dir / MODELS[family]
            if not (folder / "model_index.json").exists():
                t = time.perf_counter()
                synthetic.save(synthetic.build_pipeline(specs[family], seed=0), folder)
                print(f"# built {MODELS[family]} in {time.perf_counter() - t:.0f} s", flush=True)
            base = bench_diffusers(folder, family, args.device)
            free(args.device)  # the diffusers pipeline is gone with its function's frame
            rows.append(base)
            runs = [("auto", True), ("auto", False), ("low_vram", True)] if args.device == "cuda" else [("auto", True)]
            for mode, graphs in runs:
                rows.append(bench_grym(models_dir, family, args.device, mode, Path(tmp) / f"out-{mode}", graphs))
            for row in rows[-len(runs) - 1:]:
                print(_format(row, base), flush=True)
            if args.device == "cuda":
                print(f"# {MODELS[family]}: CUDA graph replay vs eager UNet, largest difference of the final "
                      f"latents: {graph_replay_error(folder):.3g}", flush=True)
    print()
    print("| model | setup | steps | scheduler | dtype | s per 10 s audio | x real time | peak mem GB | vs diffusers |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        base = next(r for r in rows if r.model == row.model and r.setup == "diffusers defaults")
        print(_format(row, base))


def _format(row: Row, base: Row) -> str:
    per10 = row.seconds * 10.0 / AUDIO_S
    return (f"| {row.model} | {row.setup} | {row.steps} | {row.scheduler} | {row.dtype} | {per10:.2f} | "
            f"{AUDIO_S / row.seconds:.1f} | {row.peak_gb:.3f} | {base.seconds / row.seconds:.2f}x |")


if __name__ == "__main__":
    main()
