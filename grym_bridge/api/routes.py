"""The address space: routes declared in tables, and one transport-neutral router.

Each domain module of `grym_bridge.api` (`system.py`, `job.py`, `analyze.py`,
...) exports `ROUTES` (and optionally `PROPERTIES`). A `Route` carries what
every transport needs to expose it: argument types, ranges, choices and
descriptions, the reply, whether it runs as a job and on which queue
(`Route.schema()` gives it all as JSON-able data, with a JSON Schema of the
arguments for HTTP and MCP). The router strips and echoes the request id,
coerces arguments the way Max and REAPER send them, turns every error into
`/grym/error`, and fans job events out to their owners and to subscribers.
UDP, OSC-over-TCP, MIDI and the msgpack RPC all call
`Router.dispatch(address, args, peer)`; only the peer differs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Protocol, Sequence

from grym_bridge.errors import BadRequest, GrymError, UnknownAddress, error_code, error_message
from grym_bridge.files import atomic_write_text
from grym_bridge.results import dumps
from grym_bridge.values import CONVERTERS, coerce

if TYPE_CHECKING:
    from grym_bridge.orchestrator.services import Services
    from grym_bridge.orchestrator.jobs import Job, JobContext

log = logging.getLogger(__name__)

ERROR_ADDRESS = "/grym/error"
REQUIRED: Any = object()


class Peer(Protocol):
    """Where replies for one client go. `key` identifies the client for subscriptions."""

    key: Hashable
    #: Largest reply payload this peer can take inline (None: no limit). Larger JSON goes to a file.
    max_payload: int | None

    def send(self, address: str, args: Sequence[Any]) -> None: ...


@dataclass(frozen=True)
class Arg:
    """One argument of a route: its name, type (int, float, str, bool, dict) and default."""

    name: str
    type: type = str
    default: Any = REQUIRED
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def describe(self) -> str:
        text = f"{self.name}:{self.type.__name__}"
        return f"<{text}>" if self.required else f"[{text}={self.default}]"

    def schema(self) -> dict[str, Any]:
        """This argument as a JSON Schema property (type, range, choices, default, description)."""
        out: dict[str, Any] = {"type": _JSON_TYPES.get(self.type, "string")}
        if self.help:
            out["description"] = self.help
        if self.min is not None:
            out["minimum"] = self.min
        if self.max is not None:
            out["maximum"] = self.max
        if self.choices is not None:
            out["enum"] = list(self.choices)
        if not self.required:
            out["default"] = self.default
        return out

    def coerce(self, value: Any) -> Any:
        """Convert a value as Max/REAPER send it (3.0 for 3, 1 for true) or raise BadRequest."""
        value = _coerce(self, value)
        if self.choices is not None and value not in self.choices:
            raise BadRequest(f"argument '{self.name}' must be one of {', '.join(map(str, self.choices))}; got {value!r}")
        if self.min is not None and value < self.min:
            raise BadRequest(f"argument '{self.name}' must be at least {self.min:g}; got {value!r}")
        if self.max is not None and value > self.max:
            raise BadRequest(f"argument '{self.name}' must be at most {self.max:g}; got {value!r}")
        return value


def _coerce(arg: Arg, value: Any) -> Any:
    t = arg.type
    if t in CONVERTERS:
        try:
            return coerce(value, t)
        except ValueError:
            raise BadRequest(f"argument '{arg.name}' must be {_TYPE_WORDS.get(t, t.__name__)}; got {value!r}") from None
    if t is dict:
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError as exc:
                raise BadRequest(f"argument '{arg.name}' must be a JSON object: {exc.msg} at {exc.pos}") from None
            if isinstance(parsed, dict):
                return parsed
        raise BadRequest(f"argument '{arg.name}' must be a JSON object; got {value!r}")
    return value


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "0 or 1", dict: "a JSON object"}
_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", dict: "object"}
#: Job queues a route may run on; "auto": the handler decides per request (by the plan, or an option).
RESOURCES = ("cpu", "gpu", "auto")


@dataclass(frozen=True)
class Route:
    """One address: its handler, arguments after the request id, optional options, and docs."""

    address: str
    handler: Callable[..., Any]
    args: Sequence[Arg] = ()
    options: Sequence[Arg] = ()
    reply: str = ""
    doc: str = ""
    #: Whether the request answers `/grym/job/queued` and runs as a job (None: a reply starting "job" says so).
    job: bool | None = None
    #: The job queue it runs on (cpu, gpu, or auto: decided per request); unused when not a job.
    resource: str = "cpu"

    def __post_init__(self) -> None:
        if self.job is None:
            object.__setattr__(self, "job", self.reply.startswith("job"))
        if self.resource not in RESOURCES:
            raise ValueError(f"{self.address}: resource must be one of {', '.join(RESOURCES)}; got {self.resource!r}")

    @property
    def domain(self) -> str:
        """The address's domain: `fx` for `/grym/fx/render`."""
        parts = self.address.strip("/").split("/")
        return parts[1] if len(parts) > 2 else parts[-1]

    def schema(self) -> dict[str, Any]:
        """Everything a transport needs to expose this address, as JSON-able data.

        `arguments` is a JSON Schema object of the positional arguments and
        options by name (HTTP bodies and MCP tools take them by name);
        `positional` gives the positional order OSC uses.
        """
        props = {a.name: a.schema() for a in (*self.args, *self.options)}
        return {
            "address": self.address, "domain": self.domain, "description": self.doc, "reply": self.reply,
            "job": bool(self.job), "resource": self.resource if self.job else None,
            "positional": [a.name for a in self.args],
            "arguments": {"type": "object", "properties": props,
                          "required": [a.name for a in self.args if a.required], "additionalProperties": False},
        }

    def named_values(self, named: dict[str, Any], *, caller: str = "") -> list[Any]:
        """Arguments by name (HTTP bodies, MCP tool calls) as this route's request values:
        positional arguments in order, then the options given, as name/value pairs."""
        caller = caller or self.address
        known = [a.name for a in (*self.args, *self.options)]
        unknown = [name for name in named if name not in known]
        if unknown:
            raise BadRequest(f"{caller}: unknown argument(s) {', '.join(map(repr, unknown))}; "
                             f"it takes {', '.join(known) or 'none'}")
        values: list[Any] = []
        for arg in self.args:
            if arg.name in named:
                values.append(named[arg.name])
            elif arg.required:
                raise BadRequest(f"{caller} needs '{arg.name}' ({arg.help or arg.type.__name__})")
            else:
                values.append(arg.default)
        for option in self.options:
            if option.name in named:
                values += [option.name, named[option.name]]
        return values

    def signature(self) -> str:
        parts = ["<req_id>", *(a.describe() for a in self.args)]
        if self.options:
            parts.append("[options: " + ", ".join(f"{o.name}={o.default}" for o in self.options) + "]")
        return " ".join(parts)

    def bind(self, values: Sequence[Any]) -> dict[str, Any]:
        """Map the OSC arguments after the request id to handler keyword arguments."""
        kwargs: dict[str, Any] = {}
        positional = list(values[: len(self.args)])
        rest = list(values[len(self.args):])
        for i, arg in enumerate(self.args):
            if i < len(positional):
                kwargs[arg.name] = arg.coerce(positional[i])
            elif arg.required:
                expected = " ".join(a.describe() for a in self.args)
                raise BadRequest(f"{self.address} is missing argument '{arg.name}' (expects <req_id> {expected})")
            else:
                kwargs[arg.name] = arg.default
        kwargs.update(self._bind_options(rest))
        return kwargs

    def _bind_options(self, rest: list[Any]) -> dict[str, Any]:
        by_name = {o.name: o for o in self.options}
        chosen: dict[str, Any] = {o.name: o.default for o in self.options}
        if not rest:
            return chosen
        if not self.options:
            raise BadRequest(f"{self.address} takes {len(self.args)} argument(s) after <req_id>; got {len(self.args) + len(rest)}")
        if len(rest) == 1 and isinstance(rest[0], str) and rest[0].lstrip().startswith("{"):
            pairs = list(Arg("options", dict).coerce(rest[0]).items())
        elif len(rest) % 2:
            raise BadRequest(f"{self.address}: options come as name value pairs or one JSON object; got an odd count ({len(rest)})")
        else:
            pairs = list(zip(rest[0::2], rest[1::2]))
        for name, value in pairs:
            if name not in by_name:
                valid = ", ".join(by_name)
                raise BadRequest(f"{self.address}: unknown option {name!r}; valid options: {valid}")
            chosen[name] = by_name[name].coerce(value)
        return chosen


@dataclass(frozen=True)
class Property:
    """A value clients can subscribe to with `/grym/<domain>/start_listen/<name>`.

    Updates are sent to `/grym/<domain>/<name> <values...>`.
    """

    domain: str
    name: str
    getter: Callable[["Services"], Sequence[Any]]
    doc: str = ""

    @property
    def address(self) -> str:
        return f"/grym/{self.domain}/{self.name}"


@dataclass
class Request:
    """One incoming request, as a handler sees it."""

    router: "Router"
    route: Route
    req_id: Any
    peer: Peer

    @property
    def services(self) -> "Services":
        return self.router.services

    def reply(self, *values: Any) -> None:
        """Send `<address> <req_id> *values` to this client now."""
        self.peer.send(self.route.address, [self.req_id, *values])

    def reply_json(self, obj: Any) -> None:
        """Reply with one JSON argument (or a result file when it is too large for the peer)."""
        self.reply(self.router.json_payload(self.peer, obj, name=f"reply-{self.req_id}"))

    def start_job(
        self,
        name: str,
        work: Callable[["JobContext"], Any],
        *,
        resource: str | None = None,
        timeout_s: float | None = None,
    ) -> "Job":
        """Queue long work and answer `/grym/job/queued <req_id> <job_id>` at once (on the route's queue by default)."""
        lane = resource or (self.route.resource if self.route.resource != "auto" else "cpu")
        job = self.services.jobs.submit(name, work, resource=lane, owner=self.peer, timeout_s=timeout_s)
        self.peer.send("/grym/job/queued", [self.req_id, job.id])
        return job


@dataclass
class Router:
    """Dispatches requests from any transport to the handlers registered from the route tables."""

    services: "Services"
    routes: dict[str, Route] = field(default_factory=dict)
    properties: dict[str, Property] = field(default_factory=dict)
    subscribers: dict[str, dict[Hashable, Peer]] = field(default_factory=dict)
    results_dir: Path | None = None
    _last_queue_state: tuple[int, int] = (0, 0)

    def add(self, routes: Iterable[Route] = (), properties: Iterable[Property] = ()) -> None:
        for route in routes:
            if route.address in self.routes:
                raise ValueError(f"address registered twice: {route.address}")
            self.routes[route.address] = route
        for prop in properties:
            self.properties[prop.address] = prop
            self.subscribers.setdefault(prop.address, {})
            for verb, handler in (("start_listen", self._start_listen), ("stop_listen", self._stop_listen)):
                address = f"/grym/{prop.domain}/{verb}/{prop.name}"
                self.add([Route(address, _bound(handler, prop),
                                reply=f"<req_id> <current value...>; updates on {prop.address}" if verb == "start_listen" else "<req_id> ok",
                                doc=("Subscribe to" if verb == "start_listen" else "Unsubscribe from") + f" {prop.doc or prop.name}.")])

    # -- dispatch -----------------------------------------------------------

    def dispatch(self, address: str, args: Sequence[Any], peer: Peer) -> None:
        """Handle one request; every failure becomes `/grym/error` to that peer. Never raises."""
        req_id = args[0] if args else ""
        try:
            route = self.routes.get(address)
            if route is None:
                raise UnknownAddress(self._unknown_message(address))
            if not args:
                raise BadRequest(f"{address} needs a request id as its first argument ({route.signature()})")
            result = route.handler(Request(self, route, req_id, peer), **route.bind(args[1:]))
            if result is not None:
                peer.send(route.address, [req_id, *result])
        except GrymError as exc:
            self.send_error(peer, address, req_id, exc)
        except Exception as exc:  # noqa: BLE001 - a bad request never stops the server
            log.exception("handler for %s failed", address)
            self.send_error(peer, address, req_id, exc)

    def send_error(self, peer: Peer, address: str, req_id: Any, exc: BaseException) -> None:
        args: list[Any] = [address, _osc_safe_id(req_id), error_code(exc), error_message(exc)]
        retry = getattr(exc, "retry_after_s", None)
        if retry is not None:
            args.append(float(retry))
        try:
            peer.send(ERROR_ADDRESS, args)
        except Exception:  # noqa: BLE001
            log.exception("could not send an error reply for %s", address)

    def _unknown_message(self, address: str) -> str:
        import difflib

        close = difflib.get_close_matches(address, list(self.routes), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else "; see the README's OSC reference or /grym/system/addresses"
        return f"no such address {address!r}{hint}"

    # -- subscriptions ------------------------------------------------------------

    def _start_listen(self, prop: Property, req: Request) -> tuple[Any, ...]:
        self.subscribers[prop.address][req.peer.key] = req.peer
        return tuple(prop.getter(self.services))

    def _stop_listen(self, prop: Property, req: Request) -> tuple[Any, ...]:
        self.subscribers[prop.address].pop(req.peer.key, None)
        return ("ok",)

    def publish(self, address: str, values: Sequence[Any], *, exclude: Hashable = None) -> None:
        """Send an update to every subscriber of the property at `address`."""
        for key, peer in list(self.subscribers.get(address, {}).items()):
            if key != exclude:
                try:
                    peer.send(address, list(values))
                except Exception:  # noqa: BLE001 - a dead subscriber is dropped, the rest still hear
                    log.info("dropping subscriber %s of %s", key, address)
                    self.subscribers[address].pop(key, None)

    def forget(self, peer: Peer) -> None:
        """Drop every subscription of a peer that went away (a closed TCP connection)."""
        for subs in self.subscribers.values():
            subs.pop(peer.key, None)

    # -- job events ------------------------------------------------------------------

    def on_job_event(self, event: str, job: "Job") -> None:
        """JobQueue listener: progress, done and errors go to the owner and to job subscribers;
        `/grym/system/queue` subscribers hear of every change of the queue's depth."""
        jobs = self.services.jobs
        queue_state = (jobs.depth(), len(jobs.running()))
        if queue_state != self._last_queue_state:
            self._last_queue_state = queue_state
            self.publish("/grym/system/queue", queue_state)
        if event in ("queued", "started"):
            return
        if event == "progress":
            address, values = "/grym/job/progress", [job.id, float(job.progress), job.message]
        elif event == "done":
            address, values = "/grym/job/done", [job.id, None]
        else:
            address, values = "/grym/job/error", [job.id, job.error_code or event, job.error_message or event]
        owner: Peer | None = job.owner
        for peer in ([owner] if owner is not None else []) + [
            p for k, p in self.subscribers.get("/grym/job/progress", {}).items() if owner is None or k != owner.key
        ]:
            out = list(values)
            if event == "done":
                out[1] = self.json_payload(peer, job.result, name=f"job-{job.id}")
            try:
                peer.send(address, out)
            except Exception:  # noqa: BLE001
                log.info("could not deliver %s for job %s to %s", address, job.id, peer.key)

    def json_payload(self, peer: Peer, obj: Any, *, name: str) -> str:
        """`obj` as a JSON string, or `{"result_file": path}` when too large for one datagram."""
        text = dumps(obj)
        limit = peer.max_payload
        if limit is None or len(text.encode()) <= limit or self.results_dir is None:
            return text
        path = atomic_write_text(self.results_dir / f"{name}.json", text)
        return dumps({"result_file": str(path)})


def _bound(handler: Callable[..., Any], prop: Property) -> Callable[..., Any]:
    def call(req: Request) -> Any:
        return handler(prop, req)

    return call


def _osc_safe_id(req_id: Any) -> Any:
    return req_id if isinstance(req_id, (int, float, str)) and not isinstance(req_id, bool) else str(req_id)
