"""Generation end to end with tiny AudioLDM / AudioLDM 2 checkpoints loaded through the registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from grym_bridge.config import Config
from grym_bridge.errors import Cancelled, ModelUnavailable
from grym_bridge.generate.options import GenerateOptions, resolve
from grym_bridge.generate.runner import TextToAudio, run_pipeline
from grym_bridge.models.registry import MemoryBudget
from tests.models.tiny import AUDIOLDM, AUDIOLDM2

STEPS = 3


@pytest.fixture
def t2a(tiny_config: Config, shared_budget: MemoryBudget) -> TextToAudio:
    return TextToAudio(tiny_config, budget=shared_budget)


def _opts(model: str, **kw) -> GenerateOptions:  # noqa: ANN003 - GenerateOptions fields
    return GenerateOptions(prompt=kw.pop("prompt", "dusty lofi drum loop"), model=model, steps=STEPS, **kw)


@pytest.mark.parametrize("model", [AUDIOLDM, AUDIOLDM2])
def test_same_seed_same_audio_other_seed_other_audio(t2a: TextToAudio, tiny_config: Config, model: str) -> None:
    loaded = t2a.load(model)
    opts = resolve(_opts(model, duration_s=1.0), tiny_config)
    a = run_pipeline(loaded, opts, seed=7)
    b = run_pipeline(loaded, opts, seed=7)
    c = run_pipeline(loaded, opts, seed=8)
    assert a.shape == b.shape and np.array_equal(a, b)
    assert np.abs(a).max() > 0 and not np.allclose(a, c)


def test_variations_use_consecutive_seeds(t2a: TextToAudio) -> None:
    both = t2a.generate(_opts(AUDIOLDM, duration_s=0.5, seed=11, variations=2))
    second = t2a.generate(_opts(AUDIOLDM, duration_s=0.5, seed=12))
    assert [f.seed for f in both.files] == [11, 12]
    x, _ = sf.read(both.files[1].path)
    y, _ = sf.read(second.files[0].path)
    # The variations are denoised as one batch: the same noise, rounding may differ in the last bit.
    np.testing.assert_allclose(x, y, rtol=0, atol=1e-5)
    assert np.abs(x).max() > 0.01


@pytest.mark.parametrize("model", [AUDIOLDM, AUDIOLDM2])
def test_whole_bars_at_the_session_tempo_with_provenance(t2a: TextToAudio, tiny_config: Config, model: str) -> None:
    result = t2a.generate(
        _opts(model, bars=2, tempo_bpm=100, seed=3, sample_rate=44100, channels=2, target_lufs=-16)
    )
    (clip,) = result.files
    expected = round(2 * 4 * 60 / 100 * 44100)  # 2 bars of 4/4 at 100 BPM = 4.8 s
    info = sf.info(clip.path)
    assert (info.frames, info.samplerate, info.channels) == (expected, 44100, 2) == (clip.frames, 44100, 2)
    assert Path(clip.path).parent == tiny_config.renders_dir() / "generated"
    # At the target loudness, unless the -1 dBTP ceiling held it lower (random weights make peaky audio).
    assert clip.lufs == pytest.approx(-16, abs=0.5) or (clip.lufs < -16 and clip.true_peak_dbtp == pytest.approx(-1, abs=0.2))
    prov = json.loads(Path(clip.sidecar).read_text())
    assert prov["model"] == model and prov["prompt"] == "dusty lofi drum loop" and prov["seed"] == 3
    assert prov["steps"] == STEPS and prov["scheduler"] == "DPMSolverMultistepScheduler"
    assert prov["guidance"] == result.guidance and prov["duration_s"] == pytest.approx(4.8)
    assert prov["bars"] == 2 and prov["tempo_bpm"] == 100 and prov["loop"] is True and prov["created"]


def test_progress_reports_every_step_and_ends_at_one(t2a: TextToAudio) -> None:
    events: list[tuple[float, str]] = []
    t2a.generate(_opts(AUDIOLDM2, duration_s=0.5, variations=2), progress=lambda f, m: events.append((f, m)))
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    steps = [m for _, m in events if ": step " in m]
    assert len(steps) == STEPS  # both variations are denoised in one batch: one report per step
    assert steps[0] == "variations 1-2/2: step 1/3" and steps[-1] == "variations 1-2/2: step 3/3"


def test_cancel_between_steps_writes_nothing(t2a: TextToAudio, tiny_config: Config) -> None:
    seen: list[str] = []

    def progress(fraction: float, message: str) -> None:
        seen.append(message)
        if message.endswith("step 2/3"):
            raise Cancelled("job cancelled by the client")

    with pytest.raises(Cancelled):
        t2a.generate(_opts(AUDIOLDM, duration_s=0.5), progress=progress)
    assert not any("step 3/3" in m for m in seen)
    out = tiny_config.renders_dir() / "generated"
    assert not out.exists() or not any(out.iterdir())


def test_missing_weights_fail_naming_the_pull_command(t2a: TextToAudio, tiny_config: Config, tmp_path: Path) -> None:
    tiny_config.models.dirs = [str(tmp_path / "empty")]
    with pytest.raises(ModelUnavailable, match=f"grym models pull {AUDIOLDM2}"):
        t2a.generate(_opts(AUDIOLDM2, duration_s=1.0))


def test_generated_clip_is_analyzed_and_remembered(tiny_config: Config, shared_budget: MemoryBudget) -> None:
    from grym_bridge.generate.memory_link import rememberer
    from grym_bridge.memory import open_memory

    with open_memory(tiny_config) as memory:
        t2a = TextToAudio(tiny_config, budget=shared_budget, remember=rememberer(memory, tiny_config))
        (clip,) = t2a.generate(_opts(AUDIOLDM, bars=1, seed=5)).files
        stored = memory.get(clip.clip_id)
        assert stored.source == "generated" and Path(stored.path) == Path(clip.path)
        assert stored.provenance["prompt"] == "dusty lofi drum loop" and stored.provenance["seed"] == 5
        assert stored.features is not None


@pytest.mark.parametrize("model", [AUDIOLDM, AUDIOLDM2])
def test_waveforms_kept_on_the_device_give_the_host_paths_clips(t2a: TextToAudio, tiny_config: Config,
                                                                model: str) -> None:
    """The path a whole-GPU pipeline takes (waveforms stay on the device, conform_gpu, PCM written as is),
    run here with the CPU as the device: the same seed gives the clip the host path gives."""
    import torch

    from grym_bridge.models import fast

    opts = _opts(model, duration_s=1.0, seed=5, variations=2, target_lufs=-18)
    host = t2a.generate(opts)
    loaded = t2a.load(model)
    fast.keep_on_device(loaded.pipe, torch.device("cpu"))
    try:
        assert loaded.pipe._execution_device == torch.device("cpu")
        wave = run_pipeline(loaded, resolve(opts, tiny_config), seed=[5, 6])
        assert isinstance(wave, torch.Tensor) and wave.shape[0] == 2
        kept = t2a.generate(opts)
    finally:
        fast.uninstall(loaded.pipe)
    assert not fast.waveform_on_device(loaded.pipe) and not getattr(type(loaded.pipe), "_grym_pinned", False)
    for a, b in zip(host.files, kept.files):
        x, _ = sf.read(a.path, dtype="float32")
        y, _ = sf.read(b.path, dtype="float32")
        info = sf.info(b.path)
        assert x.shape == y.shape and info.subtype == "PCM_24" and info.channels == 2
        assert b.lufs == pytest.approx(a.lufs, abs=0.05) and b.lufs == pytest.approx(-18, abs=0.05)
        # soxr and the GPU path's windowed sinc part only near Nyquist: the clips agree closely, not bit for bit.
        assert np.sqrt(np.mean((x - y) ** 2) / np.mean(x ** 2)) < 0.05
        assert json.loads(Path(b.sidecar).read_text())["seed"] == a.seed


def test_a_compiled_pipeline_makes_whole_length_steps_and_the_clip_keeps_its_bars(
        t2a: TextToAudio, monkeypatch: pytest.MonkeyPatch) -> None:
    """A compiled pipeline compiles once per audio length, so grym asks it for lengths in steps of
    `compiled.LENGTH_STEP_S` and cuts the clip to its bars: two tempi in one step share one length. (The
    compiler itself needs a CUDA GPU; here the pipeline is only told it is compiled.)"""
    from grym_bridge.models import audioldm, compiled

    asked: list[float] = []
    loaded = t2a.load(AUDIOLDM)
    real_call = type(loaded.pipe).__call__

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(kwargs["audio_length_in_s"])
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(type(loaded.pipe), "__call__", spy)
    t2a.generate(_opts(AUDIOLDM, bars=1, tempo_bpm=100, seed=1))  # uncompiled: the bar plus its margins
    assert asked[-1] == pytest.approx(4 * 60 / 100 + 0.05 + 0.1)
    monkeypatch.setattr(audioldm.LoadedPipeline, "compiled", property(lambda self: True))
    said: list[str] = []
    clips = [t2a.generate(_opts(AUDIOLDM, bars=1, tempo_bpm=bpm, seed=1), lambda _f, m: said.append(m)).files[0]
             for bpm in (110, 130)]
    # The first call of the length says it compiles (and why clips are slower meanwhile); the second not.
    assert [m for m in said if m.startswith("compiling")] == [
        f"compiling {AUDIOLDM} for 2.65 s x 1 in the background (once per length and batch, about a minute); "
        "clips are made meanwhile, a little slower"]
    # 2.18 s and 1.85 s: one length, the step plus the loop's tail and the margin
    assert asked[-2:] == pytest.approx([compiled.LENGTH_STEP_S + 0.15] * 2)
    for clip, bpm in zip(clips, (110, 130)):
        assert clip.frames == sf.info(clip.path).frames == round(4 * 60 / bpm * clip.sample_rate)
    assert [compiled.model_seconds(s) for s in (0.1, 2.5, 2.51, 9.9, 10.0)] == [2.5, 2.5, 5.0, 10.0, 10.0]
