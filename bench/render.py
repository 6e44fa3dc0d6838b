"""grym's chunked render with A/B against one raw pedalboard call on the whole array, in one run.

Run:  .venv/bin/python bench/render.py [--seconds 180] [--repeats 3] [--keep DIR]

The material: 3 minutes of 44.1 kHz stereo with planted rumble, low-mid mud and too little
loudness (shaped noise, the tests' material at full length). The chain is what `grym suggest`
proposes for it, with the streaming target: high-pass stages, a peaking cut, make-up gain and a
true-peak limiter (five effects or more; the count is printed).

Peers, timed alternately, best of `--repeats`:
- raw: `pedalboard.Pedalboard(...)(x, sr)` on the whole array already in memory (the floor);
- raw + files: soundfile.read of the whole file, the same call, soundfile.write (what a user
  scripting pedalboard does);
- grym: `FxService.render(..., ab=True)` (what `grym render --ab` and `/grym/fx/render` run):
  the chain checked, blocks read and written with soundfile in threads beside the processing,
  the effect tail rendered until it decays, BS.1770 loudness of input and output measured on
  the way, the loudness-matched B file written, the provenance sidecar, atomic renames.

Wall time and this process's CPU time (one core's worth of work) are both printed; the goals
(issue 5): grym at most 1.15x the raw call, and at least 100x faster than real time on one core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core for numpy's helpers, set before numpy loads

import argparse  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grym_bridge.audio_io import Audio  # noqa: E402
from grym_bridge.config import load_config  # noqa: E402
from grym_bridge.fx import FxService  # noqa: E402
from grym_bridge.fx.suggest import suggest  # noqa: E402
from grym_bridge.fx.types import LoudnessTarget  # noqa: E402
from plugin_host import to_pedalboard  # noqa: E402
from tests.fx.material import SR, band_boost, base, normalize  # noqa: E402


def _material(seconds: float) -> np.ndarray:
    x = band_boost(np.array(base(seconds)), 180.0, 320.0, 7.0)
    t = np.arange(x.shape[1]) / SR
    x = x + (0.2 * np.sin(2 * np.pi * 27 * t)).astype(np.float32)[None, :]
    return normalize(x, -22.0)


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep the files in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="grym-bench-render-"))
    folder.mkdir(parents=True, exist_ok=True)

    x = _material(args.seconds)
    src = folder / "source.wav"
    sf.write(str(src), x.T, SR, subtype="FLOAT")
    suggestion = suggest(Audio(x, SR, src), target=LoudnessTarget("streaming", -14.0, -1.0))
    chain = suggestion.chain_spec()
    names = [e["plugin"] for e in suggestion.chain]
    print(f"material: {args.seconds:.0f} s stereo {SR} Hz; suggested chain ({len(names)} effects): {', '.join(names)}")
    for r in suggestion.reasons:
        print(f"  - {r.problem}: {r.message}")

    def raw() -> None:
        to_pedalboard(chain)(x, SR)

    def raw_files() -> None:
        data, sr = sf.read(str(src), dtype="float32", always_2d=True)
        y = to_pedalboard(chain)(np.ascontiguousarray(data.T), sr)
        sf.write(str(folder / "raw.wav"), y.T, sr, subtype="FLOAT")

    fx = FxService(load_config(None, {"data_dir": str(folder / "data")}, environ={}))

    def grym() -> None:
        fx.render(src, chain, output=folder / "grym.wav", ab=True)

    runs: dict[str, list[tuple[float, float]]] = {"raw": [], "raw + files": [], "grym render + A/B": []}
    for _ in range(args.repeats):
        for name, fn in zip(runs, (raw, raw_files, grym)):
            runs[name].append(_timed(fn))
    best = {name: (min(w for w, _ in r), min(c for _, c in r)) for name, r in runs.items()}
    print(f"\n{'':20s} {'wall s':>8s} {'cpu s':>8s} {'x realtime (cpu)':>17s}")
    for name, (wall, cpu) in best.items():
        print(f"{name:20s} {wall:8.3f} {cpu:8.3f} {args.seconds / cpu:17.0f}")
    g_wall, g_cpu = best["grym render + A/B"]
    print(f"\ngrym / raw call:        {g_wall / best['raw'][0]:.2f}x wall, {g_cpu / best['raw'][1]:.2f}x cpu "
          "(goal <= 1.15x)")
    print(f"grym / raw + files:     {g_wall / best['raw + files'][0]:.2f}x wall, "
          f"{g_cpu / best['raw + files'][1]:.2f}x cpu")
    print(f"grym speed on one core: {args.seconds / g_cpu:.0f}x real time (goal >= 100x)")
    if args.keep is None:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
