"""The orchestrator's own costs, each against the peer it sits next to, measured in one run.

Run:  .venv/bin/python bench/orchestrator.py [--repeats 5]

1. Planning: the rule planner on the test corpus of producer requests, against the floor of
   any LLM planner: one chat round trip to a loopback HTTP server that answers at once (httpx,
   JSON both ways, no model). A real model adds its generation time on top.
2. Chain overhead: a 6-step chain of trivial steps through `execute_chain` (progress mapping,
   retry/fallback bookkeeping, records) against calling the same six functions directly.
3. Health: judging one sample with hysteresis against taking the sample (psutil CPU and memory).
4. Cleanup: `cleanup_folder` over 3,000 renders with sidecars (nothing to delete) against the
   bare `os.walk` + `stat` any cleanup must do.

Goal: the orchestrator's bookkeeping stays far below the work it organizes: planning well under
a millisecond and >= 10x below even a model-less LLM round trip (a real model takes 100s of ms
more); chain overhead under 1 ms per chain; a health judgment cheaper than its sample; cleanup
within 3x of the bare walk. The numbers are noisy on a shared machine: run it twice.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grym_bridge.config import HealthConfig, OrchestratorConfig, load_config  # noqa: E402
from grym_bridge.orchestrator.chains import Orchestrator  # noqa: E402
from grym_bridge.orchestrator.health import HealthMonitor, Readings, SystemProbe  # noqa: E402
from grym_bridge.orchestrator.llm_planner import LlmPlanner  # noqa: E402
from grym_bridge.orchestrator.plan import Plan, Step  # noqa: E402
from grym_bridge.orchestrator.resources import cleanup_folder  # noqa: E402
from grym_bridge.orchestrator.rule_planner import RulePlanner  # noqa: E402
from grym_bridge.orchestrator.steps import ChainContext, StepRegistry  # noqa: E402
from tests.orchestrator.test_rule_planner import CORPUS  # noqa: E402

PLAN = json.dumps({"steps": [{"step": "analyze"}, {"step": "suggest_fx", "args": {"goals": ["darker"]}},
                             {"step": "render"}], "explanation": "Darker."})


def best_of(fn: Callable[[], Any], repeats: int, inner: int) -> float:
    """Seconds per call: the median over `repeats` runs of `inner` calls."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t) / inner)
    return statistics.median(times)


def instant_llm() -> ThreadingHTTPServer:
    """An Ollama-shaped /api/chat that answers a fixed plan at once (no model): the round-trip floor."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"message": {"role": "assistant", "content": PLAN}, "done": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def bench_planning(repeats: int) -> tuple[float, float]:
    rules = RulePlanner()
    requests = [(t, has) for t, has, _ in CORPUS]

    def plan_all() -> None:
        for text, has in requests:
            rules.plan(text, has_input=has)

    rule_s = best_of(plan_all, repeats, 3) / len(requests)
    server = instant_llm()
    try:
        cfg = OrchestratorConfig(planner="ollama", llm_url=f"http://127.0.0.1:{server.server_address[1]}")
        llm = LlmPlanner(cfg)
        llm_s = best_of(lambda: llm.plan("make it darker", has_input=True), repeats, 20)
    finally:
        server.shutdown()
    return rule_s, llm_s


def bench_chain(repeats: int) -> tuple[float, float]:
    config = load_config(None, {"data_dir": tempfile.mkdtemp()}, environ={})
    registry = StepRegistry()
    names = [f"s{i}" for i in range(6)]

    def work(ctx: ChainContext, args: dict, progress: Callable[[float, str], None]) -> dict:
        progress(0.5, "half")
        return {"n": args["n"] + 1}

    for n in names:
        registry.register(n, work)
    orch = Orchestrator(config, registry)
    plan = Plan([Step(n, {"n": i}) for i, n in enumerate(names)])
    sink = lambda f, m: None  # noqa: E731

    def direct() -> None:
        ctx = ChainContext(config)
        for i, _ in enumerate(names):
            work(ctx, {"n": i}, sink)

    return best_of(lambda: orch.execute_chain(plan, ChainContext(config), sink), repeats, 300), \
        best_of(direct, repeats, 300)


def bench_health(repeats: int) -> tuple[float, float]:
    monitor = HealthMonitor(HealthConfig())
    sample = Readings(cpu_percent=50.0, memory_percent=60.0, queue_depth=3.0, loop_lag_s=0.01)
    probe = SystemProbe(queue_depth=lambda: 3, loop_lag=lambda: 0.01)
    return best_of(lambda: monitor.update(Readings(**vars(sample))), repeats, 2000), best_of(probe, repeats, 200)


def bench_cleanup(repeats: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        for i in range(1500):
            (folder / f"take{i}.wav").write_bytes(b"\0" * 64)
            (folder / f"take{i}.json").write_text("{}")

        def bare() -> None:
            for root, _dirs, names in os.walk(folder):
                for name in names:
                    os.stat(os.path.join(root, name))

        ours = best_of(lambda: cleanup_folder(folder, max_age_s=10**9, max_total_bytes=10**12), repeats, 3)
        return ours, best_of(bare, repeats, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    r = args.repeats

    rule_s, llm_s = bench_planning(r)
    print(f"planning      rules {rule_s * 1e6:8.1f} us/request   LLM floor (loopback, no model) {llm_s * 1e3:6.2f} ms"
          f"   ratio {llm_s / rule_s:7.0f}x")
    chain_s, direct_s = bench_chain(r)
    print(f"chain (6)     executor {chain_s * 1e6:8.1f} us   direct calls {direct_s * 1e6:6.1f} us"
          f"   overhead {(chain_s - direct_s) * 1e6:7.1f} us/chain")
    judge_s, sample_s = bench_health(r)
    print(f"health        judge {judge_s * 1e6:8.1f} us   sample (psutil) {sample_s * 1e6:7.1f} us"
          f"   ratio {sample_s / judge_s:5.1f}x")
    ours_s, bare_s = bench_cleanup(r)
    print(f"cleanup 3000  cleanup_folder {ours_s * 1e3:7.1f} ms   bare walk+stat {bare_s * 1e3:6.1f} ms"
          f"   ratio {ours_s / bare_s:4.2f}x")


if __name__ == "__main__":
    main()
