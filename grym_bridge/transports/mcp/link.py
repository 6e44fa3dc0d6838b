"""The MCP server's line to a bridge: OSC-shaped requests out, replies and job events back.

The MCP tools speak to the bridge exactly as a DAW does: a request with a
request id, then its reply, or `/grym/job/queued` and the job's progress, done
or error messages. `BridgeLink` keeps that conversation for any number of
tool calls at once: it matches replies to requests by request id and job
events to the tool call waiting on that job.

It does not know how the messages travel. `grym mcp` sends them over the
msgpack RPC to the running bridge (`send` is the RPC client's `send_osc`,
and the client's `on_osc` feeds `deliver`); the HTTP transport's `/mcp` and
`grym mcp --standalone` dispatch them to the router in this process
(`BridgeLink.in_process`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Hashable, Sequence

from grym_bridge.errors import GrymError

if TYPE_CHECKING:
    from grym_bridge.api.routes import Router

Sender = Callable[[str, list[Any]], None]

JOB_EVENTS = ("/grym/job/progress", "/grym/job/done", "/grym/job/error")
#: Outcomes of jobs nobody waits for (yet) that are kept: a done message may overtake its tool call.
MAX_UNCLAIMED = 64

_link_ids = itertools.count(1)


class BridgeError(GrymError):
    """A `/grym/error` reply or a failed job, with the bridge's code and message."""


@dataclass
class Reply:
    """The first answer to a request: a job id (the request became a job) or the reply's values."""

    address: str
    values: list[Any]
    job_id: int | None = None


@dataclass
class JobEvent:
    """One message about a job: progress (fraction, message), done (result) or error (code, message)."""

    kind: str
    fraction: float = 0.0
    message: str = ""
    result: Any = None
    code: str = ""


@dataclass
class JobWatch:
    """The events of one job, in order, for the tool call that waits on it."""

    job_id: int
    events: asyncio.Queue[JobEvent] = field(default_factory=asyncio.Queue)
    fraction: float = 0.0
    message: str = ""


class LinkPeer:
    """The router's `Peer` for an in-process link: every reply goes straight to `BridgeLink.deliver`."""

    #: Results stay inline: the MCP server hands them to its client as structured content.
    max_payload: int | None = None

    def __init__(self, link: "BridgeLink") -> None:
        self.key: Hashable = ("mcp", next(_link_ids))
        self._link = link

    def send(self, address: str, args: Sequence[Any]) -> None:
        self._link.deliver(address, list(args))


class BridgeLink:
    """Requests and job events of any number of concurrent tool calls over one bridge connection.

    Create it on the event loop that runs the MCP server; `deliver` may be
    called from any thread (job progress comes from worker threads).
    """

    def __init__(self, send: Sender | None = None, *, reply_timeout_s: float = 30.0) -> None:
        self._send: Sender | None = send
        self.reply_timeout_s = reply_timeout_s
        self.loop = asyncio.get_running_loop()
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        self._jobs: dict[int, JobWatch] = {}
        self._unclaimed: dict[int, JobEvent] = {}
        self.closed: str | None = None

    @classmethod
    def in_process(cls, router: "Router") -> "BridgeLink":
        """A link to the router of this process (the HTTP transport's `/mcp`, `grym mcp --standalone`)."""
        link = cls()
        peer = LinkPeer(link)
        link.attach(lambda address, args: router.dispatch(address, args, peer))
        return link

    def attach(self, send: Sender) -> None:
        """Say how requests travel (set after the connection that delivers replies exists)."""
        self._send = send

    # -- requests -----------------------------------------------------------------

    def send(self, address: str, values: Sequence[Any]) -> str:
        """Send a request with a fresh request id and return that id (no waiting for its reply)."""
        req_id = f"mcp-{next(self._ids)}"
        self._transmit(address, req_id, values)
        return req_id

    def _transmit(self, address: str, req_id: str, values: Sequence[Any]) -> None:
        if self._send is None or self.closed:
            raise BridgeError(self.closed or "the MCP server is not connected to a bridge", code="connection_lost")
        self._send(address, [req_id, *values])

    async def request(self, address: str, values: Sequence[Any] = ()) -> Reply:
        """Send a request and wait for its first answer; `/grym/error` is raised as `BridgeError`."""
        future: asyncio.Future[Reply] = self.loop.create_future()
        req_id = f"mcp-{next(self._ids)}"
        self._pending[req_id] = future  # before sending: an in-process reply arrives during the send
        try:
            self._transmit(address, req_id, values)
            return await asyncio.wait_for(future, self.reply_timeout_s)
        except (asyncio.TimeoutError, TimeoutError):
            raise BridgeError(f"{address} did not answer within {self.reply_timeout_s:g} s; is the bridge busy "
                              "or stuck? (grym health)", code="timeout") from None
        finally:
            self._pending.pop(req_id, None)

    def watch(self, job_id: int) -> JobWatch:
        """The event queue of a job this link started (made when its `/grym/job/queued` arrived)."""
        watch = self._jobs.get(job_id)
        if watch is None:
            watch = self._jobs[job_id] = JobWatch(job_id)
        early = self._unclaimed.pop(job_id, None)
        if early is not None:
            watch.events.put_nowait(early)
        return watch

    def release(self, job_id: int) -> None:
        """Stop collecting a job's events (its tool call returned; the model polls `job_status` now)."""
        self._jobs.pop(job_id, None)

    # -- replies --------------------------------------------------------------------

    def deliver(self, address: str, args: list[Any]) -> None:
        """One message from the bridge; safe from any thread."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._deliver(address, args)
        else:
            self.loop.call_soon_threadsafe(self._deliver, address, args)

    def lost(self, reason: str) -> None:
        """The connection closed: every waiting request and job fails with `reason`."""
        self.closed = reason
        error = BridgeError(reason, code="connection_lost")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        for watch in self._jobs.values():
            watch.events.put_nowait(JobEvent("error", code="connection_lost", message=reason))

    def _deliver(self, address: str, args: list[Any]) -> None:
        if address in JOB_EVENTS and args:
            self._job_event(address, args)
            return
        if address == "/grym/error":
            future = self._pending.get(str(args[1])) if len(args) > 1 else None
            if future is not None and not future.done():
                code, message = (str(args[2]), str(args[3])) if len(args) > 3 else ("error", "the bridge refused")
                future.set_exception(BridgeError(message, code=code))
            return
        future = self._pending.get(str(args[0])) if args else None
        if future is None or future.done():
            return  # a reply nobody waits for (a cancel sent on the way out)
        if address == "/grym/job/queued" and len(args) > 1:
            job_id = int(args[1])
            self.watch(job_id)  # now, before any of its events can arrive
            future.set_result(Reply(address, args[1:], job_id))
        else:
            future.set_result(Reply(address, args[1:]))

    def _job_event(self, address: str, args: list[Any]) -> None:
        job_id = int(args[0])
        if address == "/grym/job/progress":
            event = JobEvent("progress", fraction=float(args[1]) if len(args) > 1 else 0.0,
                             message=str(args[2]) if len(args) > 2 else "")
        elif address == "/grym/job/done":
            event = JobEvent("done", fraction=1.0, result=decode(args[1] if len(args) > 1 else None))
        else:
            event = JobEvent("error", code=str(args[1]) if len(args) > 1 else "error",
                             message=str(args[2]) if len(args) > 2 else "the job failed")
        watch = self._jobs.get(job_id)
        if watch is not None:
            if event.kind == "progress":
                watch.fraction, watch.message = event.fraction, event.message
            watch.events.put_nowait(event)
        elif event.kind != "progress":
            self._unclaimed[job_id] = event
            while len(self._unclaimed) > MAX_UNCLAIMED:
                self._unclaimed.pop(next(iter(self._unclaimed)))


def decode(value: Any) -> Any:
    """A reply value as data: JSON strings (objects, lists) become what they hold."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
