"""Where a warm grym generation spends GPU and host time, and what the UNet step costs under variants.

A diagnostic for issue 22 (not a benchmark against a peer: bench/generate.py is that). On a GPU:

    python bench/generate_probe.py --keep /tmp/models --models audioldm

prints, per model: grym's warm seconds for 1 and 4 variations, the per-part breakdown of both, a
kernel profile (GPU busy time against wall time, kernel count, the costliest kernels), the compiled
peer's kernel profile, and one UNet step replayed as a CUDA graph at batch 2 and 8 (CFG of 1 and 4
variations) under each compile variant in `--variants`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import generate as bench  # noqa: E402
from grym_bridge.models import audioldm, synthetic  # noqa: E402


def kernel_profile(label: str, fn: Callable[[], Any], top: int = 12) -> None:
    """Run `fn` once under the profiler; print wall time, GPU kernel time, kernel count and the top kernels."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        wall = time.perf_counter() - t
    kernels: dict[str, list[float]] = {}
    busy = 0.0
    count = 0
    first, last = None, None
    for ev in prof.events():
        if ev.device_type == torch.autograd.DeviceType.CUDA:
            dur = ev.time_range.elapsed_us()
            busy += dur
            count += 1
            kernels.setdefault(ev.name[:90], []).append(dur)
            start = ev.time_range.start
            first = start if first is None else min(first, start)
            last = ev.time_range.end if last is None else max(last, ev.time_range.end)
    span = (last - first) / 1000 if first is not None else 0
    print(f"## {label}: wall {wall * 1000:.1f} ms (profiled), GPU kernel time {busy / 1000:.1f} ms in {count} "
          f"kernels, first-to-last kernel {span:.1f} ms", flush=True)
    for name, durs in sorted(kernels.items(), key=lambda kv: -sum(kv[1]))[:top]:
        print(f"   {sum(durs) / 1000:7.2f} ms  x{len(durs):5d}  {name}", flush=True)


def replay_ms(graph: Any, n: int = 30) -> float:
    import torch

    for _ in range(3):
        graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(n):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        graph.replay()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def unet_inputs(family: str, pipe: Any, batch: int) -> tuple[tuple, dict]:
    import torch

    dt, dev = pipe.unet.dtype, "cuda"
    x = torch.randn(batch, 8, 254, 16, device=dev, dtype=dt)
    t = torch.tensor(500, device=dev)
    if family == "audioldm":
        return (x, t), dict(encoder_hidden_states=None, class_labels=torch.randn(batch, 512, device=dev, dtype=dt))
    return (x, t), dict(encoder_hidden_states=torch.randn(batch, 8, 768, device=dev, dtype=dt),
                        encoder_hidden_states_1=torch.randn(batch, 9, 1024, device=dev, dtype=dt))


def unet_variants(folder: Path, family: str, variants: list[str]) -> None:
    """Per variant: compile seconds, and one step's median replay time at batch 2 and 8."""
    import torch

    loaded = audioldm.load_pipeline(folder, device="cuda", memory_mode="full", cuda_graphs=False)
    pipe = loaded.pipe
    torch.backends.cudnn.benchmark = True
    for variant in variants:
        torch._dynamo.reset()
        unet = pipe.unet
        ind = torch._inductor.config
        saved = {k: getattr(ind, k) for k in ("freezing", "conv_1x1_as_mm", "coordinate_descent_tuning",
                                               "max_autotune", "epilogue_fusion")}
        fn = unet.forward
        try:
            if variant == "channels_last":
                unet.to(memory_format=torch.channels_last)
            if variant.startswith("compile"):
                ind.conv_1x1_as_mm = True
                if "freeze" in variant:
                    ind.freezing = True
                if "cdt" in variant:
                    ind.coordinate_descent_tuning = True
                if "autotune" in variant:
                    ind.max_autotune = True
                fn = torch.compile(unet.forward, dynamic=False)
            for batch in (2, 8):
                args, kwargs = unet_inputs(family, pipe, batch)
                t = time.perf_counter()
                s = torch.cuda.Stream()
                s.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(s), torch.no_grad():
                    for _ in range(2):
                        fn(*args, **kwargs)
                torch.cuda.current_stream().wait_stream(s)
                torch.cuda.synchronize()
                warm = time.perf_counter() - t
                g = torch.cuda.CUDAGraph()
                with torch.no_grad(), torch.cuda.graph(g):
                    fn(*args, **kwargs)
                ms = replay_ms(g)
                print(f"# unet {family} {variant} batch {batch}: {ms:.3f} ms per step (first calls {warm:.1f} s)",
                      flush=True)
                if batch == 2:
                    kernel_profile(f"unet {variant} b2 one replay", g.replay, top=8)
                del g
        except Exception as exc:  # one variant failing must not lose the others
            print(f"# unet {family} {variant}: failed {exc.__class__.__name__}: {str(exc)[:300]}", flush=True)
        finally:
            for k, v in saved.items():
                setattr(ind, k, v)
            if variant == "channels_last":
                unet.to(memory_format=torch.contiguous_format)
    del loaded, pipe
    bench.free("cuda")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, required=True)
    parser.add_argument("--models", default="audioldm")
    parser.add_argument("--variants", default="eager,channels_last,compile,compile-freeze")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-grym", action="store_true")
    args = parser.parse_args()
    import torch

    print(f"# torch {torch.__version__} on {torch.cuda.get_device_name(0)}", flush=True)
    for family in args.models.split(","):
        folder = args.keep / bench.MODELS[family]
        spec = bench.REAL_AUDIOLDM if family == "audioldm" else bench.REAL_AUDIOLDM2
        if not (folder / "model_index.json").exists():
            t = time.perf_counter()
            synthetic.save(synthetic.build_pipeline(spec, seed=0), folder)
            print(f"# built {family} in {time.perf_counter() - t:.0f} s", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            t2a = bench.grym(args.keep, "cuda", "auto", Path(tmp))
            for n in ((1, 4) if not args.skip_grym else ()):
                t = time.perf_counter()
                t2a.generate(bench.options(family, steps=2, variations=n))
                print(f"# warm-up {n} variation(s): {time.perf_counter() - t:.1f} s", flush=True)
                secs, _ = bench.median_timed("cuda", lambda: t2a.generate(bench.options(family, variations=n)),
                                             args.runs)
                print(f"# grym {family} {n} variation(s): {secs * 1000:.1f} ms", flush=True)
                kernel_profile(f"grym {family} {n} variation(s)",
                               lambda: t2a.generate(bench.options(family, variations=n)))
            t2a.generate(bench.options(family))
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.runcall(lambda: (t2a.generate(bench.options(family)), torch.cuda.synchronize()))
            print("## host time of one warm call (cProfile, cumulative)", flush=True)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(0 if args.skip_grym else 30)
            for n in (1, 4):
                parts = bench.breakdown(t2a, family, "cuda", n)
                print(f"# breakdown {n}: " + ", ".join(f"{k} {v * 1000:.1f}" for k, v in parts.items()), flush=True)
            t2a.registry.budget.clear()
            bench.free("cuda")
        pipe = bench.diffusers_pipe(folder, family, "cuda")
        pipe.unet = torch.compile(pipe.unet, mode="reduce-overhead")
        call = lambda: pipe(bench.PROMPT, audio_length_in_s=bench.AUDIO_S,  # noqa: E731
                            num_inference_steps=bench.STEPS[family])
        call()
        call()
        secs, _ = bench.median_timed("cuda", call, args.runs)
        print(f"# peer {family}: {secs * 1000:.1f} ms", flush=True)
        kernel_profile(f"peer {family}", call)
        del pipe
        bench.free("cuda")
        unet_variants(folder, family, args.variants.split(","))


if __name__ == "__main__":
    main()
