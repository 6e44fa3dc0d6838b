"""`grym models import` and `grym models verify` against a plain copy and `sha256sum`, on a large pipeline.

Run:  .venv/bin/python bench/model_import.py [--gb 1.0] [--repeats 3]

Builds a pipeline folder shaped like a real AudioLDM one (the tiny pipeline's
configs, tokenizers and model_index.json, its unet weights replaced by one
safetensors file of `--gb` GB of random float32), then times, alternating in
the same run:

- import: `import_model` (checks, copy, BLAKE3 of every file, manifest,
  rename into place) vs `shutil.copytree` of the same folder (what copying a
  folder into models.dirs by hand costs);
- verify: `verify_folder` (re-hash against the manifest) vs `sha256sum` over
  the same files (the usual way to check a download by hand).

The page cache is warm for both peers (each reads the same files just read).
Prints the medians and ratios.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grym_bridge.config import load_config  # noqa: E402
from grym_bridge.models import synthetic  # noqa: E402
from grym_bridge.models.importer import import_model  # noqa: E402
from grym_bridge.models.registry import MemoryBudget, ModelRegistry  # noqa: E402
from grym_bridge.models.verify import verify_folder  # noqa: E402

MODEL = "cvssp/audioldm-s-full-v2"


def build(folder: Path, gb: float) -> None:
    from safetensors.numpy import save_file

    synthetic.save(synthetic.build_pipeline(synthetic.tiny_spec("audioldm"), seed=0), folder)
    floats = int(gb * 1024**3 / 4)
    rng = np.random.default_rng(0)
    save_file({"weight": rng.standard_normal(floats, dtype=np.float32)},
              folder / "unet" / "diffusion_pytorch_model.safetensors")


def timed(fn) -> float:  # noqa: ANN001 - any callable
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        work = Path(tmp)
        source = work / "source" / "audioldm-s-full-v2"
        build(source, args.gb)
        size = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
        rows: dict[str, list[float]] = {"import": [], "copytree": [], "verify": [], "sha256sum": []}
        for i in range(args.repeats):
            config = load_config(None, {"data_dir": str(work / f"data{i}"), "models.hf_cache": str(work / "hf")},
                                 environ={})
            registry = ModelRegistry(config, MemoryBudget(0))
            rows["import"].append(timed(lambda: import_model(registry, source)))
            rows["copytree"].append(timed(lambda: shutil.copytree(source, work / f"copy{i}")))
            dest = registry.locate(MODEL)
            assert dest is not None
            files = [str(p) for p in sorted(dest.rglob("*")) if p.is_file() and not p.name.startswith(".")]
            rows["verify"].append(timed(lambda: verify_folder(dest)))
            rows["sha256sum"].append(timed(lambda: subprocess.run(["sha256sum", *files], check=True,
                                                                  capture_output=True)))
            shutil.rmtree(work / f"copy{i}")
            shutil.rmtree(work / f"data{i}")
        med = {k: statistics.median(v) for k, v in rows.items()}
        print(f"pipeline of {size / 1024**3:.2f} GB, {args.repeats} runs, medians:")
        for key, peer in (("import", "copytree"), ("verify", "sha256sum")):
            print(f"  {key:7s} {med[key]:6.2f} s ({size / 1024**2 / med[key]:6.0f} MB/s)   "
                  f"{peer:9s} {med[peer]:6.2f} s ({size / 1024**2 / med[peer]:6.0f} MB/s)   "
                  f"ratio {med[key] / med[peer]:.2f}x")


if __name__ == "__main__":
    main()
