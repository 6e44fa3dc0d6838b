"""The speed set-up of a pipeline: which calls get graphed, undoing it, and when compiling is on.

Graph capture and compiling themselves need a CUDA GPU; bench/generate.py checks them there (the
graphed pipeline's final latents equal the eager one's). Here: the wrappers are installed on the
right calls, pass CPU calls through unchanged, and come off again leaving the pipeline as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grym_bridge.models import audioldm, compiled, cuda_graphs, fast
from tests.models.tiny import AUDIOLDM, AUDIOLDM2


@pytest.mark.parametrize("model_id,parts", [
    (AUDIOLDM, {"unet", "vae", "vocoder", "text_encoder"}),
    (AUDIOLDM2, {"unet", "vae", "vocoder", "text_encoder", "text_encoder_2", "language_model"}),
])
def test_every_part_is_wrapped_passes_cpu_calls_through_and_comes_off(tiny_models_dir: Path, model_id: str,
                                                                      parts: set[str]) -> None:
    import torch

    loaded = audioldm.load_pipeline(tiny_models_dir / model_id, device="cpu")
    pipe = loaded.pipe
    assert {t[0] for t in fast._targets(pipe)} == parts
    assert set(fast.status(pipe).values()) == {"eager"}  # nothing installed on the CPU
    audioldm.set_scheduler(loaded, "dpm++")
    run = lambda: pipe("dusty drums", audio_length_in_s=0.5, num_inference_steps=2, output_type="np",  # noqa: E731
                       generator=torch.Generator("cpu").manual_seed(4)).audios
    before = run()
    fix = pipe.__dict__.get("generate_language_model")
    wrappers = {}
    for part, obj, method, warmup in fast._targets(pipe):
        wrappers[part] = cuda_graphs.install_method(obj, method, part, warmup=warmup)
    assert cuda_graphs.install_method(pipe.unet, "forward") is wrappers["unet"]  # installing twice keeps one
    torch.testing.assert_close(run(), before, rtol=0, atol=0)  # CPU tensors: every wrapper ran eagerly
    assert all(w.captures == 0 and not w.graphs for w in wrappers.values())
    fast.uninstall(pipe)
    assert all(cuda_graphs.graphed(obj, method) is None for _p, obj, method, _w in fast._targets(pipe))
    # The GPT-2 loop fix lives on the instance: taking the wrapper off puts the fix back, not diffusers' loop.
    assert pipe.__dict__.get("generate_language_model") is fix
    torch.testing.assert_close(run(), before, rtol=0, atol=0)


def test_graph_signature_tells_values_apart_and_refuses_what_cannot_be_captured() -> None:
    import torch
    from torch.utils import _pytree as pytree

    def key(*args: object, **kwargs: object) -> tuple | None:
        leaves, spec = pytree.tree_flatten((args, kwargs))
        return cuda_graphs.GraphedCallable._signature(leaves, spec)

    assert key(1, mode="a") == key(1, mode="a")
    assert key(1, mode="a") != key(2, mode="a") and key(1, mode="a") != key(1, mode="b")
    assert key((1, 2)) != key([1, 2])  # the structure counts, not only the leaves
    assert key(torch.zeros(2, 3)) is None  # CPU tensors are never graphed
    assert key(object()) is None  # neither are arguments that are no tensors or plain values


def test_compile_setting_is_resolved_per_device() -> None:
    assert compiled.wants_compile("auto", "cpu") is False
    assert compiled.wants_compile("on", "cpu") is False  # cannot run there: a warning, then uncompiled
    assert compiled.wants_compile("off", "cuda") is False
    with pytest.raises(ValueError, match="models.compile"):
        compiled.wants_compile("sometimes", "cuda")


def test_compile_cache_goes_under_the_given_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TORCHINDUCTOR_CACHE_DIR", "TORCHINDUCTOR_FX_GRAPH_CACHE", "TORCHINDUCTOR_AUTOGRAD_CACHE"):
        monkeypatch.setenv(name, "")  # recorded, so that what use_cache sets is undone after the test
        monkeypatch.delenv(name)
    assert compiled.use_cache(tmp_path / "compile") == tmp_path / "compile"
    assert (tmp_path / "compile").is_dir()
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert compiled.use_cache(tmp_path / "compile") == tmp_path / "mine"  # the user's own choice wins
    # Importing torch and diffusers writes torch's own default into the variable: that is not the user's.
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR")
    assert Path(cache_dir()) != tmp_path / "compile" and "TORCHINDUCTOR_CACHE_DIR" in os.environ
    assert compiled.use_cache(tmp_path / "compile") == tmp_path / "compile"
    assert Path(cache_dir()) == tmp_path / "compile"  # where inductor now writes


@pytest.mark.parametrize("model_id", [AUDIOLDM, AUDIOLDM2])
def test_text_encoder_given_its_mask_ready_made_answers_as_with_the_padding_mask(tiny_models_dir: Path,
                                                                                model_id: str) -> None:
    """The graphed CLAP text encoder is handed a 4-D additive mask (`fast.additive_mask`, which keeps the
    host copy of transformers' own mask builder out of the graph); its answer must not change, padding
    included: two prompts of different lengths, padded like the pipelines pad them."""
    import torch

    pipe = audioldm.load_pipeline(tiny_models_dir / model_id, device="cpu").pipe
    _part, encoder, method, _warmup = next(t for t in fast._targets(pipe) if t[0] == "text_encoder")
    call = getattr(encoder, method)

    def tensors(out: object) -> list:  # a model output's tensors (AudioLDM 2's CLAP may answer a bare tensor)
        return list(out.values()) if hasattr(out, "values") else [out]

    tokens = pipe.tokenizer(["dusty drums", "a long warm pad with tape hiss and a slow filter sweep"],
                            padding="max_length", max_length=pipe.tokenizer.model_max_length, truncation=True,
                            return_tensors="pt")
    assert (tokens.attention_mask == 0).any()  # some padding, or the mask would not matter
    plain = call(tokens.input_ids, attention_mask=tokens.attention_mask)
    ready = fast.additive_mask(encoder.dtype)(call)(tokens.input_ids, attention_mask=tokens.attention_mask)
    assert len(tensors(plain)) == len(tensors(ready))
    for a, b in zip(tensors(plain), tensors(ready)):
        torch.testing.assert_close(a, b)
    # Ignoring the mask would change the answer (the check above could not fail otherwise).
    assert not torch.allclose(tensors(call(tokens.input_ids))[0], tensors(plain)[0])
