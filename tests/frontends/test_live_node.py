"""The Max for Live device's scripts under Node (`node --test`), run by pytest so CI counts them.

- `tests/frontends/live/lom.test.js`: grym_lom.js against the LiveAPI stand-in.
- `tests/frontends/live/device.test.js`: grym_node.js + grym_lom.js against a real `grym serve`
  that the JS harness starts (and kills, stops and restarts) on a free port, with this test's data
  folder; the max-api and LiveAPI stand-ins say what they stand in for.

A failing node test fails here with node's own report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from grym_bridge.audio_io import Audio, write_audio
from grym_bridge.transports.osc.server import encode
from tests.conftest import require_tool
from tests.frontends.test_live_device import build
from tests.osc_client import free_port
from tests.synth import chord_progression

ROOT = Path(__file__).resolve().parents[2]
LIVE_TESTS = Path(__file__).resolve().parent / "live"


def run_node_tests(files: list[Path], env: dict[str, str], timeout: float = 240) -> str:
    """Run `node --test` on files; fail with node's report unless every test passed."""
    node = require_tool("node")
    proc = subprocess.run([node, "--test", "--test-reporter=spec", *map(str, files)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"node --test failed (exit {proc.returncode}):\n{report[-12000:]}"
    assert "ℹ fail 0" in report and "ℹ skipped 0" in report and "ℹ pass 0" not in report, report[-4000:]
    return report


def device_env(tmp_path: Path, *, audio: bool = True) -> dict[str, str]:
    """A config, test audio and a free port for the device tests' own `grym serve`.

    The audio: an E minor loop at 100 bpm, and ten minutes of noise (seconds of analysis: a job
    that is still running when the test cancels it or kills the bridge).
    """
    clips = tmp_path / "clips"
    clips.mkdir()
    clip = long = clips / "none.wav"
    if audio:
        clip = write_audio(clips / "em_loop.wav", chord_progression("E minor", bpm=100, bars=8))
        rng = np.random.default_rng(7)
        long_take = Audio((0.1 * rng.standard_normal((1, 22050 * 600))).astype(np.float32), 22050)
        long = write_audio(clips / "long_take.wav", long_take, subtype="PCM_16")
    config = tmp_path / "grym.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[paths]\nallowed_roots = ["{tmp_path}"]\n'
                      '[jobs]\ncpu_workers = 2\n'
                      # The device is under test, not the bridge's health: on a loaded test machine the event
                      # loop can lag past 1 s, and critical health would refuse the GPU job whose
                      # model_unavailable answer the device must show.
                      '[health]\nloop_lag_critical_s = 60\n', encoding="utf-8")
    return {
        **os.environ,
        "GRYM_BIN": str(Path(sys.executable).with_name("grym")),
        "GRYM_TEST_CONFIG": str(config),
        "GRYM_PORT": str(free_port()),
        "GRYM_TEST_AUDIO": json.dumps({"clip": str(clip), "long": str(long)}),
    }


def test_osc_codec_under_node_matches_python_osc() -> None:
    """The device's encoder, byte for byte against the bridge's own (python-osc), plus SLIP and decoding."""
    python_osc = encode("/grym/generate/text", [3, "dusty loop", "bars", 4, "tempo", 97.5, True, None])
    report = run_node_tests([LIVE_TESTS / "osc.test.js"], {**os.environ, "GRYM_PY_OSC_HEX": python_osc.hex()},
                            timeout=60)
    assert "byte for byte" in report


def test_lom_script_under_node() -> None:
    report = run_node_tests([LIVE_TESTS / "lom.test.js"], dict(os.environ), timeout=60)
    assert "create_audio_clip places the file" in report


def test_device_against_a_real_bridge(tmp_path: Path) -> None:
    report = run_node_tests([LIVE_TESTS / "device.test.js"], device_env(tmp_path))
    assert "a bridge restart mid-job" in report


def test_the_node_script_embedded_in_the_device_runs(tmp_path: Path) -> None:
    bundled = tmp_path / "grym_node.js"
    bundled.write_text(build.bundle_node_script(), encoding="utf-8")
    env = {**device_env(tmp_path, audio=False), "GRYM_DEVICE_SCRIPT": str(bundled)}
    report = run_node_tests([LIVE_TESTS / "bundle.test.js"], env, timeout=120)
    assert "the embedded node script connects and composes" in report
