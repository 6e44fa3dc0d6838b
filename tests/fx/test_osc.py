"""The fx OSC domain over real UDP on loopback: jobs for suggest, render, map and mix; bad input answered at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grym_bridge.audio_io import Audio
from tests.fx import measure
from tests.fx.conftest import write_clip
from tests.fx.material import SR, base, plant, stems
from tests.osc_client import RunningServer, osc_server  # noqa: F401


def test_suggest_render_and_map_over_osc(osc_server: RunningServer, tmp_path: Path) -> None:  # noqa: F811
    clip = write_clip(tmp_path, "mud", plant("mud"))
    with osc_server.client() as client:
        job = client.start_job("/grym/fx/suggest", str(clip), "style", "warm", "map", "ableton")
        suggestion = client.wait_job(job)
        assert any(r["problem"] == "mud" for r in suggestion["reasons"])
        assert suggestion["daw"]["daw"] == "ableton"

        job = client.start_job("/grym/fx/render", str(clip), json.dumps({"chain": suggestion["chain"]}), "ab", 1)
        render = client.wait_job(job)
        assert Path(render["path"]).is_file() and Path(render["ab"]["b_path"]).is_file()
        assert measure.lufs(measure.read(render["path"])) == pytest.approx(-14.0, abs=0.5)

        job = client.start_job("/grym/fx/map", json.dumps(suggestion["chain"]), "reaper")
        mapping = client.wait_job(job)
        assert mapping["devices"][0]["device"] == "ReaEQ"


def test_mix_over_osc_from_a_folder(osc_server: RunningServer, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "stems"
    folder.mkdir()
    for name, audio in stems(3.0).items():
        write_clip(folder, name, audio)
    with osc_server.client() as client:
        result = client.wait_job(client.start_job("/grym/mix/suggest", str(folder), "headroom", 3.0))
    assert {s["role"] for s in result["stems"]} == {"kick", "bass", "vocal", "keys"}
    assert any({c["a"], c["b"]} == {"kick", "bass"} and c["cut_stem"] == "bass" for c in result["conflicts"])
    assert result["headroom_db"] == 3.0


def test_bad_requests_are_answered_at_once(osc_server: RunningServer, tmp_path: Path) -> None:  # noqa: F811
    clip = write_clip(tmp_path, "clip", Audio(base(2.0), SR))
    with osc_server.client() as client:
        addr, args = client.request("/grym/fx/render", str(clip), '[{"plugin": "Reverbb"}]')
        assert addr == "/grym/error" and args[0] == "/grym/fx/render" and args[2] == "bad_chain"
        assert "Did you mean 'Reverb'" in args[3] and "Valid plugins" in args[3]
        addr, args = client.request("/grym/fx/suggest", "/etc/hostname")
        assert addr == "/grym/error" and args[2] == "path_not_allowed"
        addr, args = client.request("/grym/fx/suggest", str(clip), "style", "shiny")
        assert addr == "/grym/error" and "warm, bright" in args[3]
        addr, args = client.request("/grym/mix/suggest", json.dumps([str(clip)]))
        assert addr == "/grym/error" and "2 to 32 stems" in args[3]
        addr, args = client.request("/grym/fx/map", "[]", "logic")
        assert addr == "/grym/error" and "reaper" in args[3]
