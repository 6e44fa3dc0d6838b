"""`/grym/job/*`: cancel, status, list; progress subscriptions.

The server sends `/grym/job/queued <req_id> <job_id>`, `/grym/job/progress <job_id> <fraction>
<message>`, `/grym/job/done <job_id> <result_json>` and `/grym/job/error <job_id> <code> <message>`
to the client that started a job and to subscribers of `/grym/job/start_listen/progress`.

A job belongs to the client that started it and to its host's token holder
over every transport: a client of another host gets `forbidden` on cancel
(`jobs.cancel_by`: host, owner or anyone; see `orchestrator/job_policy.py`).
`/grym/job/list` also names workers still held by work that ran past its
timeout (`"hung": true`), which Python cannot stop from outside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grym_bridge.api.routes import Arg, Property, Request, Route
from grym_bridge.orchestrator.job_policy import check_owner

if TYPE_CHECKING:
    from grym_bridge.orchestrator.services import Services


def cancel(req: Request, job_id: int) -> tuple[Any, ...]:
    jobs = req.services.jobs
    check_owner(jobs.get(job_id), req.peer, req.services.config.jobs.cancel_by)
    job = jobs.cancel(job_id)
    return (job.id, job.state.value)


def status(req: Request, job_id: int) -> None:
    req.reply_json(req.services.jobs.get(job_id).status())


def list_jobs(req: Request) -> None:
    jobs = req.services.jobs
    req.reply_json([j.status() | {"result": None} for j in jobs.active()] + jobs.hung())


def active_count(services: "Services") -> tuple[int]:
    return (len(services.jobs.active()),)


ROUTES = [
    Route("/grym/job/cancel", cancel, args=[Arg("job_id", int)], reply="<req_id> <job_id> <state>",
          doc="Cancel a queued or running job started from your machine (another host's: forbidden; "
              "jobs.cancel_by sets who may); the job's owner also gets /grym/job/error <job_id> cancelled."),
    Route("/grym/job/status", status, args=[Arg("job_id", int)], reply="<req_id> <json>",
          doc="State, progress, result or error of a job (kept for jobs.result_ttl_s after it ends)."),
    Route("/grym/job/list", list_jobs, reply="<req_id> <json>",
          doc="The queued and running jobs, and workers still held by work that ran past its timeout (hung: true)."),
]

PROPERTIES = [
    Property("job", "progress", active_count,
             doc="progress, done and error messages of every job (the reply carries the number of active jobs)"),
]
