"""What a plan may ask for: every step argument takes the range of the api route that does the same work.

Unit checks use the services `grym serve` builds (the route table's own `Arg`
objects installed in the step registry); the end-to-end cases repeat the
attack run's plans against a real `grym serve` whose LLM is the loopback
stand-in (`llm_standin.py`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grym_bridge.api import all_routes
from grym_bridge.api.step_args import step_arg_specs
from grym_bridge.app import build_services
from grym_bridge.audio_io import write_audio
from grym_bridge.config import Config
from grym_bridge.errors import BadRequest
from grym_bridge.orchestrator.plan import Plan, Step
from tests.orchestrator.llm_standin import LlmStandIn
from tests.osc_client import JobFailed, start_server
from tests.synth import chord_progression


def test_steps_are_checked_by_the_route_tables_own_arg_objects() -> None:
    routes = {r.address: r for r in all_routes()}
    specs = step_arg_specs(all_routes())
    compose_bars = next(a for a in routes["/grym/compose/chords"].options if a.name == "bars")
    assert specs["compose"]["bars"] is compose_bars  # the same object: no copy to drift
    assert specs["memory_lookup"]["k"] is next(a for a in routes["/grym/memory/similar"].options if a.name == "k")


@pytest.fixture
def chains(config: Config):
    return build_services(config).orchestrator.chains


@pytest.mark.parametrize(("step", "args", "message"), [
    ("compose", {"part": "chords", "bars": 100_000}, "'bars' must be at most 256"),
    ("conform", {"bars": 100_000, "tempo": 120}, "'bars' must be at most 256"),
    ("memory_lookup", {"k": 5000}, "'k' must be at most 1000"),
    ("compose", {"part": "chords", "tempo": 9000}, "'tempo' must be at most 400"),
    ("compose", {"part": "chords", "out": "/etc/passwd"}, "unknown argument 'out'"),
    ("generate", {"prompt": "pad", "n": 500}, "'n' must be at most 16"),
])
def test_out_of_range_step_arguments_are_refused_by_name(chains, step: str, args: dict, message: str) -> None:
    with pytest.raises(BadRequest, match=message) as info:
        chains.check_plan(Plan([Step("analyze"), Step(step, args)]))
    assert info.value.message.startswith(f"plan step 2 ({step})")


def test_the_rules_plan_is_checked_before_any_job(chains) -> None:
    with pytest.raises(BadRequest, match=r"plan step 1 \(compose\): argument 'bars' must be at most 256"):
        chains.route_task("program some drums, 5000 bars long")


def test_generate_checks_duration_before_the_chain_starts(chains) -> None:
    plan = chains.check_plan(Plan([Step("generate", {"prompt": "pad", "duration_s": 1e6})]))
    with pytest.raises(BadRequest, match="generate.max_duration_s"):
        chains.execute_chain(plan, _ctx(chains))


def _ctx(chains):
    from grym_bridge.orchestrator.steps import ChainContext

    return ChainContext(chains.config)


def test_tags_text_is_one_tag_per_word_and_bounded(chains, config: Config) -> None:
    plan = chains.check_plan(Plan([Step("store", {"tags": "dark"})]))
    assert plan.steps[0].args == {"tags": "dark"}  # text as /grym/memory/add takes it, parsed by the step
    listed = chains.check_plan(Plan([Step("store", {"tags": ["dark", "pad"]})]))
    assert json.loads(listed.steps[0].args["tags"]) == ["dark", "pad"]
    from grym_bridge.memory.checks import parse_tags

    assert parse_tags("dark") == ["dark"] and parse_tags(["Dark", "pad"]) == ["dark", "pad"]
    with pytest.raises(BadRequest, match=r"20000 tags; at most 32 at once \(memory.max_tags\)"):
        parse_tags([f"t{i}" for i in range(20_000)], max_tags=config.memory.max_tags)
    with pytest.raises(BadRequest, match="memory.max_tag_chars"):
        parse_tags("x" * 90, max_chars=config.memory.max_tag_chars)


def test_a_conform_longer_than_its_clip_and_the_generate_limit_is_refused(chains, tmp_path: Path) -> None:
    from grym_bridge.orchestrator.steps import ChainContext

    clip = write_audio(tmp_path / "loop.wav", chord_progression("C major", bpm=120, bars=1))
    ctx = ChainContext(chains.config, input_path=clip)
    plan = chains.check_plan(Plan([Step("conform", {"bars": 200, "tempo": 60})]))  # 800 s of a 2 s clip
    with pytest.raises(Exception, match="ask for fewer bars") as info:
        chains.execute_chain(plan, ctx)
    assert "generate.max_duration_s" in str(info.value)
    assert not list(chains.config.renders_dir().rglob("*.wav"))  # refused before anything was written


def test_grym_serve_refuses_what_a_plan_may_not_ask_for(config: Config, tmp_path: Path) -> None:
    llm = LlmStandIn()
    config.orchestrator.planner, config.orchestrator.llm_url = "ollama", llm.url
    loop = write_audio(tmp_path / "loop.wav", chord_progression("C major", bpm=120, bars=2))
    srv = start_server(config)
    try:
        with srv.client(timeout=30.0) as c:
            # an LLM plan with unbounded bars: the rules plan instead, and say why
            llm.reply = json.dumps({"steps": [{"step": "conform", "args": {"bars": 100_000, "tempo": 120}}],
                                    "explanation": "loop it forever"})
            result = c.wait_job(c.start_job("/grym/ask", "write chords in A minor"))
            assert result["plan"]["planner"] == "rules"
            assert "'bars' must be at most 256" in result["plan"]["fallback_reason"]
            # 20,000 tags: refused the same way
            llm.reply = json.dumps({"steps": [{"step": "store", "args": {"tags": [f"t{i}" for i in range(20_000)]}}],
                                    "explanation": "tag it"})
            result = c.wait_job(c.start_job("/grym/ask", "remember this", str(loop)))
            assert result["plan"]["planner"] == "rules"
            assert "20000 tags; at most 32 at once (memory.max_tags)" in result["plan"]["fallback_reason"]
            # a tags string is one tag, not letters
            llm.reply = json.dumps({"steps": [{"step": "store", "args": {"tags": "dark"}}], "explanation": "tag it"})
            result = c.wait_job(c.start_job("/grym/ask", "remember this", str(loop)))
            clip_id = result["result"]["results"]["store"]["clip_id"]
            assert list(srv.services.memory().get(clip_id).tags) == ["dark"]
            # the rules' own plan is checked too: the LLM fails, the rules' plan is out of range
            llm.reply = "no idea"
            with pytest.raises(JobFailed, match="'bars' must be at most 256") as info:
                c.wait_job(c.start_job("/grym/ask", "program some drums, 5000 bars long"))
            assert info.value.code == "bad_args"
    finally:
        srv.stop()
        llm.close()


def test_questions_and_feedback_are_checked_as_words_not_letters(chains) -> None:
    from grym_bridge.orchestrator.plan import validate_plan

    plan = validate_plan({"steps": [{"step": "analyze", "args": {"questions": "key"}}], "explanation": ""})
    assert plan.steps[0].args["questions"] == ["key"]
    with pytest.raises(BadRequest, match="'questions' must be a list of key, tempo, loudness"):
        validate_plan({"steps": [{"step": "analyze", "args": {"questions": ["k", "e", "y", "x"]}}]})
    with pytest.raises(BadRequest, match="plan step 1 \\(store\\): feedback must be a rating from 0 to 5"):
        chains.check_plan(Plan([Step("store", {"feedback": "great"})]), prepare=True)
    assert chains.check_plan(Plan([Step("store", {"feedback": 4.0})]), prepare=True).steps[0].args["feedback"] == 4.0
