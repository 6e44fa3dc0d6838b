"""Loading AudioLDM / AudioLDM 2 folders through diffusers, schedulers, memory modes, the GPT-2 loop fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grym_bridge.errors import ModelUnavailable
from grym_bridge.models import audioldm
from tests.models.tiny import AUDIOLDM, AUDIOLDM2


@pytest.mark.parametrize("model_id,family", [(AUDIOLDM, "audioldm"), (AUDIOLDM2, "audioldm2")])
def test_load_from_folder_and_switch_scheduler(tiny_models_dir: Path, model_id: str, family: str) -> None:
    loaded = audioldm.load_pipeline(tiny_models_dir / model_id, device="cpu", memory_mode="auto")
    assert loaded.family == family
    assert (loaded.device, loaded.dtype, loaded.memory_mode) == ("cpu", "float32", "full")
    assert loaded.sample_rate == 16000
    assert audioldm.set_scheduler(loaded, "dpm++") == "DPMSolverMultistepScheduler"
    assert loaded.pipe.scheduler.config.algorithm_type == "dpmsolver++"
    # The model's own noise schedule is kept whatever the solver.
    assert loaded.pipe.scheduler.config.beta_end == loaded.base_scheduler_config["beta_end"]
    assert audioldm.set_scheduler(loaded, "model") == "DDIMScheduler"


def test_a_folder_that_is_no_audioldm_pipeline_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(ModelUnavailable, match="StableDiffusionPipeline"):
        audioldm.load_pipeline(tmp_path, device="cpu")
    (tmp_path / "model_index.json").write_text("{not json")
    with pytest.raises(ModelUnavailable, match="grym models pull"):
        audioldm.load_pipeline(tmp_path, device="cpu")


def test_language_model_loop_matches_full_recomputation(tiny_models_dir: Path) -> None:
    """The cached GPT-2 loop (the transformers-5 fix) gives what recomputing the whole sequence gives."""
    import torch

    loaded = audioldm.load_pipeline(tiny_models_dir / AUDIOLDM2, device="cpu")
    lm = loaded.pipe.language_model
    torch.manual_seed(1)
    prompt = torch.randn(2, 5, lm.config.n_embd)
    mask = torch.ones(2, 5, dtype=torch.long)
    fast = loaded.pipe.generate_language_model(prompt, attention_mask=mask, max_new_tokens=4)
    seq = prompt
    with torch.no_grad():
        for _ in range(4):
            seq = torch.cat([seq, lm(inputs_embeds=seq).last_hidden_state[:, -1:]], dim=1)
    assert fast.shape == (2, 4, lm.config.n_embd)
    torch.testing.assert_close(fast, seq[:, -4:], rtol=1e-4, atol=1e-5)


def test_memory_modes_fall_back_in_order() -> None:
    import torch

    assert audioldm.lower_memory_mode("full") == "model_offload"
    assert audioldm.lower_memory_mode("model_offload") == "low_vram"
    assert audioldm.lower_memory_mode("low_vram") == "sequential"
    assert audioldm.lower_memory_mode("sequential") is None
    assert audioldm.resolve_memory_mode("low_vram", "cpu") == "full"  # offload means nothing without a GPU
    assert audioldm.is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert audioldm.is_out_of_memory(RuntimeError("MPS backend out of memory"))
    assert not audioldm.is_out_of_memory(RuntimeError("shape mismatch"))


def test_weights_bytes_halve_in_half_precision(tiny_models_dir: Path) -> None:
    folder = tiny_models_dir / AUDIOLDM
    full = audioldm.weights_bytes(folder, "float32")
    assert full == sum(p.stat().st_size for p in folder.rglob("*.safetensors")) > 0
    assert audioldm.weights_bytes(folder, "float16") == full // 2


def test_cuda_graph_forward_passes_cpu_calls_through_unchanged(tiny_models_dir: Path) -> None:
    """On a machine without CUDA the graphed forward runs the eager UNet (graph replay itself is checked
    on the GPU by bench/generate.py: eager and graphed outputs are identical)."""
    import torch

    from grym_bridge.models import cuda_graphs

    loaded = audioldm.load_pipeline(tiny_models_dir / AUDIOLDM2, device="cpu")
    unet = loaded.pipe.unet
    sample = torch.randn(2, 4, 16, 4)
    states = torch.randn(2, 3, 16), torch.randn(2, 5, 32)
    kwargs = dict(encoder_hidden_states=states[0], encoder_hidden_states_1=states[1], return_dict=False)
    with torch.no_grad():
        eager = unet(sample, torch.tensor(10), **kwargs)[0]
        graphed = cuda_graphs.install(unet)
        assert cuda_graphs.install(unet) is graphed  # installing twice keeps one wrapper
        again = unet(sample, torch.tensor(10), **kwargs)[0]
    assert graphed.captures == 0 and not graphed.graphs
    torch.testing.assert_close(eager, again, rtol=0, atol=0)
    cuda_graphs.uninstall(unet)
    assert "forward" not in unet.__dict__
