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
        self.client: RpcClient | None = None
        self.target: Target | None = None
        self.jobs: set[str] = set()
        self.inbox: asyncio.Queue[tuple[str, list[Any]]] = asyncio.Queue(MAX_WAITING)
        self.outbox: asyncio.Queue[tuple[str, list[Any]]] = asyncio.Queue()
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
        client = await self._connection()
        forwarded = [args[0], *[await rewrite_strings(a, self._upload_if_local) for a in args[1:]]] if args else []
        client.send_osc(address, forwarded)

    async def _upload_if_local(self, text: str) -> str | None:
        if not os.path.isabs(text) or not os.path.isfile(text):
            return None
        assert self.client is not None and self.target is not None
        path = self.relay.paths.check(text)
        stat = path.stat()
        key = (self.target, str(path), stat.st_size, stat.st_mtime_ns)
        cached = self.relay.uploaded.get(key)
        if cached is None:
            cached = (await self.client.upload(path)).path
            self.relay.uploaded[key] = cached
            self.relay.originals[cached] = str(path)
        return cached

    async def _connection(self) -> RpcClient:
        if self.client is not None and not self.client.closed.is_set():
            return self.client
        failure: GrymError | None = None
        for target in await self.relay.candidates():
            try:
                client = await RpcClient.connect(target.host, target.port, token=self.relay.token,
                                                 client_name="grym relay", max_payload=SAFE_DATAGRAM_BYTES,
                                                 on_osc=lambda a, v: self.outbox.put_nowait((a, v)))
            except GrymError as exc:  # unreachable, or it refused the token
                log.info("bridge %s: %s", target.name, exc.message)
                self.relay.mark_bad(target)
                failure = exc
                continue
            self.client, self.target = client, target
            self.tasks.append(asyncio.create_task(self._watch(client)))
            log.info("client %s:%d -> bridge %s (%s:%d)", self.ip, self.src_port, target.name, target.host, target.port)
            return client
        if failure is not None:
            raise failure
        raise NotFound("no grym bridge found on the network; start `grym serve --host 0.0.0.0` on the studio "
                       "machine, or name it with `grym relay --to HOST:RPC_PORT`")

    async def _watch(self, client: RpcClient) -> None:
        await client.closed.wait()
        if client is self.client:
            self.drop("the connection to the bridge was lost")

    def drop(self, why: str) -> None:
        """Forget the bridge: its running jobs fail with `bridge_lost`; the next request finds another bridge."""
        client, target = self.client, self.target
        self.client = self.target = None
        if target is not None:
            self.relay.mark_bad(target)
        for job_id in sorted(self.jobs):
            self.outbox.put_nowait(("/grym/job/error", [job_id, "bridge_lost",
                                                        f"bridge {target.name if target else '?'} went away ({why}); run it again"]))
        self.jobs.clear()
        if client is not None:
            self.tasks.append(asyncio.create_task(client.close()))
        self.tasks = [t for t in self.tasks if not t.done()]

    # -- replies: bridge -> local client ------------------------------------------------

    async def _deliver_loop(self) -> None:
        while True:
            address, args = await self.outbox.get()
            try:
                args = [await rewrite_strings(a, self._download_if_remote) for a in args]
            except GrymError as exc:
                args = list(args)
                log.warning("could not fetch a result file for %s: %s", address, exc.message)
            self._track_jobs(address, args)
            self.send(address, args)

    def _track_jobs(self, address: str, args: list[Any]) -> None:
        if address == "/grym/job/queued" and len(args) >= 2:
            self.jobs.add(str(args[1]))
        elif address in ("/grym/job/done", "/grym/job/error") and args:
            self.jobs.discard(str(args[0]))

    async def _download_if_remote(self, text: str) -> str | None:
        client = self.client
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
            await self._localize_json_file(stored.path)
        return str(stored.path)

    async def _localize_json_file(self, path: Path) -> None:
        """A downloaded result file names bridge files too: point those at local copies as well."""
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return
        local = await rewrite_strings(content, self._download_if_remote)
        if local != content:
            atomic_write_json(path, local, indent=None)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.client is not None:
            await self.client.close()


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
                 to: str | None = None, interface: str | None = None) -> None:
        self.host, self.port = host, port
        self.paths = paths
        self.download_dir = download_dir
        self.token = token
        self.direct = parse_direct(to)
        self.wanted = None if self.direct else to
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
        if self.direct is not None:
            return [self.direct]
        assert self.browser is not None
        deadline = time.monotonic() + FIND_TIMEOUT_S
        while True:
            now = time.monotonic()
            found = [Target.of(b) for b in ranked(self.browser.bridges(), self.wanted)]
            if found or now >= deadline:
                return sorted(found, key=lambda t: self._bad.get(t, 0) > now)  # stable: keeps the ranking
            self.browser.changed.clear()
            await asyncio.to_thread(self.browser.changed.wait, min(0.5, deadline - now))

    def _on_bridge_event(self, event: str, info: BridgeInfo) -> None:
        if event != "removed":
            return
        gone = Target.of(info)
        for session in self.sessions.values():
            if session.target == gone:
                session.drop(f"{info.name} stopped advertising")

    def status(self, session: _Session) -> dict[str, Any]:
        """What `/grym/relay/status` answers: the bridge this client uses and the bridges known."""
        known = self.browser.bridges() if self.browser is not None else []
        return {
            "bridge": session.target.__dict__ if session.target else None,
            "connected": session.client is not None and not session.client.closed.is_set(),
            "known": [{"name": b.name, "address": b.address, "rpc_port": b.rpc_port, "health": b.health,
                       "queue": b.queue_depth} for b in known],
            "downloads": str(self.download_dir),
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
