"""The real steps over the real capabilities: analysis, memory, compose, conform, generate."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from grym_bridge.audio_io import write_audio
from grym_bridge.config import Config
from grym_bridge.orchestrator.chains import StepFailed
from grym_bridge.orchestrator.plan import Plan, Step
from grym_bridge.app import build_services
from grym_bridge.orchestrator.service import OrchestratorService
from grym_bridge.orchestrator.step_adapters import SMALL_TTA_MODEL
from grym_bridge.orchestrator.steps import ChainContext
from tests.models.tiny import AUDIOLDM as TINY_AUDIOLDM
from tests.models.tiny import shared_budget, tiny_config, tiny_models_dir  # noqa: F401
from tests.synth import chord_progression, click_track, pink_noise


@pytest.fixture
def service(config: Config) -> OrchestratorService:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    return build_services(config).orchestrator


def clip(tmp_path: Path, name: str, audio) -> Path:
    return write_audio(tmp_path / name, audio)


def test_chords_in_the_key_of_the_clip(service: OrchestratorService, tmp_path: Path) -> None:
    loop = clip(tmp_path, "amin.wav", chord_progression("A minor", bpm=100, bars=4))
    answer = service.ask("give me chords for this in the same key", path=loop)
    assert [s.step for s in answer.result.steps] == ["analyze", "compose"]
    composed = answer.result.results["compose"]
    assert composed["key"] == answer.result.results["analyze"]["key"] == "A minor"
    assert Path(composed["path"]).suffix == ".mid" and Path(composed["path"]).is_file()
    assert answer.result.outputs == [composed["path"]]


def test_remember_then_find_similar(service: OrchestratorService, tmp_path: Path) -> None:
    a = clip(tmp_path, "a.wav", click_track(120, 4.0))
    b = clip(tmp_path, "b.wav", click_track(124, 4.0))
    c = clip(tmp_path, "noise.wav", pink_noise(4.0))
    for p in (a, b, c):
        assert service.ask("remember this", path=p).result.results["store"]["clip_id"] > 0
    found = service.ask("find 2 similar clips", path=a).result.results["memory_lookup"]["matches"]
    assert [m["path"] for m in found][0] == str(b)  # the other click track, not the noise, not itself
    assert len(found) == 2 and found[0]["score"] > found[1]["score"]


def test_conform_loops_a_clip_to_whole_bars_at_the_session_tempo(service: OrchestratorService, config: Config,
                                                               tmp_path: Path) -> None:
    loop = clip(tmp_path, "loop.wav", pink_noise(5.3))
    service.sessions.set("tempo", 120)
    ctx = ChainContext(config, input_path=loop, session=service.sessions.get())
    result = service.chains.execute_chain(Plan([Step("conform", {"bars": 2})]), ctx)
    out = Path(result.output)
    info = sf.info(out)
    assert info.frames == 2 * 4 * info.samplerate // 2  # 2 bars of 4 beats at 120 BPM = 4 s
    assert out.is_relative_to(config.renders_dir())


def test_generation_without_weights_tries_the_small_model_then_says_how_to_get_them(
        service: OrchestratorService, config: Config) -> None:
    config.models.dirs = [str(config.data_dir / "no-models")]
    with pytest.raises(StepFailed) as info:
        service.ask("generate a dark ambient pad")
    assert info.value.code == "model_unavailable"
    msg = info.value.message
    assert msg.startswith("step generate failed: the weights of")
    assert f"fallback generate(prompt=dark ambient pad, model={SMALL_TTA_MODEL}) failed" in msg
    assert "grym models pull" in msg


def centroid(path: Path) -> float:
    """Spectral centroid of a file, measured here with numpy (not with the analysis under test)."""
    import numpy as np

    x, sr = sf.read(path, dtype="float32", always_2d=True)
    spec = np.abs(np.fft.rfft(x.mean(axis=1)))
    freqs = np.fft.rfftfreq(x.shape[0], 1.0 / sr)
    return float((spec * freqs).sum() / spec.sum())


@pytest.mark.parametrize(("words", "brighter"), [("make it brighter", True), ("make it darker", False)])
def test_effect_words_render_a_file_that_moves_the_spectrum(service: OrchestratorService, tmp_path: Path,
                                                            words: str, brighter: bool) -> None:
    loop = clip(tmp_path, "noise.wav", pink_noise(4.0, lufs=-18.0))
    answer = service.ask(words, path=loop)
    assert [s.step for s in answer.result.steps] == ["analyze", "suggest_fx", "render", "store"]
    assert all(s.ok for s in answer.result.steps)
    out = Path(answer.result.output)
    assert out.is_file() and out != loop
    assert (centroid(out) > centroid(loop) * 1.05) if brighter else (centroid(out) < centroid(loop) * 0.95)
    assert answer.result.results["store"]["source"] == "rendered"
    assert answer.result.results["suggest_fx"]["reasons"]


def test_several_goals_and_louder(service: OrchestratorService, tmp_path: Path) -> None:
    import pyloudnorm

    loop = clip(tmp_path, "quiet.wav", pink_noise(4.0, lufs=-26.0))
    answer = service.ask("warmer, wider and louder", path=loop)
    fx = answer.result.results["suggest_fx"]
    assert fx["goals"] == ["warmer", "wider", "louder"]
    names = [p["plugin"] for p in fx["chain"]]
    assert "LowShelfFilter" in names and "StereoWidth" in names
    assert names[-2:] == ["Gain", "BrickwallLimiter"]  # loudness stays last, after the extra style moves
    x, sr = sf.read(answer.result.output, always_2d=True)
    assert pyloudnorm.Meter(sr).integrated_loudness(x) > -25.0


def test_generate_a_loop_then_widen_it_with_a_tiny_model(tiny_config: Config, shared_budget) -> None:  # noqa: F811
    """generate -> conform -> analyze -> suggest_fx -> render -> store, through a tiny seeded AudioLDM."""
    from grym_bridge.generate.runner import TextToAudio
    tiny_config.data_dir.mkdir(parents=True, exist_ok=True)
    service = build_services(tiny_config, make_text_to_audio=lambda: TextToAudio(tiny_config,
                                                                                 budget=shared_budget)).orchestrator
    service.sessions.set("tempo", 100)
    plan = service.chains.route_task("generate a dusty drum loop, 2 bars, and then make it wider")
    assert plan.names == ["generate", "conform", "analyze", "suggest_fx", "render", "store"]
    plan.steps[0].args.update(model=TINY_AUDIOLDM, steps=3, seed=5)  # seconds, not minutes, on a CPU
    seen: list[str] = []
    answer = service.chains.ask("generate", plan=plan, progress=lambda f, m: seen.append(m))
    results = answer.result.results
    assert results["generate"]["model"] == TINY_AUDIOLDM
    info = sf.info(answer.result.output)
    assert info.frames == round(2 * 4 * 60 / 100 * info.samplerate) and info.channels == 2  # still 2 bars
    assert results["store"]["source"] == "rendered" and results["store"]["clip_id"] > 0
    assert any(m.startswith("step 1/6 generate") for m in seen) and any(m.startswith("step 5/6 render") for m in seen)


def test_the_analysis_step_counts_bars_in_the_session_meter_once_the_daw_set_it(
        service: OrchestratorService, config: Config, tmp_path: Path) -> None:
    from tests.analysis.music import ballad

    loop = clip(tmp_path, "ballad.wav", ballad("C major", bpm=100, bars=8))

    def analysed() -> tuple[str, int]:
        ctx = ChainContext(config, input_path=loop, session=service.sessions.get())
        service.chains.execute_chain(Plan([Step("analyze", {})]), ctx)
        return ctx.analysis.meter, ctx.analysis.beats_per_bar

    assert analysed() == ("4/4", 4)  # unset: detected
    service.sessions.set("time_signature", "3/4")
    assert analysed() == ("3/4", 3)
