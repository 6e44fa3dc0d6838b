"""The laptop side of a studio network: a local OSC endpoint that forwards to a remote bridge.

`grym relay` listens where the DAW frontends expect the bridge (UDP,
127.0.0.1:9130 by default) and forwards every message over the msgpack RPC
to a bridge found with zeroconf (or named with `--to`). On the way it makes
file paths work across machines:

- a request argument naming a local file (an absolute path, also inside a
  JSON options object) is uploaded first (checked by size and hash, cached
  while unchanged) and replaced by the bridge's copy;
- a reply naming a file on the bridge (a render, a generated clip, a large
  result's `result_file`) is downloaded into the relay folder and replaced
  by the local path, so the DAW opens a file it can reach; a reply naming
  the bridge's copy of an upload gets the original local path back.

Each local client (IP and source port) gets its own RPC connection, so the
bridge keeps replies, jobs and subscriptions per client exactly as over
OSC. Messages from one client are forwarded in order; replies too. When
several bridges are found, a client connects to the healthiest with the
shortest queue; when its bridge disappears (zeroconf goodbye or a dropped
connection), its running jobs are reported as failed with `bridge_lost` and
its next request goes to another bridge.

With more than one bridge (found, or `--to A:PORT,B:PORT`), each job is routed
on its own (`relay/jobs.py`): to the bridge with the fewest of the relay's jobs,
then the healthiest, among those advertising the model the request names; the
client keeps one job id per job, and a job still queued on a bridge that goes
away is sent again to another.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from grym_bridge.files import atomic_write_json
from grym_bridge.errors import BadRequest, GrymError, MalformedMessage, NotFound
from grym_bridge.paths import PathPolicy
from grym_bridge.transports.auth import HELLO_ADDRESS
from grym_bridge.transports.discovery import BridgeBrowser, BridgeInfo, ranked
from grym_bridge.transports.osc.server import SAFE_DATAGRAM_BYTES, ReplyPorts, encode, parse
from grym_bridge.transports.rpc.client import RpcClient
from grym_bridge.transports.relay.jobs import JobTable, RelayJob
from grym_bridge.transports.rpc.files import safe_name

log = logging.getLogger(__name__)

STATUS_ADDRESS = "/grym/relay/status"
#: A bridge that failed is tried after the others for this long.
BAD_BRIDGE_S = 30.0
#: How long a client's first request waits for discovery to find a bridge.
FIND_TIMEOUT_S = 5.0
#: Messages one client may have waiting; more get a busy error (a DAW in a loop must not eat memory).
MAX_WAITING = 256
#: Downloaded JSON files up to this size have the bridge paths inside them made local too.
MAX_JSON_REWRITE = 16 * 1024 * 1024
#: A client silent this long, with no job running, has its bridge connection closed.
SESSION_IDLE_S = 600.0


@dataclass(frozen=True)
class Target:
    """A bridge's RPC endpoint."""

    name: str
    host: str
    port: int

    @classmethod
    def of(cls, info: BridgeInfo) -> "Target":
        return cls(info.name, info.address, info.rpc_port)


def parse_directs(to: str | None) -> list[Target]:
    """`HOST:PORT[,HOST:PORT...]`: bridges named directly (no discovery); [] for a name or address."""
    if not to or ":" not in to:
        return []
    return [t for part in to.split(",") if (t := parse_direct(part.strip())) is not None]


#: Requests that name a job by its id (the relay's id, turned into the bridge's on the way).
JOB_ID_REQUESTS = ("/grym/job/cancel", "/grym/job/status")
JOB_EVENTS = ("/grym/job/progress", "/grym/job/done", "/grym/job/error")


def job_addresses() -> set[str]:
    """Every address that runs as a job (from the api's route table)."""
    from grym_bridge.api import all_routes

    return {r.address for r in all_routes() if r.job}


def parse_direct(to: str | None) -> Target | None:
    """`HOST:PORT` names a bridge's RPC port directly (no discovery); anything else is a name or address."""
    if not to or ":" not in to:
        return None
    host, _, port = to.rpartition(":")
    if not port.isdigit() or not host:
        raise BadRequest(f"--to {to!r}: give NAME, HOST, or HOST:RPC_PORT (for example 10.0.0.5:9131)")
    return Target(to, host.strip("[]"), int(port))


async def rewrite_strings(value: Any, fn: Callable[[str], Awaitable[str | None]]) -> Any:
    """`value` with every string `fn` maps to a new one replaced, JSON object/array strings included."""
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                parsed = None
            if isinstance(parsed, (dict, list)):
                new = await rewrite_strings(parsed, fn)
                return json.dumps(new, separators=(",", ":"), ensure_ascii=False) if new != parsed else value
        replaced = await fn(value)
        return value if replaced is None else replaced
    if isinstance(value, list):
        return [await rewrite_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: await rewrite_strings(v, fn) for k, v in value.items()}
    return value


class _Session:
    """One local client: its RPC connection, its ordered inbox and outbox, its running jobs."""

    def __init__(self, relay: "Relay", ip: str, src_port: int) -> None:
        self.relay = relay
        self.ip, self.src_port = ip, src_port
        self.client: RpcClient | None = None  # the client's own bridge: every request that is not a routed job
        self.target: Target | None = None
        self.clients: dict[Target, RpcClient] = {}  # every bridge this client's jobs went to, its own included
        self.jobs: set[str] = set()
        self.inbox: asyncio.Queue[tuple[str, list[Any]]] = asyncio.Queue(MAX_WAITING)
        self.outbox: asyncio.Queue[tuple[Target | None, str, list[Any]]] = asyncio.Queue()
        self.last_used = time.monotonic()
        self.tasks = [asyncio.create_task(self._forward_loop()), asyncio.create_task(self._deliver_loop())]

    def send(self, address: str, args: list[Any]) -> None:
        self.relay.send_udp(encode(address, args), self.relay.reply_ports.destination(self.ip, self.src_port))

    def send_error(self, address: str, req_id: Any, exc: GrymError) -> None:
        self.send("/grym/error", [address, req_id if isinstance(req_id, (int, float, str)) else str(req_id),
                                  exc.code, exc.message])

    # -- requests: local client -> bridge ---------------------------------------------

    async def _forward_loop(self) -> None:
        while True:
            address, args = await self.inbox.get()
            self.last_used = time.monotonic()
            try:
                await self._forward(address, args)
            except GrymError as exc:
                self.send_error(address, args[0] if args else "", exc)
            except Exception as exc:  # noqa: BLE001 - one bad message never stops the relay
                log.exception("relay failed on %s", address)
                self.send_error(address, args[0] if args else "", GrymError(f"relay error: {exc}", code="internal"))

    async def _forward(self, address: str, args: list[Any]) -> None:
        if address == STATUS_ADDRESS:
            self.send(address, [args[0] if args else "", json.dumps(self.relay.status(self))])
            return
        if address == HELLO_ADDRESS and len(args) >= 2 and isinstance(args[1], (int, float)) and 0 < args[1] < 65536:
            self.relay.reply_ports.register(self.ip, self.src_port, int(args[1]))
        if address in self.relay.job_addresses and args and self.relay.spreads():
            await self._forward_job(RelayJob(address, list(args), self))
            return
        job = self.relay.jobs.local(args[1]) if address in JOB_ID_REQUESTS and len(args) >= 2 else None
        if job is not None and job.target in self.clients and job.remote_id is not None:
            job.cancel_asked = job.cancel_asked or address == "/grym/job/cancel"
            self.clients[job.target].send_osc(address, [args[0], job.remote_id, *args[2:]])  # its bridge, its id
            return
        client = await self._connection()
        assert self.target is not None
        self.clients[self.target] = client
        client.send_osc(address, await self._uploaded(args, client, self.target))

    async def _uploaded(self, args: list[Any], client: RpcClient, target: Target) -> list[Any]:
        """`args` with each local file replaced by `target`'s copy (uploaded first when needed)."""
        if not args:
            return []
        return [args[0], *[await rewrite_strings(a, lambda text: self._upload_if_local(text, client, target))
                           for a in args[1:]]]

    async def _upload_if_local(self, text: str, client: RpcClient, target: Target) -> str | None:
        if not os.path.isabs(text) or not os.path.isfile(text):
            return None
        path = self.relay.paths.check(text)
        stat = path.stat()
        key = (target, str(path), stat.st_size, stat.st_mtime_ns)
        cached = self.relay.uploaded.get(key)
        if cached is None:
            cached = (await client.upload(path)).path
            self.relay.uploaded[key] = cached
            self.relay.originals[cached] = str(path)
        return cached

    async def _forward_job(self, job: RelayJob) -> None:
        """Send `job` to the best bridge for it that it has not been tried on (see `Relay.job_targets`)."""
        failure: GrymError | None = None
        for target in await self.relay.job_targets(job):
            try:
                client = await self._client_for(target)
                forwarded = await self._uploaded(job.args, client, target)
            except GrymError as exc:  # unreachable, refused the token, or the upload failed
                log.info("bridge %s: %s", target.name, exc.message)
                self.relay.mark_bad(target)
                failure = exc
                continue
            self.relay.jobs.expect(target, job.args[0], job)
            client.send_osc(job.address, forwarded)
            return
        if job.local_id is not None:  # a queued job being moved: nowhere left to go
            self.relay.jobs.finish(job)
            self.jobs.discard(str(job.local_id))
            self.outbox.put_nowait((None, "/grym/job/error", [job.local_id, "bridge_lost",
                                                              "its bridge went away and no other bridge can take it; "
                                                              "run it again"]))
            return
        raise failure or NotFound("no grym bridge can take this job; start `grym serve --host 0.0.0.0` on a studio "
                                  "machine, or name bridges with `grym relay --to HOST:RPC_PORT,HOST:RPC_PORT`")

    async def _client_for(self, target: Target) -> RpcClient:
        client = self.clients.get(target)
        if client is not None and not client.closed.is_set():
            return client
        client = await RpcClient.connect(target.host, target.port, token=self.relay.token, client_name="grym relay",
                                         max_payload=SAFE_DATAGRAM_BYTES,
                                         on_osc=lambda a, v: self.outbox.put_nowait((target, a, v)))
        self.clients[target] = client
        self.tasks.append(asyncio.create_task(self._watch(client, target)))
        return client

    async def _connection(self) -> RpcClient:
        if self.client is not None and not self.client.closed.is_set():
            return self.client
        failure: GrymError | None = None
        for target in await self.relay.candidates():
            try:
                client = await self._client_for(target)
            except GrymError as exc:  # unreachable, or it refused the token
                log.info("bridge %s: %s", target.name, exc.message)
                self.relay.mark_bad(target)
                failure = exc
                continue
            self.client, self.target = client, target
            log.info("client %s:%d -> bridge %s (%s:%d)", self.ip, self.src_port, target.name, target.host, target.port)
            return client
        if failure is not None:
            raise failure
        raise NotFound("no grym bridge found on the network; start `grym serve --host 0.0.0.0` on the studio "
                       "machine, or name it with `grym relay --to HOST:RPC_PORT`")

    async def _watch(self, client: RpcClient, target: Target) -> None:
        await client.closed.wait()
        if self.clients.get(target) is client:
            self.drop("the connection to the bridge was lost", target)

    def drop(self, why: str, target: Target | None = None) -> None:
        """Forget a bridge (the client's own by default): its jobs still queued move to another bridge, its
        running ones fail with `bridge_lost`; the next request finds another bridge."""
        target = target or self.target
        if target is None:
            return
        client = self.clients.pop(target, None)
        if target == self.target:
            client = client or self.client
            self.client = self.target = None
        self.relay.mark_bad(target)
        for job in self.relay.jobs.on(target, self):
            self.relay.jobs.leave(job)
            if not job.started and job.address:
                self.tasks.append(asyncio.create_task(self._move(job)))
                continue
            self.relay.jobs.finish(job)
            self.jobs.discard(str(job.local_id))
            self.outbox.put_nowait((None, "/grym/job/error", [job.local_id, "bridge_lost",
                                                              f"bridge {target.name} went away ({why}); run it again"]))
        if client is not None:
            self.tasks.append(asyncio.create_task(client.close()))
        self.tasks = [t for t in self.tasks if not t.done()]

    async def _move(self, job: RelayJob) -> None:
        log.info("job %s was queued on %s, which went away: moving it", job.local_id, job.target)
        try:
            await self._forward_job(job)
        except GrymError as exc:
            self.outbox.put_nowait((None, "/grym/job/error", [job.local_id, exc.code, exc.message]))

    # -- replies: bridge -> local client ------------------------------------------------

    async def _deliver_loop(self) -> None:
        while True:
            target, address, args = await self.outbox.get()
            translated = self._job_ids(target, address, list(args))
            if translated is None:
                continue
            client = self.clients.get(target) if target is not None else None
            try:
                args = [await rewrite_strings(a, lambda text: self._download_if_remote(text, client)) for a in translated]
            except GrymError as exc:
                args = translated
                log.warning("could not fetch a result file for %s: %s", address, exc.message)
            self.send(address, args)

    def _job_ids(self, target: Target | None, address: str, args: list[Any]) -> list[Any] | None:
        """Bridge job ids -> the relay's; None for a reply the client must not see (a moved job's new queue)."""
        jobs = self.relay.jobs
        if target is None:
            return args
        if address == "/grym/job/queued" and len(args) >= 2:
            job, moved = jobs.queued(target, self, args[0], args[1])
            if moved:
                return None
            args[1] = job.local_id
            self.jobs.add(str(job.local_id))
        elif address in JOB_EVENTS and args and (job := jobs.remote(target, args[0])) is not None:
            if (address == "/grym/job/error" and len(args) > 1 and args[1] == "cancelled" and job.address
                    and not job.started and not job.cancel_asked):
                # A bridge stopping cancels what it had queued: move it, as if the bridge had vanished.
                jobs.leave(job)
                self.relay.mark_bad(target)
                self.tasks.append(asyncio.create_task(self._move(job)))
                return None
            args[0] = job.local_id
            if address == "/grym/job/progress":
                job.started = True
            else:
                jobs.finish(job)
                self.jobs.discard(str(job.local_id))
        elif address in JOB_ID_REQUESTS and len(args) >= 2 and (job := jobs.remote(target, args[1])) is not None:
            args[1] = job.local_id
        return args

    async def _download_if_remote(self, text: str, client: RpcClient | None) -> str | None:
        if client is None or not client.is_remote_file(text):
            return None
        if text in self.relay.originals:  # our own upload: the DAW knows it by its local path
            return self.relay.originals[text]
        local = self.relay.downloaded.get(text)
        if local is not None and local.is_file():
            return str(local)
        folder = self.relay.download_dir / hashlib.sha1(text.encode()).hexdigest()[:12]
        folder.mkdir(parents=True, exist_ok=True)
        stored = await client.download(text, folder / safe_name(os.path.basename(text)))
        self.relay.downloaded[text] = stored.path
        if stored.path.suffix == ".json" and stored.size <= MAX_JSON_REWRITE:
            await self._localize_json_file(stored.path, client)
        return str(stored.path)

    async def _localize_json_file(self, path: Path, client: RpcClient) -> None:
        """A downloaded result file names bridge files too: point those at local copies as well."""
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return
        local = await rewrite_strings(content, lambda text: self._download_if_remote(text, client))
        if local != content:
            atomic_write_json(path, local, indent=None)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for client in {id(c): c for c in (*self.clients.values(), self.client) if c is not None}.values():
            await client.close()


class _RelayProtocol(asyncio.DatagramProtocol):
    def __init__(self, relay: "Relay") -> None:
        self.relay = relay

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.relay.received(data, addr[0], addr[1])

    def error_received(self, exc: Exception) -> None:
        log.debug("relay udp error: %s", exc)


class Relay:
    """Listens for OSC on `host:port` and forwards it to the best (or the named) bridge."""

    def __init__(self, *, host: str, port: int, paths: PathPolicy, download_dir: Path, token: str | None,
                 to: str | None = None, interface: str | None = None, jobs: set[str] | None = None) -> None:
        """`jobs`: the addresses routed as jobs (default: every job of the api's route table)."""
        self.host, self.port = host, port
        self.paths = paths
        self.download_dir = download_dir
        self.token = token
        self.directs = parse_directs(to)
        self.direct = self.directs[0] if self.directs else None
        self.wanted = None if self.direct else to
        self.job_addresses = job_addresses() if jobs is None else set(jobs)
        self.jobs = JobTable()
        self.interface = interface
        self.reply_ports = ReplyPorts()
        self.sessions: dict[tuple[str, int], _Session] = {}
        self.uploaded: dict[tuple[Target, str, int, int], str] = {}
        self.downloaded: dict[str, Path] = {}
        self.originals: dict[str, str] = {}  # a bridge's copy of an upload -> the local file it came from
        self.browser: BridgeBrowser | None = None
        self._bad: dict[Target, float] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reaper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.download_dir.mkdir(parents=True, exist_ok=True)
        transport, _ = await self._loop.create_datagram_endpoint(lambda: _RelayProtocol(self),
                                                                 local_addr=(self.host, self.port))
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]
        if self.direct is None:
            loop = self._loop
            self.browser = BridgeBrowser(self.interface, on_change=lambda event, info: loop.call_soon_threadsafe(
                self._on_bridge_event, event, info))
            await asyncio.to_thread(self.browser.start)
        self._reaper = asyncio.create_task(self._reap_idle())

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(SESSION_IDLE_S / 10)
            now = time.monotonic()
            for key, session in list(self.sessions.items()):
                if not session.jobs and now - session.last_used > SESSION_IDLE_S:
                    del self.sessions[key]
                    await session.close()

    def received(self, data: bytes, ip: str, src_port: int) -> None:
        try:
            messages = parse(data)
        except MalformedMessage as exc:
            self.send_udp(encode("/grym/error", ["", "", exc.code, exc.message]), self.reply_ports.destination(ip, src_port))
            return
        session = self.sessions.get((ip, src_port))
        if session is None:
            session = self.sessions[(ip, src_port)] = _Session(self, ip, src_port)
        for address, args in messages:
            try:
                session.inbox.put_nowait((address, args))
            except asyncio.QueueFull:
                session.send_error(address, args[0] if args else "", GrymError(
                    f"the relay has {MAX_WAITING} messages from you waiting; slow down", code="busy"))

    def send_udp(self, data: bytes, destination: tuple[str, int]) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.sendto(data, destination)

    # -- choosing bridges ----------------------------------------------------------------------

    def mark_bad(self, target: Target) -> None:
        self._bad[target] = time.monotonic() + BAD_BRIDGE_S

    async def candidates(self) -> list[Target]:
        """Bridges to try, best first (one that just failed last); waits a little for discovery."""
        if self.directs:
            now = time.monotonic()
            return sorted(self.directs, key=lambda t: self._bad.get(t, 0) > now)
        assert self.browser is not None
        deadline = time.monotonic() + FIND_TIMEOUT_S
        while True:
            now = time.monotonic()
            found = [Target.of(b) for b in ranked(self.browser.bridges(), self.wanted)]
            if found or now >= deadline:
                return sorted(found, key=lambda t: self._bad.get(t, 0) > now)  # stable: keeps the ranking
            self.browser.changed.clear()
            await asyncio.to_thread(self.browser.changed.wait, min(0.5, deadline - now))

    def spreads(self) -> bool:
        """Whether jobs are routed one by one (more than one bridge to choose from)."""
        if self.directs:
            return len(self.directs) > 1
        return self.browser is not None and len(ranked(self.browser.bridges(), self.wanted)) > 1

    async def job_targets(self, job: RelayJob) -> list[Target]:
        """Bridges for `job`, best first: not tried for it yet, advertising every model it names (when any
        bridge advertises models), then the fewest of the relay's jobs, then discovery's ranking."""
        targets = [t for t in await self.candidates() if t not in job.tried]
        infos = {Target.of(b): b for b in self.browser.bridges()} if self.browser is not None else {}
        advertised = {m for b in infos.values() for m in b.models}
        needs = {a for a in job.args[1:] if isinstance(a, str) and a in advertised}
        if needs:
            targets = [t for t in targets if t in infos and needs <= set(infos[t].models)]
        now = time.monotonic()
        order = {t: i for i, t in enumerate(targets)}
        return sorted(targets, key=lambda t: (self._bad.get(t, 0) > now, self.jobs.load(t), order[t]))

    def _on_bridge_event(self, event: str, info: BridgeInfo) -> None:
        if event != "removed":
            return
        gone = Target.of(info)
        for session in self.sessions.values():
            if gone in session.clients or session.target == gone:
                session.drop(f"{info.name} stopped advertising", gone)

    def status(self, session: _Session) -> dict[str, Any]:
        """What `/grym/relay/status` answers: the bridge this client uses and the bridges known."""
        known = self.browser.bridges() if self.browser is not None else []
        return {
            "bridge": session.target.__dict__ if session.target else None,
            "connected": session.client is not None and not session.client.closed.is_set(),
            "known": [{"name": b.name, "address": b.address, "rpc_port": b.rpc_port, "health": b.health,
                       "queue": b.queue_depth} for b in known],
            "downloads": str(self.download_dir),
            "jobs": {str(i): t.name for i, t in self.jobs.placed().items() if t is not None},
        }

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for session in list(self.sessions.values()):
            await session.close()
        self.sessions.clear()
        if self.browser is not None:
            await asyncio.to_thread(self.browser.close)
        if self._transport is not None:
            self._transport.close()
