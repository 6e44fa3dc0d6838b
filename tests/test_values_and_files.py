"""The shared foundation helpers: one typed-value coercion, one atomic write."""

from __future__ import annotations

from pathlib import Path

import pytest

from grym_bridge.api.routes import Arg
from grym_bridge.config import load_config
from grym_bridge.errors import BadRequest, ConfigError
from grym_bridge.files import atomic_open, atomic_write_json, atomic_write_text
from grym_bridge.orchestrator.plan import validate_plan
from grym_bridge.transports.midi.mapping import MappingError, parse_mapping
from grym_bridge.values import FALSE_WORDS, TRUE_WORDS


@pytest.mark.parametrize("word", sorted(TRUE_WORDS | FALSE_WORDS) + ["ON", " Yes "])
def test_config_and_route_arguments_accept_the_same_boolean_words(word: str, tmp_path: Path) -> None:
    expected = word.strip().lower() in TRUE_WORDS
    config = load_config(None, {"data_dir": str(tmp_path), "midi.enabled": word}, environ={})
    assert config.midi.enabled is expected
    assert Arg("flag", bool).coerce(word) is expected


@pytest.mark.parametrize("bad", ["maybe", "2", ""])
def test_both_refuse_what_is_not_a_boolean(bad: object, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="true or false"):
        load_config(None, {"data_dir": str(tmp_path), "midi.enabled": bad}, environ={})
    with pytest.raises(BadRequest, match="must be 0 or 1"):
        Arg("flag", bool).coerce(bad)


def test_numbers_follow_one_rule_in_routes_plans_and_mappings() -> None:
    assert Arg("n", int).coerce(3.0) == 3 and Arg("n", int).coerce("7") == 7
    with pytest.raises(BadRequest):
        Arg("n", int).coerce(True)
    plan = validate_plan({"steps": [{"step": "compose", "args": {"bars": 4.0, "tempo": "96"}}], "explanation": ""})
    assert plan.steps[0].args["bars"] == 4 and plan.steps[0].args["tempo"] == 96.0
    with pytest.raises(BadRequest, match="'bars' must be a positive whole number"):
        validate_plan({"steps": [{"step": "compose", "args": {"bars": True}}], "explanation": ""})
    mapping = parse_mapping('[[bind]]\ncc = 20.0\naddress = "/grym/system/ping"\n')
    assert mapping.bindings[0].number == 20
    with pytest.raises(MappingError, match="whole number 0-127"):
        parse_mapping('[[bind]]\ncc = 200\naddress = "/grym/system/ping"\n')


def test_atomic_writes_replace_whole_files_and_leave_nothing_on_failure(tmp_path: Path) -> None:
    target = atomic_write_json(tmp_path / "sub" / "result.json", {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half a fil")
        raise RuntimeError("the disk filled up")
    assert target.read_text() == "second" and sorted(p.name for p in target.parent.iterdir()) == ["result.json"]
