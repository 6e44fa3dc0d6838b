"""/grym/ask, /grym/session/* and /grym/health/* over real UDP on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterator

import pytest

from grym_bridge.audio_io import write_audio
from grym_bridge.config import Config
from grym_bridge.orchestrator.health import Readings
from tests.osc_client import JobFailed, RunningServer, start_server
from tests.synth import chord_progression


@pytest.fixture
def server(config: Config) -> Iterator[RunningServer]:
    """A server whose own health sampling runs once at start, so the test drives health by hand."""
    config.health.interval_s = 3600.0
    config.health.min_time_in_state_s = 0.0
    config.resources.cleanup_interval_s = 0.0
    srv = start_server(config)
    try:
        deadline = time.monotonic() + 5
        while srv.services.orchestrator.health.status.readings.memory_percent is None:
            assert time.monotonic() < deadline, "the server never sampled its health"
            time.sleep(0.02)
        drive_health(srv, Readings())  # this busy test machine's real CPU load must not decide the tests
        yield srv
    finally:
        srv.stop()


def drive_health(server: RunningServer, readings: Readings) -> None:
    """Judge `readings` on the server's loop, where its own samples are judged too."""
    done = []
    server.loop.call_soon_threadsafe(lambda: done.append(server.services.orchestrator.health.update(readings)))
    while not done:
        time.sleep(0.01)


def test_session_set_get_and_updates_to_other_clients(server: RunningServer) -> None:
    with server.client() as daw, server.client() as other:
        assert other.request("/grym/session/start_listen/context")[1][0] == "default"
        assert daw.request("/grym/session/set", "bpm", 120.0) == ("/grym/session/set", ["tempo", 120.0])
        assert daw.request("/grym/session/set", "key", "f#m") == ("/grym/session/set", ["key", "F# minor"])
        _, (sid, ctx) = other.expect(lambda a, _: a == "/grym/session/context")
        assert sid == "default" and json.loads(ctx)["tempo"] == 120.0
        addr, (got,) = daw.request("/grym/session/get")
        assert json.loads(got) | {} == {"tempo": 120.0, "time_signature": None, "key": "F# minor",
                                        "sample_rate": None, "project": None, "selected_track": None}
        addr, args = daw.request("/grym/session/set", "tempo", "very fast")
        assert addr == "/grym/error" and args[2] == "bad_args" and "tempo in BPM" in args[3]
        addr, args = daw.request("/grym/session/set", "colour", "red")
        assert "unknown session key 'colour'" in args[3]
        # another session is separate
        daw.request("/grym/session/set", "tempo", 90, "session", "b-side")
        assert json.loads(daw.request("/grym/session/get", "session", "b-side")[1][0])["tempo"] == 90.0
        assert json.loads(daw.request("/grym/session/get")[1][0])["tempo"] == 120.0


def test_health_get_and_pushed_transitions(server: RunningServer) -> None:
    with server.client() as c:
        status = json.loads(c.request("/grym/health/get")[1][0])
        assert status["state"] == "healthy" and set(status["readings"]) >= {"cpu_percent", "queue_depth"}
        assert c.request("/grym/health/start_listen/state")[1][0] == "healthy"
        drive_health(server, Readings(memory_percent=99.0))
        _, (state, reasons) = c.expect(lambda a, _: a == "/grym/health/state")
        assert state == "critical" and "memory_percent 99" in json.loads(reasons)[0]
        # critical: a GPU chain is refused at once with a busy error, CPU work still runs
        addr, args = c.request("/grym/ask", "generate a dark ambient pad")
        assert addr == "/grym/error" and args[2] == "busy" and "critical health" in args[3]
        drive_health(server, Readings())
        assert c.expect(lambda a, _: a == "/grym/health/state")[1][0] == "healthy"


def test_ask_errors_come_at_once(server: RunningServer, tmp_path: Path) -> None:
    with server.client() as c:
        addr, args = c.request("/grym/ask", "make it brighter")
        assert addr == "/grym/error" and args[2] == "bad_args" and "send the file's path" in args[3]
        addr, args = c.request("/grym/ask", "hello there", str(tmp_path / "x.wav"))
        assert args[2] == "bad_args" and "could not tell what to do" in args[3]
        addr, args = c.request("/grym/ask", "make it brighter", "/etc/passwd")
        assert args[2] == "path_not_allowed"


def test_ask_runs_the_chain_as_a_job_with_per_step_progress(server: RunningServer, tmp_path: Path) -> None:
    loop = write_audio(tmp_path / "loop.wav", chord_progression("D minor", bpm=110, bars=4))
    with server.client() as c:
        c.request("/grym/session/set", "tempo", 110)
        job = c.start_job("/grym/ask", "give me chords for this in the same key", str(loop))
        result = c.wait_job(job)
        assert [s["step"] for s in result["plan"]["steps"]] == ["analyze", "compose"]
        compose = result["result"]["results"]["compose"]
        assert compose["key"] == "D minor" and compose["tempo"] == 110.0 and Path(compose["path"]).is_file()
        assert result["explanation"].startswith("Compose chords in the clip's key at 110 BPM")
        progress = [a for addr, a in c.pending if addr == "/grym/job/progress" and a[0] == job]
        assert any("step 2/2 compose" in a[2] for a in progress)
    assert server.services.orchestrator.health.errors.value() == 0.0


def test_make_it_brighter_end_to_end(server: RunningServer, tmp_path: Path) -> None:
    """The acceptance case: a clip and "make it brighter" over OSC give a render with a higher centroid."""
    from tests.orchestrator.test_step_adapters import centroid

    loop = write_audio(tmp_path / "loop.wav", chord_progression("C major", bpm=120, bars=2))
    with server.client() as c:
        result = c.wait_job(c.start_job("/grym/ask", "make it brighter", str(loop)))
    assert [s["step"] for s in result["plan"]["steps"]] == ["analyze", "suggest_fx", "render", "store"]
    rendered = Path(result["result"]["output"])
    assert rendered.is_file() and rendered.is_relative_to(server.services.config.renders_dir())
    assert centroid(rendered) > centroid(loop) * 1.05
    assert "brighter" in result["explanation"] and str(rendered) in result["explanation"]


def test_ask_with_an_llm_planner_and_its_fallback(config: Config, tmp_path: Path) -> None:
    """/grym/ask plans with the configured LLM (here the loopback stand-in), and with the rules when it fails."""
    from tests.orchestrator.llm_standin import LlmStandIn

    llm = LlmStandIn()
    config.orchestrator.planner = "ollama"
    config.orchestrator.llm_url = llm.url
    srv = start_server(config)
    try:
        with srv.client() as c:
            # words the rules do not know, planned by the LLM
            llm.reply = json.dumps({"steps": [{"step": "compose", "args": {"part": "melody", "key": "E minor"}}],
                                    "explanation": "A sad tune in E minor."})
            result = c.wait_job(c.start_job("/grym/ask", "something melancholic to hum along"))
            assert result["plan"]["planner"] == "ollama" and result["explanation"].startswith("A sad tune")
            assert result["result"]["results"]["compose"]["key"] == "E minor"
            # the LLM writes garbage: the rules plan, and the explanation says why
            llm.reply = "I think you should add some EQ!"
            result = c.wait_job(c.start_job("/grym/ask", "write chords in A minor"))
            assert result["plan"]["planner"] == "rules" and "not valid JSON" in result["plan"]["fallback_reason"]
            assert "(Planned by the rules: ollama's plan was unusable" in result["explanation"]
            # the clip's name is part of the context the LLM gets
            loop = write_audio(tmp_path / "kick_loop.wav", chord_progression("C major", bars=1))
            c.wait_job(c.start_job("/grym/ask", "write chords in A minor", str(loop)))
            assert "Clip file: kick_loop.wav" in llm.requests[-1][1]["messages"][1]["content"]
            # neither understands: the job fails with the rules' message
            with pytest.raises(JobFailed) as info:
                c.wait_job(c.start_job("/grym/ask", "hello there"))
            assert info.value.code == "bad_args" and "could not tell what to do" in info.value.message
    finally:
        srv.stop()
        llm.close()
