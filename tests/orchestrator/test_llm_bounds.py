"""The LLM planner against a hostile stand-in: huge, dripping and deeply nested answers all end in the rules' plan.

The stand-in (`llm_standin.py`) speaks Ollama's and OpenAI's chat APIs on a
real loopback socket; here it plays a broken or malicious LLM server.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Iterator

import pytest

from grym_bridge.config import Config, OrchestratorConfig
from grym_bridge.orchestrator.llm_planner import LlmPlanner
from tests.orchestrator.llm_standin import LlmStandIn
from tests.osc_client import start_server


def planner(llm: LlmStandIn, provider: str = "ollama", **kw) -> LlmPlanner:
    url = llm.url + ("/v1" if provider == "openai" else "")
    cfg = OrchestratorConfig(planner=provider, llm_url=url, llm_model="tiny", **{"llm_timeout_s": 5.0, **kw})
    return LlmPlanner(cfg)


def endless_answer() -> Iterator[bytes]:
    """An Ollama answer whose content never ends: 64 KiB of text at a time."""
    yield b'{"model": "tiny", "message": {"role": "assistant", "content": "'
    yield from itertools.repeat(b"a" * 65536)


def test_an_endless_answer_is_cut_at_the_byte_cap(llm: LlmStandIn) -> None:
    llm.hostile = endless_answer
    started = time.monotonic()
    plan = planner(llm, llm_max_answer_bytes=65536).plan("make it warmer", has_input=True)
    assert plan.planner == "rules" and plan.steps[1].args["goals"] == ["warmer"]
    assert "too large" in plan.fallback_reason and "orchestrator.llm_max_answer_bytes (65536" in plan.fallback_reason
    assert time.monotonic() - started < 4.0
    time.sleep(0.2)
    # The planner stopped reading: the server could only push what the socket buffers hold.
    assert llm.sent_bytes < 16 * 1024 * 1024


def test_a_declared_length_over_the_cap_is_refused_before_reading(llm: LlmStandIn) -> None:
    llm.reply = "x" * 5000  # the stand-in's normal answer declares its Content-Length
    plan = planner(llm, "openai", llm_max_answer_bytes=2048).plan("make it warmer", has_input=True)
    assert plan.planner == "rules" and "announced an answer of" in plan.fallback_reason


def test_a_dripping_answer_meets_one_deadline_for_the_whole_exchange(llm: LlmStandIn) -> None:
    good = json.dumps({"message": {"role": "assistant", "content": json.dumps(
        {"steps": [{"step": "analyze"}], "explanation": "x"})}}).encode()
    llm.hostile = lambda: (good[i:i + 1] for i in range(len(good)))
    llm.drip_s = 0.05  # every read returns quickly; the whole answer would take several seconds
    started = time.monotonic()
    plan = planner(llm, llm_timeout_s=0.6).plan("make it brighter", has_input=True)
    elapsed = time.monotonic() - started
    assert plan.planner == "rules" and "did not answer within 0.6 s" in plan.fallback_reason
    assert elapsed < 1.5, f"the deadline is for the whole exchange, not per read ({elapsed:.2f} s)"


@pytest.mark.parametrize("provider", ["ollama", "openai"])
def test_deeply_nested_plans_fall_back_instead_of_failing(llm: LlmStandIn, provider: str) -> None:
    llm.reply = "[" * 100_000 + "]" * 100_000
    plan = planner(llm, provider).plan("make it brighter", has_input=True)
    assert plan.planner == "rules" and "nested too deeply" in plan.fallback_reason
    # nested through fallbacks of fallbacks: JSON that parses, a plan too deep to use
    llm.reply = ('{"steps": [' + '{"step": "analyze", "fallbacks": [' * 200 + '{"step": "analyze"}' + "]}" * 200
                 + '], "explanation": ""}')
    plan = planner(llm, provider).plan("make it brighter", has_input=True)
    assert plan.planner == "rules" and "fallback" in plan.fallback_reason


def test_a_deeply_nested_http_body_falls_back(llm: LlmStandIn) -> None:
    llm.hostile = lambda: iter([b"[" * 200_000])
    plan = planner(llm).plan("make it brighter", has_input=True)
    assert plan.planner == "rules" and "nested too deeply" in plan.fallback_reason


def test_grym_serve_asks_a_hostile_llm_and_still_answers_in_time(config: Config) -> None:
    """The attack run's cases against a real server: each /grym/ask ends in the rules' plan, in time."""
    llm = LlmStandIn()
    config.orchestrator.planner = "ollama"
    config.orchestrator.llm_url = llm.url
    config.orchestrator.llm_timeout_s = 1.0
    config.orchestrator.llm_max_answer_bytes = 65536
    srv = start_server(config)
    try:
        with srv.client(timeout=10.0) as c:
            llm.hostile = endless_answer
            result = c.wait_job(c.start_job("/grym/ask", "write chords in A minor"), timeout=10.0)
            assert result["plan"]["planner"] == "rules" and "too large" in result["plan"]["fallback_reason"]
            assert result["result"]["results"]["compose"]["key"] == "A minor"

            slow = json.dumps({"message": {"content": "{}"}}).encode()
            llm.hostile, llm.drip_s = (lambda: (slow[i:i + 1] for i in range(len(slow)))), 0.2
            started = time.monotonic()
            result = c.wait_job(c.start_job("/grym/ask", "write chords in A minor"), timeout=10.0)
            assert time.monotonic() - started < 3.0
            assert "did not answer within 1 s" in result["plan"]["fallback_reason"]

            llm.hostile, llm.drip_s = None, 0.0
            llm.reply = "{" * 50_000
            result = c.wait_job(c.start_job("/grym/ask", "write chords in A minor"), timeout=10.0)
            assert result["plan"]["planner"] == "rules" and "(Planned by the rules:" in result["explanation"]
    finally:
        srv.stop()
        llm.close()
