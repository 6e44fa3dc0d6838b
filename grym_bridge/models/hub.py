"""Fetching model weights from the Hugging Face Hub (`grym models pull`).

A thin wrapper over `huggingface_hub.snapshot_download`: it fetches only what
grym loads (safetensors weights, JSON configs, tokenizer files), never pickled
`.bin`/`.ckpt` files, into the Hugging Face cache (or `models.hf_cache`), where
the registry finds it. huggingface_hub draws the progress bars, keeps a file
cut off half way as `<blob>.incomplete` and resumes it with an HTTP range
request (in the same call after a dropped connection, or on the next pull).
Afterwards every large file is re-hashed against the SHA-256 the Hub named it
by (`verify.verify_folder`), and the check is recorded for `grym models list`.

The tests run it against a loopback stand-in for the Hub (`HF_ENDPOINT`),
since the test machines have no network. A mirror works the same way:
`HF_ENDPOINT=https://mirror.example grym models pull ID`.
Gated or private repos need a token: `huggingface-cli login` or `HF_TOKEN`.
"""

from __future__ import annotations

from pathlib import Path

from grym_bridge.errors import ModelUnavailable
from grym_bridge.models.registry import ModelRegistry, get_spec, is_model_folder
from grym_bridge.models.verify import VerifyReport, verify_folder

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


def pull_and_verify(registry: ModelRegistry, model_id: str, *,
                    revision: str | None = None) -> tuple[Path, VerifyReport]:
    """`pull`, then re-hash what arrived; a damaged download raises with the files that are wrong."""
    folder = pull(registry, model_id, revision=revision)
    report = verify_folder(folder)
    registry.check_records().record(report)
    if report.problems:
        raise ModelUnavailable(f"{model_id} arrived in {folder} but does not check out: {'; '.join(report.problems)}. "
                               f"Remove it (`grym models remove {model_id}`) and pull again")
    return folder, report
