"""The real steps over the real capabilities: analysis, memory, compose, conform, generate."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from grym_bridge.audio_io import write_audio
from grym_bridge.config import Config
from grym_bridge.orchestrator.chains import StepFailed
from grym_bridge.orchestrator.plan import Plan, Step
from grym_bridge.orchestrator.service import OrchestratorService
from grym_bridge.orchestrator.step_adapters import SMALL_TTA_MODEL
from grym_bridge.orchestrator.steps import ChainContext
from tests.synth import chord_progression, click_track, pink_noise


@pytest.fixture
def service(config: Config) -> OrchestratorService:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    return OrchestratorService.build(config)


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
    result = service.orchestrator.execute_chain(Plan([Step("conform", {"bars": 2})]), ctx)
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
