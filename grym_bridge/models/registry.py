"""The models grym knows, where their weights are, and which of them are loaded.

A `ModelSpec` describes one known model: its id (the Hugging Face repo id), its
task, native sample rate, size, license and the fast generation defaults grym
uses with it. `ModelRegistry` finds a model's weights (a folder named in
`models.dirs` first, then the Hugging Face cache), loads it through a loader
function, and keeps loaded models under one `MemoryBudget` shared by every
model in the process: loading one that does not fit unloads the least
recently used first.

Nothing here imports torch, diffusers or huggingface_hub at module level:
`grym models list` and `grym serve` stay fast.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, ModelUnavailable, NotFound

if TYPE_CHECKING:
    from grym_bridge.models.verify import CheckRecords

log = logging.getLogger(__name__)

GB = 1024**3


@dataclass(frozen=True)
class ModelSpec:
    """One known model. Sizes are the download (fp32 safetensors) and the parameter count."""

    id: str
    task: str
    family: str  # "audioldm" or "audioldm2": which diffusers pipeline runs it
    sample_rate: int
    params_m: int
    download_gb: float
    license: str
    description: str
    default_steps: int
    default_guidance: float


AUDIOLDM_LICENSE = "CC-BY-NC-SA 4.0 (non-commercial use only; check before releasing audio made with it)"

def _audioldm2(model_id: str, description: str) -> ModelSpec:
    """AudioLDM 2 checkpoints share one architecture: 350M UNet, Flan-T5, GPT-2, CLAP; 1.1B parameters."""
    return ModelSpec(id=model_id, task="text-to-audio", family="audioldm2", sample_rate=16000, params_m=1100,
                     download_gb=4.6, license=AUDIOLDM_LICENSE, description=description,
                     default_steps=25, default_guidance=3.5)


KNOWN_MODELS: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        _audioldm2("cvssp/audioldm2-music", "AudioLDM 2 trained on music: loops, beds, instruments."),
        _audioldm2("cvssp/audioldm2", "AudioLDM 2 general checkpoint: sound effects, ambiences and music."),
        ModelSpec(id="cvssp/audioldm-s-full-v2", task="text-to-audio", family="audioldm", sample_rate=16000,
                  params_m=421, download_gb=1.7, license=AUDIOLDM_LICENSE,
                  description="AudioLDM (the original, small): quick sound design.",
                  default_steps=16, default_guidance=2.5),
    )
}


#: Where each task's models are used: the CLI commands and OSC addresses that load them
#: (tests/models/test_import.py checks that these addresses are registered).
USED_BY: dict[str, tuple[str, ...]] = {
    "text-to-audio": ("grym generate", "grym ask", "grym models verify --generate", "/grym/generate/text",
                      "/grym/generate/like", "/grym/ask"),
}

#: Where `grym models import` and `grym models fetch` put weights when models.dirs is empty.
DEFAULT_MODELS_SUBDIR = "models"


def get_spec(model_id: str) -> ModelSpec:
    """The known model `model_id`, or `NotFound` listing the known ids."""
    try:
        return KNOWN_MODELS[model_id]
    except KeyError:
        known = ", ".join(KNOWN_MODELS)
        raise NotFound(f"unknown model '{model_id}'; known models: {known} (see `grym models list`)") from None


@dataclass
class ModelStatus:
    """What `grym models list` shows for one model."""

    id: str
    task: str
    present: bool
    location: str | None
    size_on_disk_gb: float | None
    download_gb: float
    params_m: int
    sample_rate: int
    license: str
    loaded: bool
    dtype: str | None = None
    verified: str = "not verified"
    used_by: tuple[str, ...] = ()


def folder_size(path: Path) -> int:
    """Bytes of the files under `path`, following the HF cache's symlinks to its blobs once each."""
    seen: set[Path] = set()
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            real = Path(root, name).resolve()
            if real not in seen and real.is_file():
                seen.add(real)
                total += real.stat().st_size
    return total


def is_model_folder(path: Path) -> bool:
    """A diffusers pipeline folder: a model_index.json and safetensors weights."""
    if not (path / "model_index.json").is_file():
        return False
    return any(path.rglob("*.safetensors"))


class MemoryBudget:
    """Loaded models by key, least recently used first, under one byte budget.

    One per process, shared by every model (text-to-audio pipelines, wav2vec2);
    the orchestrator's resources shed models through it under memory pressure
    (`keys`, `release`, `used_bytes`). `acquire` loads through `loader` when the
    key is absent, after unloading the least recently used entries that would
    not leave room for `size_bytes` (before loading: two pipelines at once may
    not fit the GPU). One model larger than the whole budget loads alone.
    """

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = int(budget_bytes)
        self._entries: OrderedDict[str, tuple[Any, int, Callable[[Any], None] | None]] = OrderedDict()
        self._lock = threading.RLock()

    @property
    def used_bytes(self) -> int:
        with self._lock:
            return sum(size for _obj, size, _free in self._entries.values())

    def keys(self) -> list[str]:
        """Loaded keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def acquire(self, key: str, loader: Callable[[], Any], size_bytes: int,
                release: Callable[[Any], None] | None = None) -> Any:
        """The object loaded under `key`, loading it (and unloading others to make room) if needed."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][0]
            if size_bytes > self.budget_bytes:
                log.warning("model %s (%.1f GB) is larger than the whole budget (%.1f GB); loading it alone",
                            key, size_bytes / GB, self.budget_bytes / GB)
            while self._entries and self.used_bytes + size_bytes > self.budget_bytes:
                self.release(next(iter(self._entries)))
            obj = loader()
            self._entries[key] = (obj, int(size_bytes), release)
            return obj

    def release(self, key: str) -> bool:
        """Unload `key`; False when it was not loaded."""
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is None:
            return False
        obj, _size, free = entry
        log.info("unloading model %s", key)
        if free is not None:
            free(obj)
        return True

    def clear(self) -> None:
        for key in self.keys():
            self.release(key)


_PROCESS_BUDGET: MemoryBudget | None = None
_PROCESS_BUDGET_LOCK = threading.Lock()


def process_budget(config: Config) -> MemoryBudget:
    """The one memory budget of this process, sized by `models.memory_budget_gb` of the first config that asks.

    Every model loader of the process (the text-to-audio registry, wav2vec2's `embedder_from_config`) should
    load under it, so that together they stay within the budget.
    """
    global _PROCESS_BUDGET
    with _PROCESS_BUDGET_LOCK:
        if _PROCESS_BUDGET is None:
            _PROCESS_BUDGET = MemoryBudget(int(config.models.memory_budget_gb * GB))
        return _PROCESS_BUDGET


class ModelRegistry:
    """Finds, loads, lists and removes known models, under one shared `MemoryBudget`."""

    def __init__(self, config: Config, budget: MemoryBudget | None = None) -> None:
        self.config = config
        self.budget = budget or process_budget(config)

    # -- where the weights are ------------------------------------------------

    def hf_cache_dir(self) -> str | None:
        return os.path.expanduser(self.config.models.hf_cache) if self.config.models.hf_cache else None

    def model_dirs(self) -> list[Path]:
        """The folders searched for weights: `models.dirs`, then `<data dir>/models` (the default import target)."""
        dirs = [Path(os.path.expanduser(d)) for d in self.config.models.dirs]
        return dirs + [self.config.data_dir / DEFAULT_MODELS_SUBDIR]

    def import_dir(self) -> Path:
        """Where imported and fetched weights go: the first of `models.dirs`, else `<data dir>/models`."""
        return self.model_dirs()[0]

    def local_candidates(self, model_id: str) -> list[Path]:
        """Folders under the model dirs where `model_id` may live: <dir>/<org>/<name> and <dir>/<name>."""
        out: list[Path] = []
        for base in self.model_dirs():
            out += [base / model_id, base / model_id.split("/")[-1]]
        return out

    def locate(self, model_id: str) -> Path | None:
        """The folder holding `model_id`'s weights, or None when they are not on this machine."""
        for cand in self.local_candidates(model_id):
            if is_model_folder(cand):
                return cand
        return self._hf_cached(model_id)

    def _hf_cached(self, model_id: str) -> Path | None:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return None
        found = try_to_load_from_cache(model_id, "model_index.json", cache_dir=self.hf_cache_dir())
        if isinstance(found, str):
            folder = Path(found).parent
            if is_model_folder(folder):
                return folder
        return None

    def require(self, model_id: str) -> tuple[ModelSpec, Path]:
        """The spec and weights folder of `model_id`, or `ModelUnavailable` naming the command that fetches it."""
        spec = get_spec(model_id)
        folder = self.locate(model_id)
        if folder is None:
            places = ", ".join(str(p) for p in self.local_candidates(model_id)) or "no models.dirs configured"
            # The quickstart installs without the models extra; pulling needs it too, so say it in the same breath.
            missing = [m for m in ("torch", "diffusers", "transformers") if importlib.util.find_spec(m) is None]
            first = (f"install the models extra first (pip install 'grym-bridge[models]'; {', '.join(missing)} "
                     "missing), then ") if missing else ""
            raise ModelUnavailable(
                f"the weights of {model_id} are not on this machine (looked in {places} and the Hugging Face cache); "
                f"{first}fetch them with `grym models pull {model_id}` (about {spec.download_gb:.1f} GB), "
                "or bring a copy from another machine: `grym models import FOLDER_OR_ARCHIVE` "
                f"or `grym models fetch {model_id} --from HOST` (see the README's Model weights section)"
            )
        return spec, folder

    # -- status -----------------------------------------------------------------

    def check_records(self) -> "CheckRecords":
        """Which weight folders passed `grym models verify` (or were checked on import), and when."""
        from grym_bridge.models.verify import CheckRecords

        return CheckRecords(self.config.data_dir / DEFAULT_MODELS_SUBDIR / "checks.json")

    def status(self, model_id: str, *, with_size: bool = True, details: bool = True) -> ModelStatus:
        """Whether `model_id` is here and where; `details` adds its dtype and last hash check (reads headers)."""
        from grym_bridge.models.verify import folder_dtype

        spec = get_spec(model_id)
        folder = self.locate(model_id)
        size = folder_size(folder) / GB if (folder is not None and with_size) else None
        extra: dict[str, Any] = {}
        if folder is not None and details:
            extra = {"dtype": folder_dtype(folder), "verified": self.check_records().state(folder)}
        return ModelStatus(
            id=spec.id, task=spec.task, present=folder is not None,
            location=str(folder) if folder else None,
            size_on_disk_gb=round(size, 3) if size is not None else None,
            download_gb=spec.download_gb, params_m=spec.params_m, sample_rate=spec.sample_rate,
            license=spec.license, loaded=any(k.startswith(model_id + "@") for k in self.budget.keys()),
            used_by=USED_BY.get(spec.task, ()), **extra,
        )

    def list(self, *, details: bool = False) -> list[ModelStatus]:
        """Every known model, whether its weights are here and how big they are (`details`: see `status`)."""
        return [self.status(mid, details=details) for mid in KNOWN_MODELS]

    # -- loading ----------------------------------------------------------------

    def load(
        self,
        model_id: str,
        loader: Callable[[ModelSpec, Path], Any],
        size_bytes: Callable[[Path], int] | int | None = None,
        *,
        variant: str = "",
        release: Callable[[Any], None] | None = None,
    ) -> Any:
        """Load `model_id` through `loader(spec, folder)`, or return it when already loaded.

        `variant` separates loads of one model with different settings (device,
        dtype, memory mode). The budget counts `size_bytes` (default: the size of
        the weights on disk).
        """
        spec, folder = self.require(model_id)
        if size_bytes is None:
            size = folder_size(folder)
        elif callable(size_bytes):
            size = size_bytes(folder)
        else:
            size = int(size_bytes)
        # The folder is part of the key: the same id found elsewhere (models.dirs changed) is another model.
        key = f"{model_id}@{folder}:{variant}"
        return self.budget.acquire(key, lambda: loader(spec, folder), size, release)

    def unload(self, model_id: str) -> int:
        """Unload every loaded variant of `model_id`; how many were unloaded."""
        return sum(self.budget.release(k) for k in self.budget.keys() if k.startswith(model_id + "@"))

    # -- removing ---------------------------------------------------------------

    def remove(self, model_id: str) -> list[str]:
        """Delete `model_id`'s weights (local folder or HF cache entry); the paths removed."""
        get_spec(model_id)
        self.unload(model_id)
        removed: list[str] = []
        for cand in self.local_candidates(model_id):
            if is_model_folder(cand):
                shutil.rmtree(cand)
                removed.append(str(cand))
        removed += self._remove_from_hf_cache(model_id)
        if not removed:
            raise NotFound(f"{model_id} is not on this machine; nothing to remove")
        return removed

    def _remove_from_hf_cache(self, model_id: str) -> list[str]:
        try:
            from huggingface_hub import scan_cache_dir
        except ImportError:
            return []
        try:
            info = scan_cache_dir(self.hf_cache_dir())
        except Exception:  # no cache folder at all: nothing cached
            return []
        removed: list[str] = []
        for repo in info.repos:
            if repo.repo_id == model_id and repo.repo_type == "model":
                revisions = [rev.commit_hash for rev in repo.revisions]
                info.delete_revisions(*revisions).execute()
                removed.append(str(repo.repo_path))
        return removed


def read_model_index(folder: Path) -> dict[str, Any]:
    """The pipeline's model_index.json, or `ModelUnavailable` saying the folder is not a diffusers pipeline."""
    try:
        return json.loads((folder / "model_index.json").read_text())
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            f"{folder} is not a diffusers pipeline folder ({exc}); fetch the model again with `grym models pull`"
        ) from None


def check_model_id(model_id: str) -> str:
    """Reject an empty model id naming the argument."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise BadRequest("model: give a model id, e.g. cvssp/audioldm2-music (see `grym models list`)")
    return model_id.strip()
