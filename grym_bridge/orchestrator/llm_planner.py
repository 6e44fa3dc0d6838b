"""The LLM planner: a local model (Ollama, LM Studio) writes the plan, the rules catch it when it fails.

Two wire formats, both through httpx:

- Ollama's `POST /api/chat` with `"format": <the plan's JSON schema>` and
  `"stream": false`; the plan is the JSON text in `message.content`;
- OpenAI-compatible `POST <base>/chat/completions` (LM Studio, llama.cpp's
  server, vLLM) with `"response_format": {"type": "json_schema", ...}`; the
  plan is in `choices[0].message.content`.

The context sent (the request, the session, the clip's name) is fitted into a
token budget, estimated at four characters a token: lower-priority parts are
cut first, the request last. Whenever the model is slow, unreachable, answers
something that is not a valid plan, or names a step or goal that does not
exist, the rule planner plans instead and the plan says why
(`fallback_reason`), so the request still gets done.
"""

from __future__ import annotations

import json
import logging
import math
from typing import TYPE_CHECKING, Any, Iterable

from grym_bridge.config import OrchestratorConfig
from grym_bridge.errors import BadRequest, GrymError
from grym_bridge.orchestrator.plan import COMPOSE_PARTS, FX_GOALS, STEP_DESCRIPTIONS, Plan, plan_schema, validate_plan
from grym_bridge.orchestrator.rule_planner import RulePlanner
from grym_bridge.orchestrator.session import SessionContext

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

DEFAULT_URLS = {"ollama": "http://127.0.0.1:11434", "openai": "http://127.0.0.1:1234/v1"}
#: Tokens kept back from the budget for the instructions' wording and the answer's overhead.
_RESERVE = 32


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about four characters a token for English and JSON."""
    return math.ceil(len(text) / 4)


def fit_context(parts: Iterable[tuple[str, str]], budget_tokens: int) -> list[tuple[str, str]]:
    """Keep `(name, text)` parts, most important first, within `budget_tokens`.

    A part that does not fit whole is cut (with an ellipsis) to what is left;
    parts after the budget is spent are dropped.
    """
    kept: list[tuple[str, str]] = []
    left = budget_tokens
    for name, text in parts:
        cost = estimate_tokens(text)
        if cost <= left:
            kept.append((name, text))
            left -= cost
        elif left > 8:
            kept.append((name, text[: (left - 1) * 4] + "\u2026"))
            left = 0
        else:
            break
    return kept


def system_prompt(step_names: Iterable[str]) -> str:
    names = list(step_names)
    lines = [
        "You plan audio production requests for a music tool inside a DAW.",
        "Answer with a JSON object: {\"steps\": [{\"step\": name, \"args\": {...}}], \"explanation\": text}.",
        "Use only these steps:",
        *(f"- {n}: {STEP_DESCRIPTIONS.get(n, '')}" for n in names),
        f"suggest_fx goals are among: {', '.join(FX_GOALS)}. compose parts: {', '.join(COMPOSE_PARTS)}.",
        "Analyze a clip before suggest_fx or memory_lookup; render after suggest_fx. Keep plans short.",
        "The explanation tells the producer in one sentence what will be done.",
    ]
    return "\n".join(lines)


class LlmPlanner:
    """Plans with a local LLM; falls back to `fallback` (the rule planner) on any failure."""

    #: The clip's file name is context worth sending ("kick_loop.wav" says what the clip is).
    takes_clip = True

    def __init__(
        self,
        config: OrchestratorConfig,
        *,
        step_names: Iterable[str] = STEP_DESCRIPTIONS,
        fallback: Any = None,
        transport: "httpx.BaseTransport | None" = None,
    ) -> None:
        if config.planner not in DEFAULT_URLS:
            raise GrymError(f"orchestrator.planner {config.planner!r} is not an LLM provider; use ollama or openai",
                            code="config")
        self.config = config
        self.name = config.planner
        self.base_url = (config.llm_url or DEFAULT_URLS[config.planner]).rstrip("/")
        self.step_names = list(step_names)
        self.fallback = fallback or RulePlanner()
        self._transport = transport
        self._client: Any = None

    # -- the request ---------------------------------------------------------------------

    def messages(self, text: str, *, has_input: bool, session: SessionContext, clip: str | None = None) -> list[dict]:
        """The chat messages: instructions (always whole), then the context within the token budget."""
        system = system_prompt(self.step_names)
        known = {k: v for k, v in session.to_dict().items() if v is not None}
        parts = [
            ("request", f"Request: {text}"),
            ("input", "A clip came with the request." if has_input else "No clip came with the request."),
            ("session", "Session: " + json.dumps(known)),
        ]
        if clip:
            parts.append(("clip", f"Clip file: {clip}"))
        budget = self.config.llm_context_tokens - estimate_tokens(system) - _RESERVE
        kept = fit_context(parts, max(budget, 16))
        dropped = [name for name, _ in parts if name not in {n for n, _ in kept}]
        if dropped:
            log.info("LLM context budget (%d tokens) left out: %s", self.config.llm_context_tokens, ", ".join(dropped))
        return [{"role": "system", "content": system},
                {"role": "user", "content": "\n".join(t for _, t in kept)}]

    def _post(self, messages: list[dict]) -> str:
        """Send the chat request; return the assistant's content (the plan's JSON text)."""
        import httpx  # here, not at module level: `grym serve` starts without it

        schema = plan_schema(self.step_names)
        headers = {"Authorization": f"Bearer {self.config.llm_api_key}"} if self.config.llm_api_key else {}
        if self.name == "ollama":
            url = f"{self.base_url}/api/chat"
            body: dict[str, Any] = {"model": self.config.llm_model, "messages": messages, "stream": False,
                                    "format": schema, "options": {"temperature": 0}}
        else:
            url = f"{self.base_url}/chat/completions"
            body = {"model": self.config.llm_model, "messages": messages, "temperature": 0, "stream": False,
                    "response_format": {"type": "json_schema",
                                        "json_schema": {"name": "plan", "strict": False, "schema": schema}}}
        if self._client is None:
            # One client for the planner's life: building one (its SSL context) costs tens of ms.
            self._client = httpx.Client(timeout=self.config.llm_timeout_s, transport=self._transport)
        response = self._client.post(url, json=body, headers=headers)
        response.raise_for_status()
        data = response.json()
        try:
            if self.name == "ollama":
                return data["message"]["content"]
            return data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise BadRequest(f"the LLM server's answer has no message content: {str(data)[:200]}") from None

    # -- planning -------------------------------------------------------------------------

    def plan(self, text: str, *, has_input: bool = False, session: SessionContext | None = None,
             clip: str | None = None) -> Plan:
        """The LLM's plan, validated; else the rule planner's, with the reason in `fallback_reason`."""
        import httpx

        session = session or SessionContext()
        try:
            content = self._post(self.messages(text, has_input=has_input, session=session, clip=clip))
            plan = validate_plan(content, self.step_names, planner=self.name)
            if plan.needs_input() and not has_input:
                raise BadRequest(f"the plan starts with {plan.steps[0].step} on a clip, but no clip came with it")
            return plan
        except httpx.TimeoutException:
            reason = f"{self.name} did not answer within {self.config.llm_timeout_s:g} s"
        except httpx.HTTPStatusError as exc:
            reason = f"{self.name} answered HTTP {exc.response.status_code}"
        except httpx.HTTPError as exc:
            reason = f"{self.name} at {self.base_url} is unreachable ({exc.__class__.__name__})"
        except ValueError as exc:  # the HTTP body was not JSON
            reason = f"{self.name} sent something that is not JSON ({exc})"
        except GrymError as exc:  # validate_plan's BadRequest names the bad step
            reason = f"{self.name}'s plan was unusable: {exc.message}"
        log.warning("LLM planner falling back to the rules: %s", reason)
        plan = self.fallback.plan(text, has_input=has_input, session=session)
        plan.fallback_reason = reason
        return plan


def make_planner(config: OrchestratorConfig, step_names: Iterable[str] = STEP_DESCRIPTIONS) -> Any:
    """The planner the config asks for: the rules, or an LLM planner that falls back to them."""
    if config.planner == "rules":
        return RulePlanner()
    return LlmPlanner(config, step_names=step_names)
