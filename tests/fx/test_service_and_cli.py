"""The fx service and CLI: bad chains and bad audio fail clearly with nothing left behind; paths are checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from grym_bridge.audio_io import Audio
from grym_bridge.cli import cli
from grym_bridge.config import Config
from grym_bridge.errors import AudioFileError, BadRequest, PathNotAllowed
from grym_bridge.fx import FxService
from tests.fx import measure
from tests.fx.conftest import write_clip
from tests.fx.material import SR, base, plant

BAD_CHAINS = [
    ([{"plugin": "Compresor"}], "bad_chain", ["Did you mean 'Compressor'", "Valid plugins"]),
    ([{"plugin": "Delay", "params": {"feedback": 1.5}}], "bad_chain", ["feedback must be within 0..1"]),
    ('[{"plugin": "Gain", "params": {"gain_db": NaN}}]', "bad_chain", ["finite", "gain_db -120..48"]),
    ([{"plugin": "VST3", "path": "{tmp}/Missing.vst3"}], "bad_chain", ["does not exist", "VST3"]),
]


@pytest.mark.parametrize(("chain", "code", "texts"), BAD_CHAINS)
def test_bad_chains_list_valid_options_and_leave_no_file(fx: FxService, config: Config, tmp_path: Path,
                                                         chain: object, code: str, texts: list[str]) -> None:
    clip = write_clip(tmp_path, "clip", Audio(base(4.0), SR))
    if isinstance(chain, list):
        chain = json.loads(json.dumps(chain).replace("{tmp}", str(tmp_path)))
    with pytest.raises(BadRequest) as info:
        fx.render(clip, chain, ab=True)
    assert info.value.code == code
    for text in texts:
        assert text in info.value.message
    assert list(config.renders_dir().glob("*")) == []


def test_bad_audio_fails_clearly_and_leaves_no_partial_output(fx: FxService, config: Config, tmp_path: Path) -> None:
    chain = [{"plugin": "Reverb", "params": {"room_size": 0.5}}]
    nan = np.array(base(4.0))
    nan[0, SR] = np.nan
    bad = tmp_path / "nan.wav"
    sf.write(str(bad), nan.T, SR, subtype="FLOAT")
    with pytest.raises(AudioFileError, match="NaN"):
        fx.render(bad, chain, ab=True)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(write_clip(tmp_path, "whole", Audio(base(4.0), SR)).read_bytes()[:100])
    with pytest.raises(AudioFileError):
        fx.render(truncated, chain)
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is not audio")
    with pytest.raises(AudioFileError, match="cannot be decoded"):
        fx.render(not_audio, chain)
    assert list(config.renders_dir().glob("*")) == []


def test_client_paths_outside_the_allowed_roots_are_refused(fx: FxService, tmp_path: Path) -> None:
    clip = write_clip(tmp_path, "clip", Audio(base(4.0), SR))
    with pytest.raises(PathNotAllowed):
        fx.render("/etc/hostname", [])
    with pytest.raises(PathNotAllowed):
        fx.render(clip, [], output="/tmp/../etc/out.wav")
    with pytest.raises(PathNotAllowed):
        fx.render(clip, [{"plugin": "Convolution", "params": {"impulse_response_filename": "/etc/passwd"}}])


def test_cli_suggest_json_then_render_with_ab(config: Config, tmp_path: Path) -> None:
    clip = write_clip(tmp_path, "mud", plant("mud"))
    runner = CliRunner()
    data = ["--data-dir", str(config.data_dir)]
    out = runner.invoke(cli, [*data, "suggest", str(clip), "--json", "--map", "reaper", "-o",
                              str(tmp_path / "s.json")])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert {"chain", "reasons"} <= set(doc) and doc["daw"]["daw"] == "reaper"
    assert any(r["problem"] == "mud" for r in doc["reasons"])
    out = runner.invoke(cli, [*data, "render", str(clip), "--chain", str(tmp_path / "s.json"), "--ab", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert Path(result["path"]).parent == config.renders_dir()
    assert json.loads(Path(result["sidecar"]).read_text())["chain"]["chain"] == doc["chain"]
    b = measure.read(result["ab"]["b_path"])
    assert measure.lufs(b) == pytest.approx(measure.lufs(measure.read(clip)), abs=0.2)


def test_cli_errors_are_one_line(config: Config, tmp_path: Path) -> None:
    clip = write_clip(tmp_path, "clip", Audio(base(2.0), SR))
    out = CliRunner().invoke(cli, ["--data-dir", str(config.data_dir), "render", str(clip), "--chain",
                                   '[{"plugin": "Reverbb"}]'])
    assert out.exit_code == 1
    assert out.output.startswith("error: chain[0]: unknown plugin 'Reverbb'. Did you mean 'Reverb'?")


@pytest.mark.parametrize("channels", [1, 2])
def test_the_injected_render_meter_agrees_with_the_analysis_and_pyloudnorm(channels: int) -> None:
    from grym_bridge.analysis.loudness import integrated_lufs
    from grym_bridge.fx.meter import analysis_meter

    x = np.array(base(6.0))[:channels] * np.float32(0.5)
    x[:, : 2 * SR] *= np.float32(0.03)  # a quiet stretch for the gates
    meter = analysis_meter(SR, channels)
    for start in range(0, x.shape[1], 5000):  # state carries across odd-sized blocks
        meter.add(x[:, start:start + 5000])
    assert meter.integrated_lufs() == pytest.approx(integrated_lufs(x, SR), abs=1e-3)
    assert meter.integrated_lufs() == pytest.approx(measure.lufs(x), abs=0.1)


def test_cli_lists_the_plugins_a_chain_may_use() -> None:
    out = CliRunner().invoke(cli, ["render", "--list-plugins"])
    assert out.exit_code == 0, out.output
    assert "Reverb(room_size 0..1" in out.output and "StereoWidth(width_percent 0..400 %" in out.output
    assert "VST3 plug-ins in" in out.output


def test_a_vst3_that_fails_to_load_is_reported_and_leaves_no_file(fx: FxService, config: Config,
                                                                    tmp_path: Path) -> None:
    bundle = tmp_path / "Broken.vst3" / "Contents" / "x86_64-linux"
    bundle.mkdir(parents=True)
    (bundle / "Broken.so").write_bytes(b"not a shared object")
    clip = write_clip(tmp_path, "clip", Audio(base(2.0), SR))
    with pytest.raises(BadRequest) as info:
        fx.render(clip, [{"plugin": "VST3", "path": str(tmp_path / "Broken.vst3")}], ab=True)
    assert info.value.code == "plugin_load" and "cannot be loaded" in info.value.message
    assert list(config.renders_dir().glob("*")) == []
