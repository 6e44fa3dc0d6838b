"""AudioLDM and AudioLDM 2 pipelines with seeded random weights, built from configs.

No weights can be downloaded where grym is tested, so tests and the benchmark
build pipelines the way diffusers' own tests do: every component from a
config, weights drawn from a seeded generator, tokenizers from a small
vocabulary written on the spot. `save` writes the result as a diffusers
folder of safetensors; the registry then loads it exactly like a real
checkpoint. The same builder takes the real-size configurations
(`bench/generate.py` holds them): random weights cost the same compute.

The tiny configurations below are this project's own: the smallest shapes
that still exercise every component (a mel VAE, a UNet with cross attention,
a HiFi-GAN vocoder whose 64x upsampling keeps one second of audio at 250 mel
frames, CLAP and T5 text encoders, a GPT-2 language model).
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path
from typing import Any

#: Letters of the tiny tokenizers: prompts are tokenized per character, enough to give distinct ids.
_ALPHABET = string.ascii_lowercase + string.digits

TINY_VOCODER = dict(model_in_dim=8, sampling_rate=16000, upsample_initial_channel=16, upsample_rates=[8, 8],
                    upsample_kernel_sizes=[16, 16], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
                    normalize_before=False)
TINY_VAE = dict(block_out_channels=[16, 32], in_channels=1, out_channels=1, latent_channels=4, layers_per_block=1,
                down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                norm_num_groups=8)
TINY_SCHEDULER = dict(beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear", clip_sample=False,
                      set_alpha_to_one=False, steps_offset=1)
TINY_CLAP_TEXT = dict(vocab_size=96, hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1,
                      projection_dim=16, max_position_embeddings=96, pad_token_id=1, bos_token_id=0, eos_token_id=2)
_TINY_UNET_COMMON = dict(block_out_channels=[16, 32], layers_per_block=1, in_channels=4, out_channels=4,
                         down_block_types=["DownBlock2D", "CrossAttnDownBlock2D"],
                         up_block_types=["CrossAttnUpBlock2D", "UpBlock2D"], norm_num_groups=8, attention_head_dim=2)

TINY_AUDIOLDM: dict[str, Any] = {
    "family": "audioldm",
    "tokenizer_max_length": 64,
    "vocoder": TINY_VOCODER,
    "vae": TINY_VAE,
    "scheduler": TINY_SCHEDULER,
    "text_encoder": TINY_CLAP_TEXT,
    "unet": dict(_TINY_UNET_COMMON, cross_attention_dim=[16, 32], class_embed_type="simple_projection",
                 projection_class_embeddings_input_dim=16, class_embeddings_concat=True),
}

TINY_AUDIOLDM2: dict[str, Any] = {
    "family": "audioldm2",
    "tokenizer_max_length": 64,
    "tokenizer_2_max_length": 64,
    "vocoder": TINY_VOCODER,
    "vae": TINY_VAE,
    "scheduler": TINY_SCHEDULER,
    "clap_text": TINY_CLAP_TEXT,
    "clap_audio": dict(spec_size=64, window_size=4, num_mel_bins=64, intermediate_size=37, depths=[1, 1],
                       num_attention_heads=[2, 2], num_hidden_layers=2, hidden_size=32, patch_embeds_hidden_size=16,
                       projection_dim=16, patch_size=2, patch_stride=2, patch_embed_input_channels=4),
    "clap_projection_dim": 16,
    "t5": dict(vocab_size=64, d_model=32, d_ff=37, d_kv=8, num_heads=2, num_layers=1),
    "gpt2": dict(n_embd=16, n_head=2, n_layer=1, vocab_size=8, n_positions=128),
    "max_new_tokens": 4,
    "unet": dict(_TINY_UNET_COMMON, cross_attention_dim=[[None, 16, 32], [None, 16, 32]]),
}


def roberta_tokenizer(max_length: int) -> Any:
    """A RoBERTa (CLAP) tokenizer over single characters, built from a vocabulary written to a temp folder."""
    from transformers import RobertaTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 4}
    for ch in _ALPHABET:
        vocab[ch] = len(vocab)
        vocab["\u0120" + ch] = len(vocab)  # the byte-level BPE's word-start marker
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n")
        return RobertaTokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "merges.txt"),
                                model_max_length=max_length)


def t5_tokenizer(max_length: int) -> Any:
    """A T5 (unigram) tokenizer over single characters."""
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -1.0)]
    pieces += [(ch, -2.0) for ch in _ALPHABET]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=max_length)


def build_pipeline(spec: dict[str, Any], seed: int = 0) -> Any:
    """An AudioLDM or AudioLDM 2 pipeline from the component configs in `spec`, weights seeded by `seed`."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    torch.manual_seed(seed)
    common = dict(
        vae=AutoencoderKL(**spec["vae"]),
        vocoder=SpeechT5HifiGan(SpeechT5HifiGanConfig(**spec["vocoder"])),
        scheduler=DDIMScheduler(**spec["scheduler"]),
        tokenizer=roberta_tokenizer(spec["tokenizer_max_length"]),
    )
    if spec["family"] == "audioldm":
        from diffusers import AudioLDMPipeline, UNet2DConditionModel
        from transformers import ClapTextConfig, ClapTextModelWithProjection

        return AudioLDMPipeline(
            unet=UNet2DConditionModel(**spec["unet"]),
            text_encoder=ClapTextModelWithProjection(ClapTextConfig(**spec["text_encoder"])), **common,
        )
    from diffusers import AudioLDM2Pipeline, AudioLDM2ProjectionModel, AudioLDM2UNet2DConditionModel
    from transformers import (ClapAudioConfig, ClapConfig, ClapFeatureExtractor, ClapModel, ClapTextConfig, GPT2Config,
                              GPT2Model, T5Config, T5EncoderModel)

    clap_config = ClapConfig(text_config=ClapTextConfig(**spec["clap_text"]).to_dict(),
                             audio_config=ClapAudioConfig(**spec["clap_audio"]).to_dict(),
                             projection_dim=spec["clap_projection_dim"])
    language_model = GPT2Model(GPT2Config(**spec["gpt2"]))
    language_model.config.max_new_tokens = spec["max_new_tokens"]
    t5_config = T5Config(**spec["t5"])
    return AudioLDM2Pipeline(
        unet=AudioLDM2UNet2DConditionModel(**spec["unet"]),
        text_encoder=ClapModel(clap_config),
        text_encoder_2=T5EncoderModel(t5_config),
        projection_model=AudioLDM2ProjectionModel(text_encoder_dim=spec["clap_projection_dim"],
                                                  text_encoder_1_dim=t5_config.d_model,
                                                  langauge_model_dim=language_model.config.n_embd),
        language_model=language_model,
        tokenizer_2=t5_tokenizer(spec["tokenizer_2_max_length"]),
        feature_extractor=ClapFeatureExtractor(feature_size=clap_config.audio_config.num_mel_bins,
                                               sampling_rate=48000, hop_length=480),
        **common,
    )


def save(pipe: Any, folder: Path) -> Path:
    """Write `pipe` as a diffusers folder with safetensors weights (what `grym models pull` leaves)."""
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def tiny_spec(family: str) -> dict[str, Any]:
    """The tiny configuration of `family` ("audioldm" or "audioldm2")."""
    return {"audioldm": TINY_AUDIOLDM, "audioldm2": TINY_AUDIOLDM2}[family]
