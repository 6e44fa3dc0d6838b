"""Fetching model weights from the Hugging Face Hub (`grym models pull`).

A thin wrapper over `huggingface_hub.snapshot_download`: it fetches only what
grym loads (safetensors weights, JSON configs, tokenizer files), never pickled
`.bin`/`.ckpt` files, into the Hugging Face cache (or `models.hf_cache`), where
the registry finds it. It needs the network, which the test machines do not
have: the tests load pipelines from folders instead, through the same registry
path, and this module is only exercised by hand.

Gated or private repos need a token: `huggingface-cli login` or `HF_TOKEN`.
"""

from __future__ import annotations

from pathlib import Path

from grym_bridge.errors import ModelUnavailable
from grym_bridge.models.registry import ModelRegistry, get_spec, is_model_folder

#: What a diffusers AudioLDM folder needs; `.bin` and `.ckpt` (pickles) are never fetched.
ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*", "*/vocab*", "*/merges*", "*/spiece*"]


def pull(registry: ModelRegistry, model_id: str, *, revision: str | None = None) -> Path:
    """Download `model_id` into the Hugging Face cache; the folder it landed in."""
    spec = get_spec(model_id)
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelUnavailable("pulling models needs huggingface_hub: `pip install 'grym-bridge[models]'`") from None
    try:
        folder = Path(
            snapshot_download(
                spec.id, revision=revision, cache_dir=registry.hf_cache_dir(), allow_patterns=ALLOW_PATTERNS
            )
        )
    except Exception as exc:  # network, auth, disk: all reported as one clear error
        raise ModelUnavailable(
            f"could not download {spec.id} from the Hugging Face Hub: {exc.__class__.__name__}: {exc}. "
            "Check the network (and `huggingface-cli login` for gated models), then run the command again"
        ) from None
    if not is_model_folder(folder):
        raise ModelUnavailable(f"{spec.id} downloaded to {folder} but holds no safetensors pipeline")
    return folder
