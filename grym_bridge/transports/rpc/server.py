"""The msgpack RPC server: the OSC address space over TCP, plus file upload and download.

Each connection is served by its own coroutine with its own bounded outgoing
queue, so a slow or dead peer only ever stalls itself: a reader that stops
reading is dropped once its queue passes `max_pending_bytes`, a frame that
stops half way times out, and every open upload of a closed connection is
deleted. A connection that has not said hello holds a pre-authentication
slot, apart from the `max_connections` of clients that did: when those slots
are full the oldest silent one is closed for the newcomer, so connections
that never speak cannot lock out a token holder. The accept loop's "out of
file descriptors" errors (asyncio backs off a second and retries) are logged
once per minute with a count, not once per retry. Requests go through the same `Router.dispatch` as OSC; only the peer
differs (`RpcPeer` frames replies as msgpack). See `grym_bridge.transports.rpc`
for the frame kinds.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from grym_bridge import __version__
from grym_bridge.config import NetworkConfig
from grym_bridge.errors import BadRequest, Busy, GrymError, MalformedMessage, MessageTooLarge, NotFound, PathNotAllowed
from grym_bridge.errors import error_code, error_message
from grym_bridge.transports.auth import Unauthorized, check_client
from grym_bridge.api.routes import Router
from grym_bridge.transports.rpc.framing import (
    PROTOCOL_VERSION,
    FrameProtocol,
    PeerClosed,
    pack_frame,
    send_file_frames,
)
from grym_bridge.transports.rpc.files import IncomingFile
from grym_bridge.transports.rpc.uploads import UploadStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RpcLimits:
    """What one connection may cost the server."""

    max_frame_bytes: int = 4 * 1024 * 1024
    max_upload_bytes: int = 2 * 1024**3
    max_connections: int = 32
    max_preauth_connections: int = 16
    idle_timeout_s: float = 600.0
    frame_timeout_s: float = 30.0
    hello_timeout_s: float = 5.0
    max_pending_bytes: int = 64 * 1024 * 1024
    max_open_transfers: int = 8

    @classmethod
    def from_config(cls, net: NetworkConfig) -> "RpcLimits":
        return cls(max_frame_bytes=net.max_frame_bytes, max_upload_bytes=net.max_upload_bytes,
                   max_connections=net.max_connections, max_preauth_connections=net.max_preauth_connections,
                   idle_timeout_s=net.idle_timeout_s, frame_timeout_s=net.frame_timeout_s,
                   hello_timeout_s=net.hello_timeout_s)

    @property
    def chunk_bytes(self) -> int:
        """Payload per data frame: 1 MiB, or less when frames are limited below that."""
        return max(512, min(1024 * 1024, self.max_frame_bytes - 256))


class ModelFiles(Protocol):
    """What the server needs to share model weights (grym_bridge.models.share.ModelShare); both calls block."""

    def manifest(self, model_id: Any) -> dict[str, Any]: ...

    def resolve(self, model_id: Any, rel: Any) -> Path: ...


class RpcPeer:
    """Replies for one RPC connection, framed as `{"t": "osc", "address", "args"}`."""

    def __init__(self, conn: "_Connection", number: int, max_payload: int | None) -> None:
        self._conn = conn
        self.key = ("rpc", conn.host, number)
        self.max_payload = max_payload

    def send(self, address: str, args: Sequence[Any]) -> None:
        self._conn.send({"t": "osc", "address": address, "args": list(args)})


class _Connection:
    """One client connection: reads frames, dispatches them, writes replies with flow control."""

    def __init__(self, server: "RpcServer", proto: FrameProtocol) -> None:
        self.server = server
        self.proto = proto
        self.host = proto.peer_host
        self.loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self.peer: RpcPeer | None = None
        self.uploads: dict[Any, IncomingFile] = {}
        self.failed: set[Any] = set()
        self.downloads: dict[Any, asyncio.Task[None]] = {}
        self.chunk_bytes = server.limits.chunk_bytes

    # -- writing --------------------------------------------------------------

    def send(self, frame: dict[str, Any]) -> None:
        """Send a frame; safe from any thread. A peer that lets replies pile up is dropped."""
        if threading.get_ident() != self._loop_thread:
            self.loop.call_soon_threadsafe(self.send, frame)
            return
        self.proto.write(pack_frame(frame))
        if self.proto.write_buffer_size() > self.server.limits.max_pending_bytes:
            log.info("rpc client %s is not reading its replies; closing", self.host)
            self.abort()

    def send_error(self, transfer_id: Any, exc: BaseException) -> None:
        self.send({"t": "error", "id": transfer_id, "code": error_code(exc), "message": error_message(exc)})

    def abort(self) -> None:
        if self.proto.transport is not None:
            self.proto.transport.abort()

    # -- reading ----------------------------------------------------------------

    async def run(self) -> None:
        limits = self.server.limits
        try:
            await self._handshake()
            while True:
                frame = await self.proto.next_frame(idle_timeout=limits.idle_timeout_s,
                                                    frame_timeout=limits.frame_timeout_s, busy=bool(self.uploads))
                if frame["t"] == "bye":
                    break
                await self._handle(frame)
        except PeerClosed:
            log.debug("rpc client %s closed the connection", self.host)
        except (MessageTooLarge, MalformedMessage, Unauthorized, Busy) as exc:
            log.info("rpc client %s: %s", self.host, exc)
            self.send_error(None, exc)
        except (TimeoutError, asyncio.TimeoutError):
            self.send_error(None, GrymError("no complete frame in time; closing the connection", code="timeout"))
        except Exception as exc:  # noqa: BLE001 - one broken connection never takes the server down
            log.exception("rpc connection from %s failed", self.host)
            self.send_error(None, exc)
        finally:
            self._cleanup()
            if self.proto.transport is not None:
                self.proto.transport.close()  # flushes what is queued (the error), then closes

    async def _handshake(self) -> None:
        limits = self.server.limits
        hello = await self.proto.next_frame(idle_timeout=limits.hello_timeout_s, frame_timeout=limits.hello_timeout_s)
        if hello["t"] != "hello":
            raise MalformedMessage(f"the first frame must be a hello (with the token), not {hello['t']!r}")
        check_client(self.host, hello.get("token"), self.server.token)
        self.server.admit(self.proto)  # from a pre-authentication slot to a client slot, or Busy
        max_payload = hello.get("max_payload")
        if not (max_payload is None or (isinstance(max_payload, int) and max_payload > 0)):
            raise MalformedMessage("hello field 'max_payload' must be a positive integer or nil")
        client_frame = hello.get("max_frame_bytes")
        if isinstance(client_frame, int) and client_frame >= 1024:
            self.chunk_bytes = min(self.chunk_bytes, client_frame - 256)  # downloads fit the client's frames
        self.peer = RpcPeer(self, next(self.server.numbers), max_payload)
        self.send({
            "t": "welcome", "v": PROTOCOL_VERSION, "server": self.server.name, "version": __version__,
            "limits": {"max_frame_bytes": limits.max_frame_bytes, "max_upload_bytes": limits.max_upload_bytes,
                       "chunk_bytes": self.chunk_bytes, "idle_timeout_s": limits.idle_timeout_s},
            "download_roots": [str(r) for r in self.server.download_roots],
        })

    async def _handle(self, frame: dict[str, Any]) -> None:
        kind, tid = frame["t"], frame.get("id")
        try:
            if kind in ("put", "data", "end", "get", "manifest") and (
                    not isinstance(tid, (int, str)) or isinstance(tid, bool)):
                raise BadRequest(f"a {kind} frame needs 'id': an integer or a string naming the transfer")
            if kind == "ping":
                return  # a keep-alive: reading it reset the idle timer
            if kind == "osc":
                address, args = frame.get("address"), frame.get("args", [])
                if not isinstance(address, str) or not isinstance(args, list):
                    raise BadRequest("an osc frame needs 'address' (a string) and 'args' (a list)")
                assert self.peer is not None
                self.server.router.dispatch(address, args, self.peer)
            elif kind == "put":
                if tid in self.uploads or tid in self.downloads:
                    raise BadRequest(f"transfer id {tid!r} is already in use on this connection")
                self._check_transfer_room()
                self.failed.discard(tid)
                self.uploads[tid] = self.server.uploads.begin(frame.get("name", ""), frame.get("size"))
            elif kind == "data":
                if tid in self.failed:
                    return  # the error was reported once; the rest of its chunks are dropped
                data = frame.get("data")
                if not isinstance(data, bytes):
                    raise BadRequest("a data frame needs 'data' as msgpack bin")
                upload = self._upload(tid)
                upload.write(data)
                await upload.wait_room()
            elif kind == "end":
                if tid in self.failed:
                    self.failed.discard(tid)
                    return
                stored = await self.server.uploads.finish(self._upload(tid), frame.get("blake3"))
                del self.uploads[tid]
                self.send({"t": "stored", "id": tid, "path": str(stored.path), "size": stored.size,
                           "blake3": stored.blake3})
            elif kind == "get":
                if tid in self.downloads or tid in self.uploads:
                    raise BadRequest(f"transfer id {tid!r} is already in use on this connection")
                self._check_transfer_room()
                if "model" in frame:  # a file of a model, for `grym models fetch` (walks its folder: off the loop)
                    models = self.server.model_files()
                    path = await asyncio.to_thread(models.resolve, frame["model"], frame.get("file"))
                else:
                    path = self.server.check_download(frame.get("path"))
                self.downloads[tid] = asyncio.create_task(self._download(tid, path))
            elif kind == "manifest":  # the files of a model this bridge has, with sizes and BLAKE3
                listing = await asyncio.to_thread(self.server.model_files().manifest, frame.get("model"))
                self.send({"t": "manifest", "id": tid, **listing})
            else:
                raise BadRequest(f"unknown frame kind {kind!r}; "
                                 "expected osc, put, data, end, get, manifest, ping or bye")
        except GrymError as exc:
            upload = self.uploads.pop(tid, None) if isinstance(tid, (int, str)) else None
            if upload is not None:
                upload.abort()
                self.failed.add(tid)
            self.send_error(tid, exc)

    def _upload(self, tid: Any) -> IncomingFile:
        upload = self.uploads.get(tid)
        if upload is None:
            raise BadRequest(f"no upload with id {tid!r} is open; start one with a put frame")
        return upload

    def _check_transfer_room(self) -> None:
        if len(self.uploads) + len(self.downloads) >= self.server.limits.max_open_transfers:
            raise Busy(f"at most {self.server.limits.max_open_transfers} transfers per connection at once")

    async def _download(self, tid: Any, path: Path) -> None:
        """Send a file as file, data..., end frames, pausing while the peer's buffer is full."""
        try:
            self.send({"t": "file", "id": tid, "name": path.name, "size": path.stat().st_size})
            sent, digest = await send_file_frames(self.proto, tid, path, self.chunk_bytes,
                                                  drain_timeout=self.server.limits.frame_timeout_s)
            self.send({"t": "end", "id": tid, "size": sent, "blake3": digest})
        except OSError as exc:
            self.send_error(tid, NotFound(f"{path} could not be read: {exc.strerror or exc}"))
        except (TimeoutError, asyncio.TimeoutError):
            log.info("rpc client %s stopped reading a download; closing", self.host)
            self.abort()
        finally:
            self.downloads.pop(tid, None)

    def _cleanup(self) -> None:
        """Nothing partial is kept: open uploads are deleted, downloads stop, subscriptions go."""
        for upload in self.uploads.values():
            upload.abort()
        self.uploads.clear()
        for task in self.downloads.values():
            task.cancel()
        if self.peer is not None:
            self.server.router.forget(self.peer)


class RpcServer:
    """Listens for RPC connections on one host and port."""

    def __init__(
        self,
        router: Router,
        host: str,
        port: int,
        *,
        token: str | None,
        uploads: UploadStore,
        download_roots: Sequence[Path],
        limits: RpcLimits = RpcLimits(),
        name: str = "grym-bridge",
        models: ModelFiles | None = None,
    ) -> None:
        self.router = router
        self.host = host
        self.port = port
        self.token = token
        self.uploads = uploads
        self.download_roots = [Path(r).resolve() for r in download_roots]
        self.limits = limits
        self.name = name
        self.models = models
        self.numbers = itertools.count(1)
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._preauth: dict[FrameProtocol, None] = {}  # insertion order: the oldest silent connection first
        self._authed: set[FrameProtocol] = set()
        self._evicted = _Throttled("rpc: pre-authentication slots full (network.max_preauth_connections=%d); "
                                   "closed %d silent connection(s) for newcomers")

    async def start(self) -> None:
        _install_accept_filter()
        self.uploads.clear_partials()
        self.uploads.sweep()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: FrameProtocol(self.limits.max_frame_bytes, on_connect=self._accept),
            self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop accepting and close every connection (their open uploads are deleted)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    @property
    def preauth_count(self) -> int:
        return len(self._preauth)

    def _accept(self, proto: FrameProtocol) -> None:
        """A new connection takes a pre-authentication slot; when they are full the oldest silent one goes."""
        while len(self._preauth) >= self.limits.max_preauth_connections:
            oldest = next(iter(self._preauth))
            del self._preauth[oldest]
            self._evicted.hit(self.limits.max_preauth_connections)
            if oldest.transport is not None:
                oldest.transport.abort()
        self._preauth[proto] = None
        task = asyncio.get_running_loop().create_task(self._serve(proto))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    def admit(self, proto: FrameProtocol) -> None:
        """Move a connection that said hello (token checked) into a client slot, or raise `Busy`."""
        self._preauth.pop(proto, None)
        if len(self._authed) >= self.limits.max_connections:
            raise Busy(f"the bridge serves at most {self.limits.max_connections} RPC clients "
                       "(network.max_connections); try again later")
        self._authed.add(proto)

    async def _serve(self, proto: FrameProtocol) -> None:
        try:
            await _Connection(self, proto).run()
        except asyncio.CancelledError:
            if proto.transport is not None:
                proto.transport.abort()
        finally:
            self._preauth.pop(proto, None)
            self._authed.discard(proto)

    def model_files(self) -> "ModelFiles":
        """The model files this bridge shares, or `NotFound` when it shares none."""
        if self.models is None:
            raise NotFound("this bridge shares no model weights")
        return self.models

    def check_download(self, path: Any) -> Path:
        """A file a client may download: an existing file under the download roots."""
        if not isinstance(path, str) or not path or "\x00" in path:
            raise BadRequest("a get frame needs 'path': the server-side path a reply named")
        resolved = Path(path).resolve()
        if not any(resolved.is_relative_to(root) for root in self.download_roots):
            roots = ", ".join(map(str, self.download_roots))
            raise PathNotAllowed(f"{path} cannot be downloaded: only files under {roots} can")
        if not resolved.is_file():
            raise NotFound(f"{path} does not exist on the bridge (it may have been cleaned up); run the request again")
        return resolved


class _Throttled:
    """A warning logged at most once per `interval_s`, with how many times it happened meanwhile."""

    def __init__(self, template: str, interval_s: float = 60.0) -> None:
        self.template = template
        self.interval_s = interval_s
        self.count = 0
        self._last = -float("inf")

    def hit(self, *args: Any) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            log.warning(self.template, *args, self.count)
            self.count = 0


class _AcceptErrorFilter(logging.Filter):
    """asyncio logs "socket.accept() out of system resource" with a traceback on every retry (each second
    while descriptors run out); let one through per minute, without the traceback, with a count."""

    MARK = "out of system resource"

    def __init__(self, interval_s: float = 60.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._last = -float("inf")
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if self.MARK not in str(record.msg):
            return True
        now = time.monotonic()
        if now - self._last < self.interval_s:
            self._dropped += 1
            return False
        self._last = now
        record.msg = (f"a listening socket could not accept a connection: out of file descriptors or memory "
                      f"(the server retries each second; {self._dropped} more since the last note); raise "
                      "`ulimit -n` or lower network.max_connections")
        record.args = ()
        record.exc_info = record.exc_text = None
        self._dropped = 0
        return True


def _install_accept_filter() -> None:
    logger = logging.getLogger("asyncio")
    if not any(isinstance(f, _AcceptErrorFilter) for f in logger.filters):
        logger.addFilter(_AcceptErrorFilter())
