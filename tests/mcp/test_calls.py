"""Tool calls through the SDK's in-memory client against real services: results, progress, errors, jobs."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from grym_bridge.config import Config
from grym_bridge.errors import NotFound
from tests.mcp.conftest import McpSession, mcp_session, run, write_progression


def test_analyze_hears_key_and_tempo_with_progress(config: Config, tmp_path: Path) -> None:
    clip = write_progression(tmp_path / "prog.wav", "A minor", bpm=100, bars=4)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async def body() -> Any:
        async with mcp_session(config) as s:
            return await s.client.call_tool("analyze", {"path": str(clip)}, progress_callback=on_progress)

    result = run(body())
    assert not result.is_error, result.content
    data = result.structured_content
    assert data["key"] == "A minor" and abs(data["tempo_bpm"] - 100) < 2 and data["path"] == str(clip)
    summary = result.content[0].text
    assert summary.startswith("A minor, 10") and "LUFS" in summary and "(job " in summary
    assert json.loads(result.content[1].text)["key"] == "A minor"  # the data as text too, for clients without it
    messages = [m for _, _, m in progress]
    assert "loudness" in messages and "tempo" in messages
    assert [v for v, _, _ in progress] == sorted(v for v, _, _ in progress) and {t for _, t, _ in progress} == {1.0}


def test_a_path_outside_the_allowed_roots_is_refused_and_nothing_runs(config: Config, tmp_path: Path) -> None:
    outside = Path("/etc/hostname")
    inside = write_progression(tmp_path / "in.wav", bars=1)

    async def body() -> list[Any]:
        async with mcp_session(config) as s:
            results = [await s.client.call_tool("analyze", {"path": str(outside)}),
                       await s.client.call_tool("render_chain", {"path": str(inside),
                                                                 "chain": [{"plugin": "Gain"}],
                                                                 "out": "/tmp/../etc/out.wav"}),
                       await s.client.call_tool("remember", {"path": "/"})]
            with pytest.raises(NotFound):
                s.services.jobs.get(1)  # no job was ever queued
            return results

    results = run(body())
    for result in results:
        assert result.is_error
        assert result.structured_content["error"]["code"] == "path_not_allowed", result.content
        assert "allowed folders" in result.content[0].text and "paths.allowed_roots" in result.content[0].text


def test_bad_arguments_are_tool_errors_naming_them(config: Config) -> None:
    async def body() -> list[Any]:
        async with mcp_session(config) as s:
            return [await s.client.call_tool("find_similar", {"query": "1", "k": 0}),
                    await s.client.call_tool("compose", {"part": "harp"}),
                    await s.client.call_tool("compose", {"part": "continue"}),
                    await s.client.call_tool("session_get", {"tempo": 3}),
                    await s.client.call_tool("no_such_tool", {})]

    k, part, continue_, unknown, tool = run(body())
    assert k.is_error and "'k' must be at least 1" in k.content[0].text
    assert part.is_error and "'part' must be one of chords, melody, bass, drums, continue" in part.content[0].text
    assert continue_.is_error and "needs 'path'" in continue_.content[0].text
    assert unknown.is_error and "unknown argument(s) 'tempo'" in unknown.content[0].text
    assert tool.is_error and "no tool 'no_such_tool'" in tool.content[0].text


def test_remember_tag_rate_and_read_the_memory_as_resources(config: Config, tmp_path: Path) -> None:
    # Four bars, the whole I-IV-V-I: two bars (C then F) are as much V-I in F major as I-IV in C major.
    clip = write_progression(tmp_path / "pad.wav", "C major", bpm=90, bars=4)

    async def body() -> dict[str, Any]:
        async with mcp_session(config) as s:
            added = await s.client.call_tool("remember", {"path": str(clip), "tags": ["pad", "warm"]})
            clip_id = added.structured_content["added"][0]
            tagged = await s.client.call_tool("tag_clip", {"clip_id": clip_id, "tags": ["dark"]})
            rated = await s.client.call_tool("rate_clip", {"clip_id": clip_id, "value": "kept"})
            listed = [str(r.uri) for r in (await s.client.list_resources()).resources]
            templates = [t.uri_template for t in (await s.client.list_resource_templates()).resource_templates]
            one = json.loads((await s.client.read_resource(f"grym://clips/{clip_id}")).contents[0].text)
            every = json.loads((await s.client.read_resource("grym://clips")).contents[0].text)
            with pytest.raises(MCPError) as missing:
                await s.client.read_resource("grym://clips/999")
            with pytest.raises(MCPError) as unknown:
                await s.client.read_resource("grym://mixer")
            stored = s.services.memory().get(clip_id)
            return locals()

    r = run(body())
    assert r["tagged"].structured_content == {"clip_id": r["clip_id"], "tags": ["dark", "pad", "warm"]}
    assert r["rated"].structured_content["feedback"]["kept"] is True
    assert set(r["stored"].tags) == {"dark", "pad", "warm"} and r["stored"].feedback.kept  # the DAW's store
    assert {"grym://session", "grym://clips", f"grym://clips/{r['clip_id']}"} <= set(r["listed"])
    assert set(r["templates"]) == {"grym://session/{session}", "grym://clips/{clip_id}"}
    assert r["one"]["path"] == str(clip) and r["one"]["features"]["key"] == "C major"
    assert [c["id"] for c in r["every"]["clips"]] == [r["clip_id"]]
    assert "not_found" in str(r["missing"].value) and "grym://clips/<id>" in str(r["unknown"].value)


def test_the_session_is_the_one_the_daw_shares(config: Config) -> None:
    async def body() -> dict[str, Any]:
        async with mcp_session(config) as s:
            set_ = await s.client.call_tool("session_set", {"key": "tempo", "value": 128})
            seen_by_daw = s.services.orchestrator.sessions.get("default").tempo
            s.services.orchestrator.sessions.set("key", "D minor")  # the DAW changes the key
            got = await s.client.call_tool("session_get", {})
            resource = json.loads((await s.client.read_resource("grym://session")).contents[0].text)
            return locals()

    r = run(body())
    assert r["set_"].structured_content == {"key": "tempo", "value": 128.0} and r["seen_by_daw"] == 128.0
    assert r["got"].structured_content["key"] == "D minor" and r["resource"]["tempo"] == 128.0
    assert "tempo 128.0" in r["got"].content[0].text


def _hold_the_cpu_queue(s: McpSession, gate: threading.Event) -> None:
    """Stands in for a DAW's long job: it holds the only cpu worker until `gate` opens."""
    s.services.jobs.submit("daw job", lambda ctx: gate.wait(30), resource="cpu")


def test_past_the_deadline_the_tool_returns_the_job_and_the_model_polls_it(config: Config, tmp_path: Path) -> None:
    config.jobs.cpu_workers = 1
    clip = write_progression(tmp_path / "prog.wav", bars=2)
    gate = threading.Event()

    async def body() -> dict[str, Any]:
        async with mcp_session(config, deadline_s=0.2) as s:
            _hold_the_cpu_queue(s, gate)
            first = await s.client.call_tool("analyze", {"path": str(clip)})
            assert not first.is_error and "job_id" in first.structured_content, first.content
            job_id = first.structured_content["job_id"]
            gate.set()
            polls = []
            for _ in range(300):
                polls.append(await s.client.call_tool("job_status", {"job_id": job_id}))
                if polls[-1].structured_content["state"] in ("done", "error", "cancelled"):
                    break
                await asyncio.sleep(0.05)
            return locals()

    r = run(body())
    first = r["first"]
    assert first.structured_content["state"] == "queued"  # behind the DAW's job
    assert f"poll job_status with job_id {r['job_id']}" in first.content[0].text
    final = r["polls"][-1].structured_content
    assert final["state"] == "done" and final["result"]["key"] == "A minor"
    assert r["polls"][-1].content[0].text.startswith(f"job {r['job_id']} done at 100%")


def test_cancelling_the_call_cancels_the_job(config: Config, tmp_path: Path) -> None:
    config.jobs.cpu_workers = 1
    clip = write_progression(tmp_path / "prog.wav", bars=2)
    gate = threading.Event()

    async def body() -> tuple[Any, Any]:
        async with mcp_session(config) as s:
            _hold_the_cpu_queue(s, gate)
            call = asyncio.create_task(s.client.call_tool("analyze", {"path": str(clip)}))
            for _ in range(400):  # until the analysis is queued and the call waits on it
                waiting = [j for j in s.services.jobs.active() if j.name == "analyze"]
                if waiting:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            for _ in range(200):
                if waiting[0].state.value != "queued":
                    break
                await asyncio.sleep(0.01)
            gate.set()
            return await s.client.call_tool("job_status", {"job_id": waiting[0].id}), s.services.jobs.active()

    status, active = run(body())
    assert status.structured_content["state"] == "cancelled"
    assert status.structured_content["error"]["code"] == "cancelled"
