"""Tiny AudioLDM and AudioLDM 2 checkpoints, built once per test session and saved like real ones.

`tiny_models_dir` is a folder laid out as `models.dirs` expects
(`<dir>/cvssp/audioldm-s-full-v2`, `<dir>/cvssp/audioldm2-music`), holding
pipelines with seeded random weights (grym_bridge.models.synthetic) written as
safetensors: the registry loads them through the same path as a real
download. The conftest.py of tests/models and tests/generate import the fixtures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grym_bridge.config import Config, load_config
from grym_bridge.models.registry import MemoryBudget
from tests.conftest import require_module

AUDIOLDM = "cvssp/audioldm-s-full-v2"
AUDIOLDM2 = "cvssp/audioldm2-music"
#: Random HiFi-GAN weights whisper (about -100 dBFS); this gain on its last layer makes the tiny
#: models' output loud enough for loudness normalization to act on.
VOCODER_GAIN = 3000.0


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_module("diffusers")
    require_module("transformers")
    from grym_bridge.models import synthetic

    root = tmp_path_factory.mktemp("models")
    for model_id, family in ((AUDIOLDM, "audioldm"), (AUDIOLDM2, "audioldm2")):
        pipe = synthetic.build_pipeline(synthetic.tiny_spec(family), seed=0)
        pipe.vocoder.conv_post.weight.data *= VOCODER_GAIN
        synthetic.save(pipe, root / model_id)
    return root


@pytest.fixture
def tiny_config(tmp_path: Path, tiny_models_dir: Path) -> Config:
    """A private config whose models.dirs holds the tiny checkpoints (CPU, fp32)."""
    return load_config(
        None,
        {
            "data_dir": str(tmp_path / "data"),
            "paths.allowed_roots": [str(tmp_path)],
            "models.dirs": [str(tiny_models_dir)],
            "models.hf_cache": str(tmp_path / "hf-cache"),
            "models.device": "cpu",
            "generate.sample_rate": 16000,
        },
        environ={},
    )


@pytest.fixture(scope="session")
def shared_budget() -> MemoryBudget:
    """One model budget for the whole session: tests reuse loaded tiny pipelines instead of reloading them."""
    return MemoryBudget(8 * 1024**3)
