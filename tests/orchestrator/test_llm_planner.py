"""The LLM planner against a loopback stand-in speaking Ollama's and OpenAI's chat APIs."""

from __future__ import annotations

import json
import socket

import pytest

from grym_bridge.config import OrchestratorConfig
from grym_bridge.errors import BadRequest
from grym_bridge.orchestrator.llm_planner import LlmPlanner, estimate_tokens, fit_context, make_planner
from grym_bridge.orchestrator.rule_planner import RulePlanner
from grym_bridge.orchestrator.session import SessionContext
from tests.orchestrator.llm_standin import LlmStandIn

GOOD = {"steps": [{"step": "analyze"}, {"step": "suggest_fx", "args": {"goals": ["darker", "wider"]}},
                  {"step": "render"}],
        "explanation": "Analyze the loop, then darken and widen it."}


def planner(llm: LlmStandIn, provider: str, **kw) -> LlmPlanner:
    url = llm.url + ("/v1" if provider == "openai" else "")
    cfg = OrchestratorConfig(planner=provider, llm_url=url, llm_model="tiny", llm_timeout_s=kw.pop("timeout", 5.0), **kw)
    return LlmPlanner(cfg)


def test_ollama_chat_with_the_plan_schema_as_format(llm: LlmStandIn) -> None:
    llm.reply = json.dumps(GOOD)
    session = SessionContext()
    session.set("tempo", 124)
    plan = planner(llm, "ollama").plan("make this loop darker and wider", has_input=True, session=session)
    assert plan.planner == "ollama" and plan.fallback_reason is None
    assert plan.names == ["analyze", "suggest_fx", "render"] and plan.steps[1].args["goals"] == ["darker", "wider"]
    path, body, _ = llm.requests[0]
    assert path == "/api/chat" and body["stream"] is False and body["model"] == "tiny"
    assert body["format"]["properties"]["steps"]["items"]["properties"]["step"]["enum"][0] == "analyze"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "make this loop darker and wider" in body["messages"][1]["content"]
    assert '"tempo": 124.0' in body["messages"][1]["content"]


def test_openai_compatible_chat_with_json_schema_response_format(llm: LlmStandIn) -> None:
    llm.reply = json.dumps({"steps": [{"step": "compose", "args": {"part": "chords", "key": "A minor"}}],
                            "explanation": "Chords in A minor."})
    plan = planner(llm, "openai", llm_api_key="sekrit").plan("chords in A minor please")
    assert plan.planner == "openai" and plan.steps[0].args == {"part": "chords", "key": "A minor"}
    path, body, headers = llm.requests[0]
    assert path == "/v1/chat/completions"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["steps", "explanation"]
    assert headers["Authorization"] == "Bearer sekrit"


@pytest.mark.parametrize("provider", ["ollama", "openai"])
@pytest.mark.parametrize(("reply", "reason"), [
    ("Sure! I'd make it darker with an EQ.", "not valid JSON"),
    (json.dumps({"steps": [{"step": "sing", "args": {}}], "explanation": "la"}), "unknown step 'sing'"),
    (json.dumps({"steps": [{"step": "suggest_fx", "args": {"goals": ["spicier"]}}], "explanation": ""}),
     "unknown effect goal 'spicier'"),
    (json.dumps({"steps": [], "explanation": "nothing"}), "non-empty list 'steps'"),
    (json.dumps(["analyze"]), "must be a JSON object"),
])
def test_unusable_plans_fall_back_to_the_rules(llm: LlmStandIn, provider: str, reply: str, reason: str) -> None:
    llm.reply = reply
    plan = planner(llm, provider).plan("make it brighter", has_input=True)
    expected = RulePlanner().plan("make it brighter", has_input=True)
    assert plan.planner == "rules" and plan.names == expected.names
    assert reason in plan.fallback_reason


def test_a_slow_llm_times_out_and_the_rules_plan(llm: LlmStandIn) -> None:
    llm.reply, llm.delay_s = json.dumps(GOOD), 2.0
    plan = planner(llm, "ollama", timeout=0.3).plan("make it warmer", has_input=True)
    assert plan.planner == "rules" and plan.steps[1].args["goals"] == ["warmer"]
    assert "did not answer within 0.3 s" in plan.fallback_reason


def test_http_errors_and_unreachable_servers_fall_back(llm: LlmStandIn) -> None:
    llm.status = 500
    plan = planner(llm, "openai").plan("find similar", has_input=True)
    assert plan.names == ["analyze", "memory_lookup"] and "HTTP 500" in plan.fallback_reason
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = OrchestratorConfig(planner="ollama", llm_url=f"http://127.0.0.1:{port}", llm_timeout_s=2.0)
    plan = LlmPlanner(cfg).plan("find similar", has_input=True)
    assert "unreachable" in plan.fallback_reason


def test_a_plan_that_needs_a_missing_clip_goes_to_the_rules_which_say_what_to_send(llm: LlmStandIn) -> None:
    llm.reply = json.dumps(GOOD)
    with pytest.raises(BadRequest, match="send the file's path"):
        planner(llm, "ollama").plan("make it darker", has_input=False)


def test_the_context_fits_the_token_budget(llm: LlmStandIn) -> None:
    llm.reply = json.dumps(GOOD)
    session = SessionContext()
    session.set("project", "x" * 250)
    p = planner(llm, "ollama", llm_context_tokens=64)
    msgs = p.messages("make it darker " * 200, has_input=True, session=session)
    user = msgs[1]["content"]
    assert user.startswith("Request: make it darker") and user.endswith("\u2026")
    assert "Session" not in user  # dropped: the request took the budget
    roomy = planner(llm, "ollama", llm_context_tokens=4096).messages("make it darker", has_input=True, session=session)
    assert "Session" in roomy[1]["content"] and "x" * 250 in roomy[1]["content"]


def test_fit_context_keeps_priority_order() -> None:
    parts = [("a", "a" * 40), ("b", "b" * 40), ("c", "c" * 400)]
    assert [n for n, _ in fit_context(parts, 20)] == ["a", "b"]
    kept = fit_context(parts, 50)
    assert [n for n, _ in kept] == ["a", "b", "c"] and estimate_tokens(kept[2][1]) <= 30
    assert fit_context(parts, 5) == []


def test_make_planner_follows_the_config() -> None:
    assert isinstance(make_planner(OrchestratorConfig()), RulePlanner)
    p = make_planner(OrchestratorConfig(planner="openai"))
    assert isinstance(p, LlmPlanner) and p.base_url == "http://127.0.0.1:1234/v1"
