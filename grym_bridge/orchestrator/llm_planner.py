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

The exchange is bounded: one deadline for all of it (`llm_timeout_s`, not
per read) and a cap on the answer's bytes (`llm_max_answer_bytes`), so a
hostile or broken server costs a bounded wait and a bounded buffer.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterable

from grym_bridge.config import OrchestratorConfig
from grym_bridge.errors import BadRequest, GrymError, PathNotAllowed
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
        check: Callable[[Plan], Plan] | None = None,
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
        #: Checks (and converts) every step's arguments, as the chain would; a refusal means the rules plan.
        self.check = check

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

    def _request(self, messages: list[dict]) -> tuple[str, dict[str, Any], dict[str, str]]:
        """The chat request as (url, body, headers) for this provider's wire format."""
        schema = plan_schema(self.step_names)
        headers = {"Authorization": f"Bearer {self.config.llm_api_key}"} if self.config.llm_api_key else {}
        if self.name == "ollama":
            body: dict[str, Any] = {"model": self.config.llm_model, "messages": messages, "stream": False,
                                    "format": schema, "options": {"temperature": 0}}
            return f"{self.base_url}/api/chat", body, headers
        body = {"model": self.config.llm_model, "messages": messages, "temperature": 0, "stream": False,
                "response_format": {"type": "json_schema",
                                    "json_schema": {"name": "plan", "strict": False, "schema": schema}}}
        return f"{self.base_url}/chat/completions", body, headers

    def _post(self, messages: list[dict]) -> str:
        """Send the chat request; return the assistant's content (the plan's JSON text).

        The whole exchange (connect, headers, every byte of the body) has one
        deadline, `llm_timeout_s`, and the body is read at most
        `llm_max_answer_bytes` far: a server that drips bytes or answers
        without end costs one bounded wait and one bounded buffer.
        """
        import httpx  # here, not at module level: `grym serve` starts without it

        if self._client is None:
            # One client for the planner's life: building one (its SSL context) costs tens of ms.
            # Its per-read timeout only bounds how long an abandoned exchange's thread lingers.
            self._client = httpx.Client(timeout=self.config.llm_timeout_s, transport=self._transport)
        url, body, headers = self._request(messages)
        raw = bounded_exchange(lambda stop: self._read_capped(url, body, headers, stop),
                               self.config.llm_timeout_s)
        try:
            data = json.loads(raw)
        except RecursionError:
            raise AnswerUnusable("its answer is JSON nested too deeply to read") from None
        try:
            content = data["message"]["content"] if self.name == "ollama" else data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise BadRequest(f"the LLM server's answer has no message content: {str(data)[:200]}") from None
        if not isinstance(content, str):
            raise BadRequest(f"the LLM server's message content is not text: {str(content)[:200]}")
        return content

    def _read_capped(self, url: str, body: dict[str, Any], headers: dict[str, str], stop: threading.Event) -> bytes:
        """POST and read the answer's body, refusing it past `llm_max_answer_bytes` (runs in a helper thread)."""
        limit = self.config.llm_max_answer_bytes
        with self._client.stream("POST", url, json=body, headers=headers) as response:
            response.raise_for_status()
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise AnswerTooLarge(f"it announced an answer of {int(declared)} bytes, more than "
                                     f"orchestrator.llm_max_answer_bytes ({limit})")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                if stop.is_set():  # the deadline passed: the waiting planner has moved on
                    raise AnswerUnusable("abandoned at the deadline")
                size += len(chunk)
                if size > limit:
                    raise AnswerTooLarge(f"its answer passed orchestrator.llm_max_answer_bytes ({limit} bytes)")
                chunks.append(chunk)
        return b"".join(chunks)

    # -- planning -------------------------------------------------------------------------

    def plan(self, text: str, *, has_input: bool = False, session: SessionContext | None = None,
             clip: str | None = None) -> Plan:
        """The LLM's plan, validated; else the rule planner's, with the reason in `fallback_reason`.

        Every way an answer can be unusable (late, too large, not JSON, nested
        too deeply, an unknown step, an argument out of range) ends here in the
        rules' plan, never in a failed job.
        """
        import httpx

        session = session or SessionContext()
        try:
            content = self._post(self.messages(text, has_input=has_input, session=session, clip=clip))
            plan = validate_plan(content, self.step_names, planner=self.name)
            if self.check is not None:
                plan = self.check(plan)  # every step's arguments against the api's ranges
            if plan.needs_input() and not has_input:
                raise BadRequest(f"the plan starts with {plan.steps[0].step} on a clip, but no clip came with it")
            return plan
        except (httpx.TimeoutException, ExchangeTimeout):
            reason = f"{self.name} did not answer within {self.config.llm_timeout_s:g} s (orchestrator.llm_timeout_s)"
        except AnswerTooLarge as exc:
            reason = f"{self.name}'s answer was too large: {exc}"
        except httpx.HTTPStatusError as exc:
            reason = f"{self.name} answered HTTP {exc.response.status_code}"
        except httpx.HTTPError as exc:
            reason = f"{self.name} at {self.base_url} is unreachable ({exc.__class__.__name__})"
        except AnswerUnusable as exc:
            reason = f"{self.name}'s answer was unusable: {exc}"
        except RecursionError:
            reason = f"{self.name}'s plan was unusable: it is nested too deeply"
        except ValueError as exc:  # the HTTP body was not JSON (or not UTF-8)
            reason = f"{self.name} sent something that is not JSON ({str(exc)[:200]})"
        except PathNotAllowed:
            raise  # a plan naming a file outside the allowed roots is refused outright, not replanned
        except GrymError as exc:  # validate_plan's BadRequest names the bad step
            reason = f"{self.name}'s plan was unusable: {exc.message[:300]}"
        log.warning("LLM planner falling back to the rules: %s", reason)
        plan = self.fallback.plan(text, has_input=has_input, session=session)
        plan.fallback_reason = reason
        return plan


class ExchangeTimeout(Exception):
    """The whole exchange with the LLM server took longer than its deadline."""


class AnswerTooLarge(Exception):
    """The LLM server's answer passed `orchestrator.llm_max_answer_bytes`."""


class AnswerUnusable(Exception):
    """The LLM server's answer cannot be read as a plan (nested too deeply, abandoned)."""


def bounded_exchange(read: Callable[[threading.Event], bytes], deadline_s: float) -> bytes:
    """Run `read(stop)` in a helper thread and wait for it at most `deadline_s` in all.

    httpx's timeouts apply per read: a server sending a byte every second
    never trips them. Waiting on the thread gives the exchange one deadline
    however the bytes arrive; past it `stop` is set, so the helper gives up at
    its next chunk (or its next read timeout), and the planner moves on now.
    """
    stop = threading.Event()
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["data"] = read(stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting planner
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="grym-llm-exchange", daemon=True).start()
    if not done.wait(deadline_s):
        stop.set()
        raise ExchangeTimeout(f"no complete answer within {deadline_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["data"]


def make_planner(config: OrchestratorConfig, step_names: Iterable[str] = STEP_DESCRIPTIONS) -> Any:
    """The planner the config asks for: the rules, or an LLM planner that falls back to them.

    The `Orchestrator` it is given to sets the LLM planner's `check` (the
    chain's argument check), so an out-of-range plan falls back to the rules.
    """
    if config.planner == "rules":
        return RulePlanner()
    return LlmPlanner(config, step_names=step_names)
