"""A `/grym/ask` plan goes through the same checks as `/grym/fx/render`.

The plan comes from the LLM stand-in (a loopback server speaking Ollama's
chat API, standing in for a local Ollama), so it can name anything: a render
step whose chain names a VST3 bundle or an impulse response outside the
allowed roots must be refused with `path_not_allowed` before the chain opens
anything (not the clip, not the plug-in, not the impulse response).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

import plugin_host.vst3
from grym_bridge.audio_io import write_audio
from grym_bridge.config import Config
from tests.orchestrator.llm_standin import LlmStandIn
from tests.osc_client import JobFailed, start_server
from tests.synth import chord_progression


@pytest.mark.parametrize("named", ["vst3", "impulse_response"])
def test_a_plan_naming_a_file_outside_the_roots_is_refused_before_anything_opens(
        config: Config, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        named: str) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")  # beside this test's allowed root, not under it
    if named == "vst3":
        outside = elsewhere / "Shady.vst3"
        outside.mkdir()
        chain = [{"plugin": "VST3", "path": str(outside)}]
    else:
        outside = write_audio(elsewhere / "hall.wav", chord_progression("C major", bars=1))
        chain = [{"plugin": "Convolution", "params": {"impulse_response_filename": str(outside)}}]
    loop = write_audio(tmp_path / "loop.wav", chord_progression("A minor", bars=1))

    opened: list[str] = []
    file_init = sf.SoundFile.__init__

    def spy_open(self: Any, file: Any, *args: Any, **kwargs: Any) -> None:
        opened.append(str(file))
        file_init(self, file, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "__init__", spy_open)
    monkeypatch.setattr(plugin_host.vst3, "load_vst3", lambda *a, **k: opened.append(f"vst3 {a[0]}"))

    llm = LlmStandIn()
    config.orchestrator.planner = "ollama"
    config.orchestrator.llm_url = llm.url
    llm.reply = json.dumps({"steps": [{"step": "analyze"}, {"step": "render", "args": {"chain": chain}}],
                            "explanation": "Put the loop in that room."})
    srv = start_server(config)
    try:
        with srv.client() as c:
            with pytest.raises(JobFailed) as info:
                c.wait_job(c.start_job("/grym/ask", "put it in the hall", str(loop)))
    finally:
        srv.stop()
        llm.close()
    assert info.value.code == "path_not_allowed", info.value
    assert outside.name in info.value.message
    assert opened == [], f"opened before the plan was refused: {opened}"
    assert not config.renders_dir().exists() or not any(config.renders_dir().rglob("*.wav"))
