"""Checking generation requests: every bad value is rejected naming its argument."""

from __future__ import annotations

import pytest

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, NotFound
from grym_bridge.generate.options import GenerateOptions, resolve


@pytest.mark.parametrize(
    "changes,argument",
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 501}, "prompt"),
        ({"duration_s": -1.0}, "duration"),
        ({"duration_s": 0}, "duration"),
        ({"duration_s": float("nan")}, "duration"),
        ({"duration_s": 61}, "duration"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"steps": "many"}, "steps"),
        ({"guidance": -1}, "guidance"),
        ({"bars": 0}, "bars"),
        ({"bars": 64, "tempo_bpm": 60}, "bars"),
        ({"bars": 2, "duration_s": 4.0}, "duration"),
        ({"tempo_bpm": 0}, "tempo"),
        ({"variations": 0}, "variations"),
        ({"seed": -3}, "seed"),
        ({"channels": 3}, "channels"),
        ({"scheduler": "fastest"}, "scheduler"),
        ({"memory_mode": "tiny"}, "memory_mode"),
    ],
)
def test_bad_values_name_the_argument(config: Config, changes: dict, argument: str) -> None:
    opts = GenerateOptions(prompt="warm pad")
    for key, value in changes.items():
        setattr(opts, key, value)
    with pytest.raises(BadRequest) as err:
        resolve(opts, config)
    assert err.value.message.startswith(f"{argument}:"), err.value.message


def test_unknown_model_is_not_found(config: Config) -> None:
    with pytest.raises(NotFound, match="known models"):
        resolve(GenerateOptions(prompt="pad", model="someone/else"), config)


def test_defaults_come_from_the_model_and_the_config(config: Config) -> None:
    config.generate.tempo_bpm = 90
    r = resolve(GenerateOptions(prompt="  dusty lofi drums ", bars=2, steps=4.0, seed=9), config)
    assert r.prompt == "dusty lofi drums" and r.steps == 4 and r.seed == 9 and r.scheduler == "dpm++"
    assert r.model.id == config.models.default_model and r.guidance == r.model.default_guidance
    assert r.conform.frames == round(2 * 4 * 60 / 90 * config.generate.sample_rate)
    assert r.conform.loop and r.seconds == pytest.approx(2 * 4 * 60 / 90, abs=1e-4)
    one_shot = resolve(GenerateOptions(prompt="door slam", duration_s=1.5), config)
    assert not one_shot.conform.loop and one_shot.bars is None and 0 <= one_shot.seed < 2**31


def test_options_from_a_mapping_accept_aliases_and_reject_unknown_keys() -> None:
    opts = GenerateOptions.from_mapping({"prompt": "pad", "n": 3, "bpm": 100, "duration": 2})
    assert (opts.variations, opts.tempo_bpm, opts.duration_s) == (3, 100, 2)
    with pytest.raises(BadRequest, match="^colour: unknown option"):
        GenerateOptions.from_mapping({"colour": "red"})
