"""`/grym/generate/*` over real UDP on loopback, with the tiny checkpoints: jobs, progress, session, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from grym_bridge.config import Config
from tests.generate.clips import bright_ticks
from tests.models.tiny import AUDIOLDM, AUDIOLDM2
from tests.osc_client import JobFailed, RunningServer, start_server


@pytest.fixture
def config(tiny_config: Config) -> Config:
    """The server of `osc_server` gets the tiny checkpoints in its models.dirs."""
    return tiny_config


def test_text_job_follows_the_session_and_reports_progress(osc_server: RunningServer) -> None:
    with osc_server.client() as c:
        for key, value in (("tempo", "90"), ("time_signature", "3/4"), ("sample_rate", "22050")):
            addr, _ = c.request("/grym/session/set", key, value)
            assert addr == "/grym/session/set"
        job = c.start_job("/grym/generate/text", "dusty lofi drum loop", "bars", 2.0, "seed", 21.0, "steps", 2,
                          "model", AUDIOLDM)
        result = c.wait_job(job)
        progress = [a for addr, a in c.pending if addr == "/grym/job/progress" and a[0] == job]
    (clip,) = result["files"]
    frames = round(2 * 3 * 60 / 90 * 22050)  # two bars of 3/4 at 90 BPM, at the session's rate
    assert clip["frames"] == frames == sf.info(clip["path"]).frames and clip["sample_rate"] == 22050
    assert result["seed"] == 21 and result["bars"] == 2 and result["tempo_bpm"] == 90
    assert json.loads(Path(clip["sidecar"]).read_text())["model"] == AUDIOLDM
    assert clip["clip_id"] is not None  # remembered
    steps = [a[2] for a in progress if "step" in a[2]]
    assert steps == ["variation 1/1: step 1/2", "variation 1/1: step 2/2"]
    assert [a[1] for a in progress] == sorted(a[1] for a in progress)


def test_like_a_clip_builds_its_prompt_and_uses_its_tempo(osc_server: RunningServer, tmp_path: Path) -> None:
    path = bright_ticks(tmp_path / "ticks.wav")
    with osc_server.client() as c:
        job = c.start_job("/grym/generate/like", str(path), json.dumps({"prompt": "hi-hat loop", "bars": 1,
                                                                         "steps": 2, "model": AUDIOLDM2}))
        result = c.wait_job(job)
    assert result["prompt"].startswith("hi-hat loop, bright, airy")
    assert result["source"]["path"] == str(path) and result["source"]["kind"] == "like"
    sidecar = json.loads(Path(result["files"][0]["sidecar"]).read_text())
    assert sidecar["prompt"] == result["prompt"] and sidecar["source"]["path"] == str(path)


def test_bad_requests_are_errors_naming_the_argument(osc_server: RunningServer, tmp_path: Path) -> None:
    with osc_server.client() as c:
        for args, argument in ((("",), "prompt"), (("pad", "duration", -2.0), "duration"),
                               (("pad", "steps", 0, "duration", 1.0), "steps")):
            addr, a = c.request("/grym/generate/text", *args)
            assert addr == "/grym/error" and a[0] == "/grym/generate/text" and a[2] == "bad_args", a
            assert argument in a[3], a
        addr, a = c.request("/grym/generate/like", "/etc/passwd")
        assert addr == "/grym/error" and a[2] == "path_not_allowed"


def test_missing_weights_fail_the_job_with_the_pull_command(tiny_config: Config, tmp_path: Path) -> None:
    tiny_config.models.dirs = [str(tmp_path / "empty")]
    running = start_server(tiny_config)
    try:
        with running.client() as c:
            job = c.start_job("/grym/generate/text", "warm pad", "duration", 1.0, "model", AUDIOLDM2)
            with pytest.raises(JobFailed) as err:
                c.wait_job(job)
            addr, models = c.request("/grym/generate/models")
    finally:
        running.stop()
    assert "model_unavailable" in str(err.value) and f"grym models pull {AUDIOLDM2}" in str(err.value)
    assert addr == "/grym/generate/models" and not any(m["present"] for m in json.loads(models[0]))


def test_cancel_stops_the_job(osc_server: RunningServer) -> None:
    with osc_server.client() as c:
        job = c.start_job("/grym/generate/text", "long drone", "duration", 20.0, "steps", 400, "model", AUDIOLDM)
        c.expect(lambda addr, a: addr == "/grym/job/progress" and a[0] == job and "step" in str(a[2]), 60)
        c.send("/grym/job/cancel", 1, job)
        with pytest.raises(JobFailed) as err:
            c.wait_job(job)
    assert "cancelled" in str(err.value)
    out = osc_server.services.config.renders_dir() / "generated"
    assert not out.exists() or not any(out.glob("*.wav"))
