"""`/grym/system/*`: ping, hello (reply port), info, self-test, the address list, queue depth."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grym_bridge import PROTOCOL_VERSION, __version__
from grym_bridge.api.routes import Arg, Property, Request, Route

if TYPE_CHECKING:
    from grym_bridge.orchestrator.services import Services


def ping(req: Request) -> tuple[Any, ...]:
    return (__version__,)


def hello(req: Request, reply_port: int, token: str = "") -> tuple[Any, ...]:
    # The token was checked before dispatch (transports.auth.OscClientGate, in the OSC server).
    set_port = getattr(req.peer, "set_reply_port", None)
    if set_port is not None:
        set_port(reply_port)
    return ("ok", __version__, PROTOCOL_VERSION)


def info(req: Request) -> None:
    req.reply_json(req.services.describe())


def addresses(req: Request) -> None:
    req.reply_json([{"address": r.address, "arguments": r.signature(), "reply": r.reply, "doc": r.doc}
                    for r in req.router.routes.values()])


def selftest(req: Request) -> None:
    from grym_bridge.orchestrator.selftest import run_selftest

    config, probes = req.services.config, req.services.probes
    req.start_job("selftest", lambda job: run_selftest(config, progress=job.progress, probes=probes))


def queue_state(services: "Services") -> tuple[int, int]:
    return services.jobs.depth(), len(services.jobs.running())


ROUTES = [
    Route("/grym/system/ping", ping, reply="<req_id> <version>",
          doc="Is the server there? Answers at once with its version."),
    Route("/grym/system/hello", hello, args=[Arg("reply_port", int, min=0, max=65535,
                                                                 help="UDP port to reply to (0: the source port; "
                                                                      "over TCP replies always come on the connection)"),
                                             Arg("token", str, "", help="the studio token; required from other machines")],
          reply="<req_id> ok <version> <protocol_version>",
          doc="Register the UDP port this client wants replies on (Max's udpsend cannot receive on its source port)."),
    Route("/grym/system/info", info, reply="<req_id> <json>",
          doc="Version, data directory, ports and which capabilities are ready or wait for model weights."),
    Route("/grym/system/addresses", addresses, reply="<req_id> <json>",
          doc="Every registered address with its arguments, reply and description."),
    Route("/grym/system/selftest", selftest, reply="job: result is the self-test report",
          doc="Check each capability (data directory, store, a pedalboard render, MIDI, models) as a job."),
]

PROPERTIES = [
    Property("system", "queue", queue_state, doc="the job queue: <waiting> <running>"),
]
