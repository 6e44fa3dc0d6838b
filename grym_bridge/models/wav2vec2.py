"""wav2vec2 embeddings: one vector per clip, the mean of the model's last hidden states.

The model comes from `analysis.embedding_model`: a local folder, a folder
under one of `models.dirs`, or a Hugging Face id already in the cache. Only
safetensors weights are loaded (never pickles). torch and transformers are
imported inside the functions, so importing this module costs nothing.

Long audio is cut into `analysis.embedding_chunk_s` chunks at 16 kHz; the
full-length chunks go through the model `analysis.embedding_batch_size` at a
time, a shorter tail alone (padding would change the convolutions' output),
and the clip's embedding is the mean over every frame of every chunk, i.e.
the chunks weighted by their length.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from grym_bridge.audio_io import Audio, resample
from grym_bridge.errors import ModelUnavailable
from grym_bridge.models.device import pick_device, pick_dtype

if TYPE_CHECKING:
    from grym_bridge.config import Config
    from grym_bridge.models.registry import MemoryBudget

SAMPLE_RATE = 16000
MIN_SAMPLES = 400  # the feature encoder's receptive field: shorter input has no frame at all
Progress = Callable[[float, str], None]

_HOW_TO_GET = (
    "download one with `huggingface-cli download facebook/wav2vec2-base --include '*.json' '*.safetensors'` "
    "(on a machine with network, then copy the folder here), and set analysis.embedding_model to its Hugging "
    "Face id or to the folder"
)


def find_model_folder(source: str, *, search_dirs: list[str] | tuple[str, ...] = (),
                      cache_dir: str | None = None) -> Path:
    """The folder holding `source`'s config.json and safetensors weights, or `ModelUnavailable`.

    `source` is a folder, or an id looked up as <dir>/<id> and <dir>/<name> in
    `search_dirs`, then in the Hugging Face cache.
    """
    if not source or not source.strip():
        raise ModelUnavailable(f"no wav2vec2 model is configured (analysis.embedding_model is empty); {_HOW_TO_GET}")
    candidates = [Path(os.path.expanduser(source))]
    for d in search_dirs:
        base = Path(os.path.expanduser(d))
        candidates += [base / source, base / source.split("/")[-1]]
    folder = next((c for c in candidates if (c / "config.json").is_file()), None)
    if folder is None:
        folder = _hf_cached(source, cache_dir)
    if folder is None:
        looked = ", ".join(str(c) for c in candidates)
        raise ModelUnavailable(
            f"the wav2vec2 model '{source}' is not on this machine (looked in {looked} and the Hugging Face "
            f"cache); {_HOW_TO_GET}"
        )
    if not any(folder.glob("*.safetensors")):
        pickled = [p.name for p in folder.glob("*.bin")] + [p.name for p in folder.glob("*.pt")]
        what = f"only pickled weights ({', '.join(pickled)}), which grym never loads" if pickled else "no weights"
        raise ModelUnavailable(
            f"{folder} holds {what}; it needs model.safetensors: download the safetensors files of the model, "
            "or convert the weights with transformers' save_pretrained(..., safe_serialization=True) on a "
            "machine you trust"
        )
    return folder


def _hf_cached(model_id: str, cache_dir: str | None) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        found = try_to_load_from_cache(model_id, "config.json", cache_dir=cache_dir)
    except Exception:  # an id the hub library rejects (a path with odd characters): simply not cached
        return None
    return Path(found).parent if isinstance(found, str) else None


@dataclass
class Wav2Vec2Embedder:
    """A loaded wav2vec2 model and how to feed it."""

    model: Any  # transformers.Wav2Vec2Model, in eval mode
    folder: Path
    device: str
    dtype: Any
    normalize: bool = True
    chunk_s: float = 10.0
    batch_size: int = 8

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def _chunks(self, x: np.ndarray) -> list[np.ndarray]:
        """Chunks of `chunk_s`; a tail shorter than a second joins the chunk before it."""
        size = max(MIN_SAMPLES, int(self.chunk_s * SAMPLE_RATE))
        if x.size < MIN_SAMPLES:
            x = np.pad(x, (0, MIN_SAMPLES - x.size))
        chunks = [x[i : i + size] for i in range(0, x.size, size)]
        if len(chunks) > 1 and chunks[-1].size < SAMPLE_RATE:
            chunks[-2:] = [np.concatenate(chunks[-2:])]
        return chunks

    def embed(self, audio: Audio, *, progress: Progress | None = None) -> np.ndarray:
        """A float32 vector of `dim` values: the frame-weighted mean of the last hidden states."""
        import torch

        x = resample(audio.mono(), audio.sample_rate, SAMPLE_RATE)
        chunks = self._chunks(x)
        # equal-length chunks batch together; any other length runs alone
        groups: dict[int, list[np.ndarray]] = {}
        for c in chunks:
            groups.setdefault(c.size, []).append(c)
        batches = [g[i : i + self.batch_size] for g in groups.values() for i in range(0, len(g), self.batch_size)]
        total = torch.zeros(self.dim, dtype=torch.float64)
        frames = 0
        with torch.inference_mode():
            for done, batch in enumerate(batches):
                arr = np.stack(batch).astype(np.float32)
                if self.normalize:  # what Wav2Vec2FeatureExtractor(do_normalize=True) does
                    arr = (arr - arr.mean(axis=1, keepdims=True)) / np.sqrt(arr.var(axis=1, keepdims=True) + 1e-7)
                inputs = torch.from_numpy(arr).to(self.device, self.dtype)
                hidden = self.model(inputs).last_hidden_state  # (batch, frames, dim)
                total += hidden.float().sum(dim=(0, 1)).double().cpu()
                frames += hidden.shape[0] * hidden.shape[1]
                if progress is not None:
                    progress((done + 1) / len(batches), "embedding")
        return (total / max(frames, 1)).numpy().astype(np.float32)


def load_wav2vec2(folder: Path, *, device: str = "auto", dtype: str = "auto", chunk_s: float = 10.0,
                  batch_size: int = 8) -> Wav2Vec2Embedder:
    """Load the model in `folder` (safetensors only) onto the best device, or `device`."""
    try:
        import torch  # noqa: F401
        from transformers import Wav2Vec2Model
    except ImportError:
        raise ModelUnavailable(
            "wav2vec2 embeddings need torch and transformers: `pip install torch` (the build for your GPU) "
            "and `pip install 'grym-bridge[models]'`"
        ) from None
    where = pick_device(device)
    precision = pick_dtype(where, dtype)
    try:
        model = Wav2Vec2Model.from_pretrained(str(folder), use_safetensors=True, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot load the wav2vec2 model in {folder}: {exc}; {_HOW_TO_GET}") from None
    model = model.to(where, precision).eval()
    normalize = True
    pre = folder / "preprocessor_config.json"
    if pre.is_file():
        with contextlib.suppress(OSError, ValueError):  # an unreadable file keeps the default
            normalize = bool(json.loads(pre.read_text()).get("do_normalize", True))
    return Wav2Vec2Embedder(model, folder, where, precision, normalize, chunk_s, batch_size)


_loaded: dict[tuple[str, str, str, float, int], Wav2Vec2Embedder] = {}
_lock = threading.Lock()


def embedder_from_config(config: "Config", budget: "MemoryBudget | None" = None) -> Wav2Vec2Embedder:
    """The embedder `config` names, loaded once per process (under `budget` when one is given)."""
    folder = find_model_folder(config.analysis.embedding_model, search_dirs=config.models.dirs,
                               cache_dir=os.path.expanduser(config.models.hf_cache) or None)
    key = (str(folder.resolve()), config.models.device, config.models.dtype, config.analysis.embedding_chunk_s,
           config.analysis.embedding_batch_size)

    def load() -> Wav2Vec2Embedder:
        return load_wav2vec2(folder, device=config.models.device, dtype=config.models.dtype,
                             chunk_s=config.analysis.embedding_chunk_s,
                             batch_size=config.analysis.embedding_batch_size)

    if budget is not None:
        size = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
        return budget.acquire("wav2vec2:" + "|".join(map(str, key)), load, size)
    with _lock:
        if key not in _loaded:
            _loaded[key] = load()
        return _loaded[key]


def status(config: "Config") -> tuple[str, str]:
    """For the banner and the self-test: can `--embed` run? Looks for the weights; imports no torch."""
    try:
        folder = find_model_folder(config.analysis.embedding_model, search_dirs=config.models.dirs,
                                   cache_dir=os.path.expanduser(config.models.hf_cache) or None)
    except ModelUnavailable:
        source = config.analysis.embedding_model or "(none configured)"
        return "needs_weights", (f"wav2vec2 model {source} is not on this machine; "
                                 "`grym analyze --embed` says how to get it")
    return "ready", str(folder)
