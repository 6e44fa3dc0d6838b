"""`grym generate` and `grym models` through click, with the tiny checkpoints in models.dirs."""

from __future__ import annotations

import json
from pathlib import Path

import soundfile as sf
from click.testing import CliRunner

from grym_bridge.cli import cli
from tests.models.tiny import AUDIOLDM, AUDIOLDM2


def _run(tmp_path: Path, models: Path | None, *args: str):  # noqa: ANN202 - click's Result
    env = {"GRYM_MODELS_DIRS": str(models or tmp_path / "no-models"), "GRYM_MODELS_DEVICE": "cpu",
           "GRYM_MODELS_HF_CACHE": str(tmp_path / "hf"), "GRYM_CONFIG": ""}
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), *args], env=env, catch_exceptions=False)


def test_generate_writes_bars_with_provenance(tmp_path: Path, tiny_models_dir: Path) -> None:
    out = tmp_path / "out"
    result = _run(tmp_path, tiny_models_dir, "generate", "dusty lofi drum loop", "--bars", "1", "--tempo", "120",
                  "--seed", "4", "-n", "2", "--model", AUDIOLDM, "--steps", "2", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [f["seed"] for f in data["files"]] == [4, 5]
    for f in data["files"]:
        assert Path(f["path"]).parent == out and sf.info(f["path"]).frames == 2 * 48000  # 1 bar at 120 = 2 s
        assert json.loads(Path(f["sidecar"]).read_text())["prompt"] == "dusty lofi drum loop"
        assert f["clip_id"] is not None  # remembered in the feature memory


def test_bad_options_fail_naming_the_argument(tmp_path: Path, tiny_models_dir: Path) -> None:
    for args, argument in ((["", "--bars", "1"], "prompt"), (["pad", "-d", "-2"], "duration"),
                           (["pad", "--steps", "0"], "steps")):
        result = _run(tmp_path, tiny_models_dir, "generate", *args)
        assert result.exit_code == 1 and f"error: {argument}:" in result.stderr, result.output


def test_missing_model_says_how_to_pull_it(tmp_path: Path) -> None:
    result = _run(tmp_path, None, "generate", "warm pad", "--model", AUDIOLDM2)
    assert result.exit_code == 1 and f"grym models pull {AUDIOLDM2}" in result.stderr


def test_models_list_verify_remove(tmp_path: Path, tiny_models_dir: Path) -> None:
    listed = json.loads(_run(tmp_path, tiny_models_dir, "models", "list", "--json").stdout)
    present = {m["id"]: m["present"] for m in listed}
    assert present == {AUDIOLDM2: True, "cvssp/audioldm2": False, AUDIOLDM: True}
    # A folder copied by hand carries no hashes: verify says so and how to record them.
    unchecked = _run(tmp_path, tiny_models_dir, "models", "verify", AUDIOLDM2, "--generate")
    assert unchecked.exit_code == 1 and "no hashes to check against" in unchecked.stdout, unchecked.output
    imported = _run(tmp_path, None, "models", "import", str(tiny_models_dir / AUDIOLDM2), "--json")
    assert imported.exit_code == 0, imported.output
    verified = _run(tmp_path, None, "models", "verify", AUDIOLDM2, "--generate", "--json")
    assert verified.exit_code == 0, verified.output
    report = json.loads(verified.stdout)
    assert report["ok"] and report["checked"] == json.loads(imported.stdout)["files"]
    assert report["generate"]["samples"] >= 16000 and report["generate"]["device"] == "cpu"  # a second at 16 kHz
    missing = _run(tmp_path, None, "models", "remove", AUDIOLDM, "--yes")
    assert missing.exit_code == 1 and "not on this machine" in missing.stderr
