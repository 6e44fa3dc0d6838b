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
import math
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Hashable, Iterable, Protocol, Sequence

from grym_bridge.api.patterns import compile_pattern, is_pattern
from grym_bridge.errors import BadRequest, Busy, GrymError, MalformedMessage, UnknownAddress, error_code, error_message
from grym_bridge.files import atomic_write_text
from grym_bridge.results import dumps
from grym_bridge.values import CONVERTERS, coerce

if TYPE_CHECKING:
    from grym_bridge.orchestrator.services import Services
    from grym_bridge.orchestrator.jobs import Job, JobContext

log = logging.getLogger(__name__)

ERROR_ADDRESS = "/grym/error"
REQUIRED: Any = object()
#: Integers a route takes when it sets no narrower range: what SQLite and every OSC int type can hold.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Peer(Protocol):
    """Where replies for one client go. `key` identifies the client for subscriptions."""

    key: Hashable
    #: Largest reply payload this peer can take inline (None: no limit). Larger JSON goes to a file.
    max_payload: int | None
    #: Optional (UDP peers set it): True when subscriptions of this peer expire unless renewed.
    #: leased: bool

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
        if self.type is int and self.min is None and self.max is None and not INT64_MIN <= value <= INT64_MAX:
            raise BadRequest(f"argument '{self.name}' must fit in 64 bits (-2**63 to 2**63-1); got {value!r}")
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
            raise BadRequest(f"argument '{arg.name}' must be {_TYPE_WORDS.get(t, t.__name__)}; got {_shown(value)}") from None
    if t is dict:
        if isinstance(value, dict):
            return value
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError as exc:
                raise BadRequest(f"argument '{arg.name}' must be a JSON object: {exc.msg} at {exc.pos}") from None
            except RecursionError:
                raise BadRequest(f"argument '{arg.name}': JSON nested too deeply") from None
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
            if not isinstance(name, str) or name not in by_name:
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
        self.reply(self.router.json_payload(self.peer, obj, kind="reply"))

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
    #: When each leased (UDP) subscription lapses, by (property address, client key).
    _leases: dict[tuple[str, Hashable], float] = field(default_factory=dict)

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
                                doc=("Subscribe to (or renew a subscription to)" if verb == "start_listen" else "Unsubscribe from")
                                + f" {prop.doc or prop.name}.")])

    @property
    def limits(self) -> Any:
        """The `[server]` config section, read live (limits changed at run time apply to the next request)."""
        return self.services.config.server

    # -- dispatch -----------------------------------------------------------

    def dispatch(self, address: str, args: Sequence[Any], peer: Peer) -> None:
        """Handle one request (an address or an OSC address pattern); every failure becomes
        `/grym/error` to that peer. Never raises."""
        req_id = args[0] if args else ""
        try:
            if not is_pattern(address):
                route = self.routes.get(address)
                if route is None:
                    raise UnknownAddress(self._unknown_message(address))
                self._run(route, args, peer)
                return
            matches = self.match(address)
        except GrymError as exc:
            self.send_error(peer, address, req_id, exc)
            return
        for route in matches:  # each match answers on its own address, echoing the one request id
            try:
                self._run(route, args, peer)
            except GrymError as exc:
                self.send_error(peer, route.address, req_id, exc)

    def _run(self, route: Route, args: Sequence[Any], peer: Peer) -> None:
        req_id = args[0] if args else ""
        try:
            if not args:
                raise BadRequest(f"{route.address} needs a request id as its first argument ({route.signature()})")
            if not _valid_id(req_id):
                raise BadRequest(f"{route.address}: the request id must be an integer, a number or a string; "
                                 f"got {_kind(req_id)}")
            result = route.handler(Request(self, route, req_id, peer), **route.bind(args[1:]))
            if result is not None:
                peer.send(route.address, [req_id, *result])
        except GrymError:
            raise
        except RecursionError:
            raise MalformedMessage(f"{route.address}: an argument is nested too deeply") from None
        except Exception as exc:  # noqa: BLE001 - a real fault: one traceback, with the request it belongs to
            log.exception("handler for %s failed (request id %r from %s)", route.address, req_id,
                          getattr(peer, "key", "?"))
            self.send_error(peer, route.address, req_id, exc)

    def match(self, pattern: str) -> list[Route]:
        """The routes an OSC address pattern names (UnknownAddress when none, Busy past the bound)."""
        regex = compile_pattern(pattern)
        matches = [route for address, route in self.routes.items() if regex.match(address)]
        if not matches:
            raise UnknownAddress(f"the address pattern {pattern!r} matches no address; "
                                 "see the README's OSC reference or /grym/system/addresses")
        cap = int(getattr(self.limits, "max_pattern_matches", 64))
        if len(matches) > cap:
            raise BadRequest(f"the address pattern {pattern!r} matches {len(matches)} addresses, more than "
                             f"{cap} (server.max_pattern_matches); narrow the pattern")
        return matches

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
        """Subscribe once per client and property: a second start_listen renews the lease, never doubles."""
        subs = self.subscribers[prop.address]
        key = req.peer.key
        if key not in subs:
            self._prune(prop.address)
            cap = int(getattr(self.limits, "max_subscribers", 256))
            if len(subs) >= cap:
                raise Busy(f"{prop.address} has {len(subs)} subscribers, the most allowed "
                           f"(server.max_subscribers); try again later", retry_after_s=5.0)
        subs[key] = req.peer
        if getattr(req.peer, "leased", False):
            self._leases[(prop.address, key)] = time.monotonic() + float(
                getattr(self.limits, "subscription_lease_s", 300.0))
        return tuple(prop.getter(self.services))

    def _stop_listen(self, prop: Property, req: Request) -> tuple[Any, ...]:
        self.subscribers[prop.address].pop(req.peer.key, None)
        self._leases.pop((prop.address, req.peer.key), None)
        return ("ok",)

    def _prune(self, address: str) -> None:
        """Drop the subscriptions of `address` whose lease has lapsed (UDP clients that stopped renewing)."""
        now = time.monotonic()
        subs = self.subscribers.get(address, {})
        for key in [k for k in subs if self._leases.get((address, k), math.inf) < now]:
            subs.pop(key, None)
            self._leases.pop((address, key), None)

    def _live(self, address: str) -> list[tuple[Hashable, Peer]]:
        self._prune(address)
        return list(self.subscribers.get(address, {}).items())

    def publish(self, address: str, values: Sequence[Any], *, exclude: Hashable = None) -> None:
        """Send an update to every subscriber of the property at `address`."""
        for key, peer in self._live(address):
            if key != exclude:
                try:
                    peer.send(address, list(values))
                except Exception:  # noqa: BLE001 - a dead subscriber is dropped, the rest still hear
                    log.info("dropping subscriber %s of %s", key, address)
                    self.subscribers[address].pop(key, None)

    def forget(self, peer: Peer) -> None:
        """Drop every subscription of a peer that went away (a closed TCP connection)."""
        for address, subs in self.subscribers.items():
            subs.pop(peer.key, None)
            self._leases.pop((address, peer.key), None)

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
            p for k, p in self._live("/grym/job/progress") if owner is None or k != owner.key
        ]:
            out, where = list(values), address
            if event == "done":
                try:
                    out[1] = self.json_payload(peer, job.result, kind="job")
                except Exception as exc:  # noqa: BLE001 - the result file could not be written: say so, never go quiet
                    log.warning("job %s: its result could not be written for %s (%s)", job.id, peer.key, exc)
                    where, out = "/grym/job/error", [job.id, error_code(exc), error_message(exc)]
            elif address == "/grym/job/error":
                out[2] = self.text_payload(peer, str(out[2]), kind="job-error")
            try:
                peer.send(where, out)
            except Exception:  # noqa: BLE001
                log.info("could not deliver %s for job %s to %s", address, job.id, peer.key)

    def _result_file(self, kind: str, suffix: str, text: str) -> Path:
        """Write `text` to a results file the server names (never from a client's id: no two replies share one)."""
        assert self.results_dir is not None
        name = f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(6)}{suffix}"
        return atomic_write_text(self.results_dir / name, text)

    def json_payload(self, peer: Peer, obj: Any, *, kind: str = "reply") -> str:
        """`obj` as a JSON string, or `{"result_file": path}` when too large for one datagram."""
        text = dumps(obj)
        limit = peer.max_payload
        if limit is None or len(text.encode()) <= limit or self.results_dir is None:
            return text
        return dumps({"result_file": str(self._result_file(kind, ".json", text))})

    def text_payload(self, peer: Peer, text: str, *, kind: str) -> str:
        """`text`, or its start with a note naming the file that holds all of it when too large for the peer."""
        limit = peer.max_payload
        size = len(text.encode())
        if limit is None or size <= limit:
            return text
        where = "" if self.results_dir is None else f"; the full text is in {self._result_file(kind, '.txt', text)}"
        note = f" ... [truncated: {size} bytes{where}]"
        head = text.encode()[: max(0, limit - len(note.encode()))].decode("utf-8", "ignore")
        return head + note


def _bound(handler: Callable[..., Any], prop: Property) -> Callable[..., Any]:
    def call(req: Request) -> Any:
        return handler(prop, req)

    return call


def _valid_id(req_id: Any) -> bool:
    """A request id is an int, a finite number or a string (what every transport can echo)."""
    if isinstance(req_id, bool):
        return False
    if isinstance(req_id, int):
        return INT64_MIN <= req_id <= INT64_MAX
    return isinstance(req_id, str) or (isinstance(req_id, float) and math.isfinite(req_id))


def _shown(value: Any) -> str:
    """A value as an error message shows it: blobs by size, long text cut."""
    if isinstance(value, (bytes, bytearray)):
        return f"a blob of {len(value)} bytes"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _kind(value: Any) -> str:
    names = {bytes: "a blob", type(None): "nil", bool: "true/false", list: "an array", int: "an integer past 64 bits"}
    return names.get(type(value), type(value).__name__)


def _osc_safe_id(req_id: Any) -> Any:
    """The id as it can be echoed: an invalid id is answered as "" (the error says what it was)."""
    return req_id if _valid_id(req_id) else ""
