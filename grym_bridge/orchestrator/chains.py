"""The orchestrator: a request in words becomes a plan, and a plan runs as one chain.

The seeds' ModelOrchestrator, in Python:

- `route_task(text, path)`: the plan, from the configured planner (an LLM
  planner falls back to the rules by itself);
- `optimize_execution(plan)`: drop redundant steps and, while health is
  critical, the optional ones;
- `balance_resources(plan)`: the resource class the chain needs (gpu when
  any step does), refusing GPU work while health is critical;
- `execute_chain(plan, ctx, progress)`: run the steps in order with per-step
  progress, each step's result left in the context for the next;
- `handle_errors(spec, exc, attempt)`: retry transient failures with
  exponential backoff, else move on to the step's fallbacks; when every
  fallback fails the chain fails with all their errors in one message.

`ask(text, path)` does all of it and explains what was done.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, Cancelled, GrymError, error_code, error_message
from grym_bridge.orchestrator.plan import Plan, Step
from grym_bridge.orchestrator.rule_planner import RulePlanner
from grym_bridge.orchestrator.session import SessionContext, SessionStore
from grym_bridge.orchestrator.steps import ChainContext, Progress, StepRegistry, StepSpec
from grym_bridge.results import to_jsonable

log = logging.getLogger(__name__)


class Planner(Protocol):
    name: str

    def plan(self, text: str, *, has_input: bool = False, session: SessionContext | None = None) -> Plan: ...


class StepFailed(GrymError):
    """A chain step failed and so did every fallback; the code is the first failure's."""

    code = "step_failed"


@dataclass
class RecoveryStrategy:
    """What to do after a step failed: `retry` after `delay_s`, try the next `fallback`, or `fail`."""

    action: str
    delay_s: float = 0.0
    reason: str = ""


@dataclass
class StepRecord:
    """How one step of a chain went."""

    step: str
    args: dict[str, Any]
    ok: bool
    attempts: int = 0
    fallback: str | None = None
    seconds: float = 0.0
    error: str | None = None
    result: Any = None


@dataclass
class ChainResult:
    """The outcome of a chain: each step's record, the files made, the final clip."""

    steps: list[StepRecord] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    output: str | None = None
    results: dict[str, Any] = field(default_factory=dict)


@dataclass
class AskResult:
    """What `grym ask` prints and `/grym/ask` returns: the plan, what came of it, and why."""

    plan: dict[str, Any]
    result: ChainResult
    explanation: str


class Orchestrator:
    """Plans requests and runs chains of registered steps."""

    def __init__(
        self,
        config: Config,
        registry: StepRegistry,
        *,
        planner: Planner | None = None,
        sessions: SessionStore | None = None,
        health: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.registry = registry
        self.planner = planner or RulePlanner()
        self.sessions = sessions
        self.health = health
        self._sleep = sleep
        if getattr(self.planner, "check", False) is None:
            # A planner that checks its own plans (the LLM's) checks them as the chain will, each
            # step's preparation included, and falls back to the rules when anything is refused.
            self.planner.check = functools.partial(self.check_plan, prepare=True)

    # -- planning ---------------------------------------------------------------------------

    def session(self, session_id: str = "default") -> SessionContext:
        return self.sessions.get(session_id) if self.sessions is not None else SessionContext()

    def route_task(self, text: str, *, path: Path | None = None, session_id: str = "default") -> Plan:
        """The plan for a request, checked against the registered steps."""
        extra = {"clip": path.name} if path is not None and getattr(self.planner, "takes_clip", False) else {}
        plan = self.planner.plan(text, has_input=path is not None, session=self.session(session_id), **extra)
        return self.optimize_execution(self.check_plan(plan))

    def check_plan(self, plan: Plan, *, prepare: bool = False) -> Plan:
        """`plan` with every step's (and fallback's) arguments checked by the api's ranges, or `BadRequest`.

        Unknown steps raise `UnknownAddress` naming the known ones. With
        `prepare`, each step's preparation runs too (tag counts, durations,
        chain files), its result dropped: the LLM planner checks this way, so
        anything the chain would refuse sends it to the rules instead.
        """
        def checked(index: int, step: Step) -> Step:
            where = f"plan step {index + 1} ({step.step})"
            args = self.registry.check_args(step.step, step.args, where)
            spec = self.registry.get(step.step)
            if prepare and spec.prepare is not None:
                try:
                    spec.prepare(dict(args))
                except BadRequest as exc:
                    raise BadRequest(f"{where}: {exc.message}") from None
            return Step(step.step, args, [checked(index, fb) for fb in step.fallbacks], step.optional)

        steps = [checked(i, s) for i, s in enumerate(plan.steps)]
        return Plan(steps, plan.explanation, plan.planner, plan.fallback_reason)

    def optimize_execution(self, plan: Plan) -> Plan:
        """Drop an analyze that would repeat one on the same clip; while critical, skip optional steps."""
        stressed = self._health_state() == "critical"
        steps: list[Step] = []
        analyzed = False
        for step in plan.steps:
            if step.step == "analyze":
                if analyzed:
                    continue
                analyzed = True
            elif step.step in ("render", "generate", "conform"):
                analyzed = False
            if stressed and step.optional:
                log.info("health is %s: skipping optional step %s", self._health_state(), step.step)
                continue
            steps.append(step)
        return Plan(steps, plan.explanation, plan.planner, plan.fallback_reason)

    def balance_resources(self, plan: Plan) -> str:
        """`gpu` when any step needs the GPU, else `cpu`; `Busy` for GPU work while health is critical."""
        resource = "gpu" if any(self.registry.get(s.step).resource == "gpu" for s in plan.steps) else "cpu"
        if resource == "gpu" and self.health is not None:
            self.health.admit("ask", "gpu")
        return resource

    def _health_state(self) -> str | None:
        if self.health is None:
            return None
        state = self.health.state
        return getattr(state, "value", state)

    # -- running ----------------------------------------------------------------------------

    def handle_errors(self, spec: StepSpec, exc: BaseException, attempt: int) -> RecoveryStrategy:
        """Retry a transient failure with exponential backoff; anything else goes to the fallbacks."""
        if isinstance(exc, Cancelled):
            return RecoveryStrategy("fail", reason="cancelled")
        retries = self.config.orchestrator.step_retries
        if isinstance(exc, spec.transient) and attempt <= retries:
            delay = self.config.orchestrator.retry_backoff_s * (2 ** (attempt - 1))
            retry_after = getattr(exc, "retry_after_s", None)
            if retry_after is not None:
                delay = max(delay, min(float(retry_after), 30.0))
            return RecoveryStrategy("retry", delay, f"transient {error_code(exc)}; retry {attempt} of {retries}")
        return RecoveryStrategy("fallback", reason=error_message(exc))

    def execute_chain(self, plan: Plan, ctx: ChainContext, progress: Progress | None = None) -> ChainResult:
        """Run `plan`'s steps in order; `progress(fraction, message)` covers the whole chain."""
        out = ChainResult()
        n = len(plan.steps)
        # Every step's arguments are checked before the first step opens anything.
        prepared = [self._prepare(step) for step in plan.steps]
        for i, step in enumerate(plan.steps):
            def sub(fraction: float, message: str = "", i: int = i, step: Step = step) -> None:
                if progress is not None:
                    frac = (i + min(1.0, max(0.0, fraction))) / n
                    progress(frac, f"step {i + 1}/{n} {step.step}" + (f": {message}" if message else ""))

            sub(0.0)
            record = self._run_step(step, ctx, sub, prepared[i])
            out.steps.append(record)
            if record.ok:
                out.results[step.step] = record.result
            sub(1.0, "done" if record.ok else "skipped (optional)")
        out.outputs = [str(p) for p in ctx.outputs]
        if ctx.audio is not None and ctx.audio != ctx.input_path:
            out.output = str(ctx.audio)
        return out

    def _candidates(self, step: Step) -> list[Step]:
        """The step, its plan fallbacks, then the registry's default fallbacks (the step with other args)."""
        spec = self.registry.get(step.step)
        return [step, *step.fallbacks, *(Step(step.step, {**step.args, **over}) for over in spec.fallbacks)]

    def _prepare(self, step: Step) -> dict[str, Any]:
        spec = self.registry.get(step.step)
        args = self.registry.check_args(step.step, step.args)
        return spec.prepare(args) if spec.prepare is not None else args

    def _run_step(self, step: Step, ctx: ChainContext, progress: Progress, args: dict[str, Any]) -> StepRecord:
        started = time.monotonic()
        failures: list[tuple[Step, BaseException]] = []
        attempts = 0
        for n, cand in enumerate(self._candidates(step)):
            spec = self.registry.get(cand.step)
            attempt = 0
            while True:
                attempt += 1
                attempts += 1
                try:
                    # The step's own arguments were prepared before the chain began; a fallback's now.
                    result = spec.run(ctx, dict(args) if n == 0 else self._prepare(cand), progress)
                except Cancelled:
                    raise
                except Exception as exc:  # noqa: BLE001 - every failure is judged by handle_errors
                    if not isinstance(exc, GrymError):
                        log.warning("step %s raised %s", cand.describe(), exc.__class__.__name__, exc_info=exc)
                    strategy = self.handle_errors(spec, exc, attempt)
                    if strategy.action == "retry":
                        log.info("step %s: %s, waiting %.2f s", cand.step, strategy.reason, strategy.delay_s)
                        progress(0.0, f"retrying after {error_code(exc)}")
                        self._sleep(strategy.delay_s)
                        continue
                    failures.append((cand, exc))
                    break
                ctx.results[step.step] = result
                return StepRecord(step.step, step.args, True, attempts, cand.describe() if n else None,
                                  round(time.monotonic() - started, 3), result=to_jsonable(result))
        message = self._failure_message(step, failures)
        if step.optional:
            log.warning("optional %s", message)
            return StepRecord(step.step, step.args, False, attempts, None, round(time.monotonic() - started, 3),
                              error=message)
        raise StepFailed(message, code=error_code(failures[0][1]))

    @staticmethod
    def _failure_message(step: Step, failures: list[tuple[Step, BaseException]]) -> str:
        first = f"step {step.step} failed: {error_message(failures[0][1])}"
        rest = [f"fallback {cand.describe()} failed: {error_message(exc)}" for cand, exc in failures[1:]]
        return "; ".join([first, *rest]) if rest else first

    # -- all together -------------------------------------------------------------------------

    def ask(
        self,
        text: str,
        *,
        path: Path | None = None,
        session_id: str = "default",
        progress: Progress | None = None,
        plan: Plan | None = None,
    ) -> AskResult:
        """Plan `text` (unless `plan` is given), run the chain, and explain what was done."""
        plan = plan or self.route_task(text, path=path, session_id=session_id)
        ctx = ChainContext(self.config, text=text, input_path=path, session=self.session(session_id))
        result = self.execute_chain(plan, ctx, progress)
        return AskResult(plan=plan_dict(plan), result=result, explanation=explain(plan, result))


def plan_dict(plan: Plan) -> dict[str, Any]:
    data = to_jsonable(plan)
    data["steps"] = [{k: v for k, v in s.items() if v not in ([], False)} for s in data["steps"]]
    return data


def explain(plan: Plan, result: ChainResult) -> str:
    """The plan's explanation plus what actually happened: fallbacks used, optional steps that failed."""
    lines = [plan.explanation or "Ran " + ", ".join(plan.names) + "."]
    if plan.fallback_reason:
        lines.append(f"(Planned by the rules: {plan.fallback_reason}.)")
    for rec in result.steps:
        if rec.fallback:
            lines.append(f"{rec.step} used the fallback {rec.fallback}.")
        if not rec.ok:
            lines.append(f"Skipped: {rec.error}.")
    if result.output:
        lines.append(f"Result: {result.output}")
    return " ".join(lines)
