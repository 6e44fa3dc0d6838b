"""wav2vec2 embeddings through the real loading path, with a tiny seeded model saved as safetensors.

The tiny model has the real architecture (feature encoder, positional convolution,
transformer) at toy size and random weights; it stands in for facebook/wav2vec2-base,
which cannot be downloaded here. The code under test cannot tell the difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grym_bridge.audio_io import Audio, write_audio
from grym_bridge.errors import ModelUnavailable
from tests.conftest import require_module
from tests.synth import chord_progression, sine

HIDDEN = 24


def _tiny_config():  # type: ignore[no-untyped-def]
    from transformers import Wav2Vec2Config

    return Wav2Vec2Config(
        hidden_size=HIDDEN, num_hidden_layers=2, num_attention_heads=2, intermediate_size=40,
        conv_dim=(16, 16, 16), conv_stride=(5, 4, 4), conv_kernel=(10, 8, 4), feat_extract_norm="group",
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2, vocab_size=12,
    )


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_module("torch")
    require_module("transformers")
    import torch
    from transformers import Wav2Vec2Model

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("wav2vec2-tiny")
    Wav2Vec2Model(_tiny_config()).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture
def embedder(tiny_model: Path):  # type: ignore[no-untyped-def]
    from grym_bridge.models.wav2vec2 import load_wav2vec2

    return load_wav2vec2(tiny_model, device="cpu", chunk_s=1.0, batch_size=4)


def test_embedding_shape_dtype_and_determinism_across_loads(tiny_model: Path, embedder: Any) -> None:
    from grym_bridge.models.wav2vec2 import load_wav2vec2

    clip = chord_progression("A minor", bpm=120, bars=2)  # 44.1 kHz: resampled to 16 kHz inside
    first = embedder.embed(clip)
    assert first.shape == (HIDDEN,) and first.dtype == np.float32 and np.isfinite(first).all()
    np.testing.assert_array_equal(embedder.embed(clip), first)
    again = load_wav2vec2(tiny_model, device="cpu", chunk_s=1.0, batch_size=4).embed(clip)
    np.testing.assert_allclose(again, first, rtol=1e-6, atol=1e-6)
    other = embedder.embed(sine(220.0, 3.0))
    assert not np.allclose(other, first)


def test_batching_does_not_change_the_embedding(tiny_model: Path) -> None:
    from grym_bridge.models.wav2vec2 import load_wav2vec2

    clip = chord_progression("C major", bpm=100, bars=3)
    one = load_wav2vec2(tiny_model, device="cpu", chunk_s=1.0, batch_size=1).embed(clip)
    many = load_wav2vec2(tiny_model, device="cpu", chunk_s=1.0, batch_size=8).embed(clip)
    np.testing.assert_allclose(one, many, rtol=1e-4, atol=1e-5)


def test_a_long_clip_is_the_length_weighted_mean_of_its_chunks(embedder: Any) -> None:
    import torch

    sr = 16000
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(int(3.5 * sr)) * 0.1).astype(np.float32)  # chunks: 1 s, 1 s, 1.5 s (tail joins)
    whole = embedder.embed(Audio(x, sr))
    pieces = [x[:sr], x[sr : 2 * sr], x[2 * sr :]]
    sums, frames = np.zeros(HIDDEN), 0
    with torch.inference_mode():
        for piece in pieces:
            z = (piece - piece.mean()) / np.sqrt(piece.var() + 1e-7)
            hidden = embedder.model(torch.from_numpy(z[None, :])).last_hidden_state[0].numpy()
            sums += hidden.sum(axis=0)
            frames += hidden.shape[0]
    np.testing.assert_allclose(whole, sums / frames, rtol=1e-4, atol=1e-5)


def test_very_short_audio_still_embeds(embedder: Any) -> None:
    vec = embedder.embed(Audio(np.full(100, 0.1, dtype=np.float32), 16000))
    assert vec.shape == (HIDDEN,) and np.isfinite(vec).all()


def test_pickled_weights_are_refused_without_being_opened(tmp_path: Path, tiny_model: Path) -> None:
    import shutil

    import torch
    from transformers import Wav2Vec2Model

    from grym_bridge.models.wav2vec2 import find_model_folder

    # an old-style checkout: config.json beside a pickled pytorch_model.bin
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(tiny_model / "config.json", pickled / "config.json")
    torch.save(Wav2Vec2Model(_tiny_config()).state_dict(), pickled / "pytorch_model.bin")
    with pytest.raises(ModelUnavailable, match="pickled"):
        find_model_folder(str(pickled))


def test_a_missing_model_says_how_to_get_one(tmp_path: Path) -> None:
    from grym_bridge.models.wav2vec2 import find_model_folder

    with pytest.raises(ModelUnavailable, match="huggingface-cli download") as info:
        find_model_folder("nobody/no-such-wav2vec2", search_dirs=[str(tmp_path)], cache_dir=str(tmp_path))
    assert str(tmp_path) in info.value.message
    with pytest.raises(ModelUnavailable, match="embedding_model"):
        find_model_folder("")


def test_analyze_file_with_embed_uses_the_configured_model_once(config, tmp_path: Path, tiny_model: Path) -> None:
    from grym_bridge.analysis import analyze_file
    from grym_bridge.models.registry import MemoryBudget
    from grym_bridge.models.wav2vec2 import embedder_from_config

    # found by id under models.dirs, as a copied Hugging Face folder would be
    config.models.dirs = [str(tiny_model.parent)]
    config.analysis.embedding_model = tiny_model.name
    config.models.device = "cpu"
    path = write_audio(tmp_path / "clip.wav", chord_progression("G major", bpm=110, bars=2))
    seen: list[float] = []
    result = analyze_file(path, config, embed=True, progress=lambda f, m: seen.append(f))
    assert result.embedding is not None and len(result.embedding) == HIDDEN
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert embedder_from_config(config) is embedder_from_config(config)
    budget = MemoryBudget(10**9)
    loaded = embedder_from_config(config, budget)
    assert embedder_from_config(config, budget) is loaded and len(budget.keys()) == 1
    config.analysis.embedding_model = str(tmp_path / "nothing-here")
    with pytest.raises(ModelUnavailable):
        analyze_file(path, config, embed=True)
