"""`/grym/ask`: a request in words ("make this loop darker and wider") run as one chain job.

The handler plans with the rules at once, so a request the bridge cannot
understand, or one that needs a clip and came without, is answered with an
error before any job starts; the plan also says whether the chain needs the
GPU queue. With an LLM planner configured, the job plans again with the LLM
(falling back to the rules) before it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grym_bridge.errors import GrymError
from grym_bridge.orchestrator.rule_planner import RulePlanner
from grym_bridge.api.routes import Arg, Request, Route


def ask(req: Request, text: str, path: str, session: str) -> None:
    service = req.services.orchestrator
    orch = service.chains
    clip: Path | None = req.services.paths.check(path) if path.strip() else None
    sid = service.sessions.check_id(session)
    use_rules = isinstance(orch.planner, RulePlanner)
    try:
        plan: Any = orch.route_task(text, path=clip, session_id=sid) if use_rules else \
            orch.optimize_execution(RulePlanner().plan(text, has_input=clip is not None, session=orch.session(sid)))
        resource = orch.balance_resources(plan)
    except GrymError:
        if use_rules:
            raise
        plan, resource = None, "cpu"  # the LLM may understand what the rules did not
    req.start_job("ask", lambda job: orch.ask(text, path=clip, session_id=sid, progress=job.progress,
                                              plan=plan if use_rules else None), resource=resource)


ROUTES = [
    Route("/grym/ask", ask,
          args=[Arg("text", str, help="the request in words"),
                Arg("path", str, "", help="the clip it is about (optional)")],
          options=[Arg("session", str, "default", help="session id whose context (tempo, key) applies")],
          reply="job: result is {plan, result, explanation}", resource="auto",  # gpu when the plan generates
          doc="Do what the words say: plan a chain (analyze, suggest effects, render, generate, compose, find similar) "
              "and run it as one job with per-step progress."),
]
