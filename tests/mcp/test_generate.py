"""Generation over MCP with the tests' tiny seeded AudioLDM: progress notifications, files, missing weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import soundfile as sf

from grym_bridge.config import Config
from grym_bridge.models.registry import MemoryBudget
from tests.mcp.conftest import mcp_session, run
from tests.models.tiny import AUDIOLDM, AUDIOLDM2


def _tta(config: Config, budget: MemoryBudget) -> Any:
    from grym_bridge.generate.runner import TextToAudio

    return lambda: TextToAudio(config, budget=budget)


def test_generate_reports_each_step_and_returns_the_files(tiny_config: Config, shared_budget: MemoryBudget) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async def body() -> Any:
        async with mcp_session(tiny_config, make_text_to_audio=_tta(tiny_config, shared_budget)) as s:
            await s.client.call_tool("session_set", {"key": "tempo", "value": 120})
            return await s.client.call_tool(
                "generate_audio", {"prompt": "dusty lofi drum loop", "bars": 1, "steps": 2, "seed": 7,
                                   "model": AUDIOLDM}, progress_callback=on_progress)

    result = run(body())
    assert not result.is_error, result.content
    data = result.structured_content
    (clip,) = data["files"]
    renders = tiny_config.data_dir / "renders"
    assert Path(clip["path"]).is_relative_to(renders) and sf.info(clip["path"]).frames == clip["frames"]
    assert clip["frames"] == round(4 * 60 / 120 * clip["sample_rate"])  # one bar of 4/4 at the session's 120 BPM
    assert json.loads(Path(clip["sidecar"]).read_text())["prompt"] == "dusty lofi drum loop"
    assert data["seed"] == 7 and data["model"] == AUDIOLDM
    assert result.content[0].text.startswith(f"1 file(s) from {AUDIOLDM} (seed 7): {clip['path']}")
    steps = [m for _, m in progress if m and "step" in m]
    assert steps == ["variation 1/1: step 1/2", "variation 1/1: step 2/2"]
    assert [v for v, _ in progress] == sorted(v for v, _ in progress)


def test_missing_weights_are_a_tool_error_that_says_how_to_get_them(tiny_config: Config, tmp_path: Path) -> None:
    tiny_config.models.dirs = [str(tmp_path / "empty")]

    async def body() -> Any:
        async with mcp_session(tiny_config) as s:
            return await s.client.call_tool("generate_audio", {"prompt": "warm pad", "duration": 1.0,
                                                               "model": AUDIOLDM2})

    result = run(body())
    assert result.is_error
    error = result.structured_content["error"]
    assert error["code"] == "model_unavailable" and isinstance(error["job_id"], int)
    assert f"grym models pull {AUDIOLDM2}" in result.content[0].text
