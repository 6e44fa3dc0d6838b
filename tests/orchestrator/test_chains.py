"""The chain executor with small step functions registered by the tests (real functions, not mocks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grym_bridge.config import Config
from grym_bridge.memory import open_memory
from grym_bridge.errors import Busy, Cancelled, ModelUnavailable, UnknownAddress
from grym_bridge.orchestrator.chains import Orchestrator, StepFailed
from grym_bridge.orchestrator.health import HealthMonitor, Readings
from grym_bridge.orchestrator.plan import Plan, Step
from grym_bridge.orchestrator.session import SessionStore
from grym_bridge.orchestrator.steps import ChainContext, StepRegistry


class Flaky:
    """A step that fails with `exc` the first `failures` times, then returns its args."""

    def __init__(self, failures: int, exc: Exception) -> None:
        self.failures, self.exc, self.calls = failures, exc, []

    def __call__(self, ctx: ChainContext, args: dict[str, Any], progress) -> dict[str, Any]:
        self.calls.append(dict(args))
        if len(self.calls) <= self.failures:
            raise self.exc
        return {"args": args}


def make(config: Config, **kwargs: Any) -> tuple[Orchestrator, StepRegistry, list[float]]:
    registry = StepRegistry()
    sleeps: list[float] = []
    return Orchestrator(config, registry, sleep=sleeps.append, **kwargs), registry, sleeps


def test_each_step_sees_the_results_before_it_and_progress_covers_the_chain(config: Config) -> None:
    orch, reg, _ = make(config)

    def count(ctx, args, progress):
        for i in range(4):
            progress(i / 4, f"chunk {i}")
        return {"n": args["n"]}

    def double(ctx, args, progress):
        return {"n": ctx.results["count"]["n"] * 2}

    def write(ctx, args, progress):
        config.data_dir.mkdir(parents=True, exist_ok=True)
        out = config.data_dir / "out.txt"
        out.write_text(str(ctx.results["double"]["n"]))
        ctx.new_audio(out, "rendered")
        return {"path": str(out)}

    reg.register("count", count)
    reg.register("double", double)
    reg.register("write", write)
    seen: list[tuple[float, str]] = []
    plan = Plan([Step("count", {"n": 21}), Step("double"), Step("write")], "count, double, write")
    result = orch.execute_chain(plan, ChainContext(config), lambda f, m: seen.append((f, m)))
    assert (config.data_dir / "out.txt").read_text() == "42"
    assert result.results["double"] == {"n": 42}
    assert result.output == str(config.data_dir / "out.txt") and result.outputs == [result.output]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert ("step 1/3 count: chunk 2", pytest.approx(0.5 / 3)) in [(m, f) for f, m in seen]
    assert all(r.ok and r.attempts == 1 and r.fallback is None for r in result.steps)


def test_transient_failures_are_retried_with_exponential_backoff(config: Config) -> None:
    config.orchestrator.step_retries = 3
    config.orchestrator.retry_backoff_s = 0.25
    orch, reg, sleeps = make(config)
    flaky = Flaky(2, TimeoutError("the model server timed out"))
    reg.register("flaky", flaky)
    result = orch.execute_chain(Plan([Step("flaky", {"x": 1})]), ChainContext(config))
    assert sleeps == [0.25, 0.5]
    assert result.steps[0].attempts == 3 and result.steps[0].ok
    # a busy error's retry-after hint stretches the wait
    busy = Flaky(1, Busy("queue full", retry_after_s=2.0))
    reg.register("busy", busy)
    orch.execute_chain(Plan([Step("busy")]), ChainContext(config))
    assert sleeps[-1] == 2.0


def test_retries_run_out_and_the_fallback_takes_over(config: Config) -> None:
    config.orchestrator.step_retries = 1
    orch, reg, sleeps = make(config)
    gpu = Flaky(99, ConnectionError("GPU worker went away"))
    cpu = Flaky(0, RuntimeError("unused"))
    reg.register("generate_gpu", gpu, resource="gpu")
    reg.register("generate_cpu", cpu)
    plan = Plan([Step("generate_gpu", {"prompt": "pad"}, fallbacks=[Step("generate_cpu", {"prompt": "pad"})])])
    result = orch.execute_chain(plan, ChainContext(config))
    assert len(gpu.calls) == 2 and len(sleeps) == 1  # one retry, then the fallback
    assert result.steps[0].fallback == "generate_cpu(prompt=pad)"
    assert result.results["generate_gpu"] == {"args": {"prompt": "pad"}}


def test_registry_default_fallbacks_retry_the_step_with_other_arguments(config: Config) -> None:
    orch, reg, sleeps = make(config)

    def generate(ctx, args, progress):
        if args.get("device", "cuda") == "cuda":
            raise ModelUnavailable("CUDA out of memory")
        return {"device": args["device"], "steps": args.get("steps")}

    reg.register("generate", generate, resource="gpu", fallbacks=[{"device": "cpu", "steps": 10}])
    result = orch.execute_chain(Plan([Step("generate", {"prompt": "rain"})]), ChainContext(config))
    assert result.results["generate"] == {"device": "cpu", "steps": 10}
    assert sleeps == []  # not transient: no retry, straight to the fallback


def test_when_every_fallback_fails_the_error_names_them_all(config: Config) -> None:
    orch, reg, _ = make(config)
    reg.register("a", Flaky(99, ModelUnavailable("weights of model A are missing; run grym models pull A")),
                 fallbacks=[{"size": "small"}])
    reg.register("b", Flaky(99, ValueError("b broke")))
    plan = Plan([Step("a", fallbacks=[Step("b")])])
    with pytest.raises(StepFailed) as info:
        orch.execute_chain(plan, ChainContext(config))
    assert info.value.code == "model_unavailable"  # the first failure's code: what the client acts on
    msg = info.value.message
    assert msg.startswith("step a failed: weights of model A are missing")
    assert "fallback b() failed: internal error: ValueError: b broke" in msg
    assert "fallback a(size=small) failed" in msg


def test_an_optional_step_may_fail_without_failing_the_chain(config: Config) -> None:
    orch, reg, _ = make(config)
    reg.register("work", Flaky(0, RuntimeError()))
    reg.register("store", Flaky(99, OSError("disk full")))
    plan = Plan([Step("work"), Step("store", optional=True)], "Work, then remember it.")
    answer = orch.ask("x", plan=plan)
    assert [r.ok for r in answer.result.steps] == [True, False]
    assert "disk full" in answer.result.steps[1].error
    assert "Skipped: step store failed" in answer.explanation


def test_cancel_stops_the_chain_without_retries_or_fallbacks(config: Config) -> None:
    orch, reg, sleeps = make(config)
    step = Flaky(99, Cancelled("job 3 was cancelled"))
    reg.register("slow", step, fallbacks=[{"x": 1}])
    with pytest.raises(Cancelled):
        orch.execute_chain(Plan([Step("slow")]), ChainContext(config))
    assert len(step.calls) == 1 and sleeps == []


def test_optimize_drops_repeated_analysis_and_sheds_optional_steps_when_critical(config: Config) -> None:
    health = HealthMonitor(config.health)
    orch, reg, _ = make(config, health=health)
    plan = Plan([Step("analyze"), Step("analyze"), Step("render"), Step("analyze"), Step("store", optional=True)])
    assert orch.optimize_execution(plan).names == ["analyze", "render", "analyze", "store"]
    health.update(Readings(memory_percent=90.0))  # warning: everything still runs
    assert orch.optimize_execution(plan).names == ["analyze", "render", "analyze", "store"]
    health.update(Readings(memory_percent=99.0))  # critical: optional work is shed
    assert orch.optimize_execution(plan).names == ["analyze", "render", "analyze"]


def test_balance_resources_refuses_gpu_chains_while_critical(config: Config) -> None:
    health = HealthMonitor(config.health)
    orch, reg, _ = make(config, health=health)
    reg.register("cpu_step", Flaky(0, RuntimeError()))
    reg.register("gpu_step", Flaky(0, RuntimeError()), resource="gpu")
    assert orch.balance_resources(Plan([Step("cpu_step")])) == "cpu"
    assert orch.balance_resources(Plan([Step("cpu_step"), Step("gpu_step")])) == "gpu"
    health.update(Readings(memory_percent=99.0))
    assert orch.balance_resources(Plan([Step("cpu_step")])) == "cpu"
    with pytest.raises(Busy, match="critical"):
        orch.balance_resources(Plan([Step("gpu_step")]))


def test_route_task_uses_the_session_and_rejects_unregistered_steps(config: Config, tmp_path: Path) -> None:
    sessions = SessionStore.backed_by_memory(lambda: open_memory(config))
    sessions.set("tempo", 100)
    orch, reg, _ = make(config, sessions=sessions)
    with pytest.raises(UnknownAddress, match="no step 'compose'"):
        orch.route_task("write some chords")
    reg.register("compose", lambda ctx, args, progress: {"part": args["part"], "tempo": ctx.session.tempo})
    plan = orch.route_task("write some chords")
    assert plan.steps[0].args["tempo"] == 100.0
    answer = orch.ask("write some chords")
    assert answer.result.results["compose"] == {"part": "chords", "tempo": 100.0}
    assert answer.plan["steps"] == [{"step": "compose", "args": {"part": "chords", "tempo": 100.0, "key": None}}]
    assert answer.explanation.startswith("Compose chords")
