"""The JSON API, generated from the route table: one endpoint shape for every address.

`POST /api/<domain>/<verb>` with a JSON object of named arguments and options
is the OSC request `/grym/<domain>/<verb> <req_id> <args...> <options...>`,
dispatched through the same router, with the same coercion, checks and
errors. `GET /api/routes` describes the table (arguments with types, ranges,
choices and help), which is how the page builds its forms.

A route that starts a job answers `{"job_id": n}` at once; its progress and
result arrive on the page's websocket (send `X-Grym-Client: <id>` from the
websocket's welcome). With `"wait": true` in the body the answer holds until
the job is done (handy for scripts: `curl -d '{"path": "...", "wait": true}'`).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

from grym_bridge.errors import BadRequest, GrymError, error_code, error_message
from grym_bridge.transports.http.peers import RequestPeer, decode_values
from grym_bridge.api.routes import ERROR_ADDRESS, REQUIRED, Arg, Route, Router

if TYPE_CHECKING:
    from grym_bridge.transports.http.server import HttpTransport

ADDRESS_PREFIX = "/grym/"
#: How long a plain request may take to answer (handlers only validate and enqueue: this is generous).
REPLY_TIMEOUT_S = 30.0
#: How long `"wait": true` holds a request open for its job.
WAIT_TIMEOUT_S = 3600.0

STATUS = {"bad_args": 400, "malformed": 400, "config": 400, "unknown_address": 404, "not_found": 404,
          "path_not_allowed": 403, "unauthorized": 401, "too_large": 413, "busy": 503, "bad_audio": 422,
          "model_unavailable": 503, "cancelled": 409, "timeout": 504}

_req_ids = itertools.count(1)


def api_path(address: str) -> str:
    return "/api/" + address[len(ADDRESS_PREFIX):]


def _arg_doc(arg: Arg) -> dict[str, Any]:
    default = None if arg.default is REQUIRED else arg.default
    return {"name": arg.name, "type": arg.type.__name__, "required": arg.default is REQUIRED, "default": default,
            "min": arg.min, "max": arg.max, "choices": list(arg.choices) if arg.choices is not None else None,
            "help": arg.help}


def describe_routes(router: Router) -> dict[str, Any]:
    """The route table as JSON: what `GET /api/routes` answers."""
    routes = []
    for address, route in router.routes.items():
        domain = address[len(ADDRESS_PREFIX):].split("/", 1)[0]
        routes.append({"address": address, "path": api_path(address), "domain": domain,
                       "args": [_arg_doc(a) for a in route.args], "options": [_arg_doc(o) for o in route.options],
                       "reply": route.reply, "doc": route.doc, "job": route.reply.startswith("job")})
    properties = [{"address": p.address, "doc": p.doc} for p in router.properties.values()]
    return {"routes": routes, "properties": properties}


def osc_arguments(route: Route, body: dict[str, Any]) -> list[Any]:
    """Named JSON values as the route's OSC arguments: positional args in order, then option pairs."""
    return route.named_values(body, caller=api_path(route.address))


def error_response(code: str, message: str, address: str = "", retry_after: Any = None) -> JSONResponse:
    headers = {"Retry-After": str(max(1, round(float(retry_after))))} if retry_after is not None else None
    return JSONResponse({"error": {"code": code, "message": message, "address": address}},
                        status_code=STATUS.get(code, 500), headers=headers)


def _reply_response(address: str, args: list[Any], *, asked: str) -> JSONResponse:
    if address == ERROR_ADDRESS:
        retry = args[4] if len(args) > 4 else None
        return error_response(str(args[2]), str(args[3]), asked, retry)
    if address == "/grym/job/queued":
        return JSONResponse({"address": address, "job_id": args[1]})
    return JSONResponse({"address": address, "values": decode_values(args[1:])})


async def read_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    import json

    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the request body must be a JSON object of arguments: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object of arguments, e.g. {\"path\": \"/music/loop.wav\"}")
    return body


def make_endpoint(transport: "HttpTransport") -> Callable[[Request], Any]:
    """The one handler behind every `POST /api/<domain>/<verb>`."""

    async def endpoint(request: Request) -> JSONResponse:
        address = ADDRESS_PREFIX + request.path_params["rest"]
        router = transport.router
        route = router.routes.get(address)
        page = transport.pages.get(request.headers.get("x-grym-client", ""))
        values: list[Any] = []
        try:
            body = await read_body(request)
            wait = bool(body.pop("wait", False))
            if "/start_listen/" in address and page is None:
                raise BadRequest("subscriptions need the page's websocket: send X-Grym-Client with its id")
            if route is not None:  # an unknown address is answered by the router, with its suggestion
                values = osc_arguments(route, body)
        except GrymError as exc:
            return error_response(error_code(exc), error_message(exc), address)
        peer = RequestPeer(asyncio.get_running_loop(), page)
        peer.host = request.client.host if request.client else ""  # whose machine: job ownership (jobs.cancel_by)
        router.dispatch(address, [f"http-{next(_req_ids)}", *values], peer)
        try:
            reply_address, args = await asyncio.wait_for(asyncio.shield(peer.reply), REPLY_TIMEOUT_S)
        except (asyncio.TimeoutError, TimeoutError):
            return error_response("timeout", f"{address} did not answer within {REPLY_TIMEOUT_S:g} s", address)
        if not wait or reply_address != "/grym/job/queued":
            return _reply_response(reply_address, args, asked=address)
        try:
            done_address, done = await asyncio.wait_for(asyncio.shield(peer.outcome), WAIT_TIMEOUT_S)
        except (asyncio.TimeoutError, TimeoutError):
            return error_response("timeout", f"job {peer.job_id} did not finish within {WAIT_TIMEOUT_S:g} s", address)
        if done_address == "/grym/job/error":
            return error_response(str(done[1]), str(done[2]), address)
        return JSONResponse({"address": done_address, "job_id": peer.job_id, "result": decode_values(done[1:2])[0]})

    return endpoint
