"""The RPC client: requests, job results, uploads and downloads over one connection.

Used by `grym relay` and by any tool that wants the bridge from another
machine::

    client = await RpcClient.connect("10.0.0.5", 9131, token=token)
    stored = await client.upload("loop.wav")          # the bridge's copy
    queued = await client.request("/grym/analyze/file", stored.path)
    result = await client.wait_job(queued[1])
    await client.close()

Every incoming OSC message also goes to `on_osc(address, args)` when given,
which is how the relay forwards replies and job events to its DAW.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grym_bridge.errors import GrymError, MalformedMessage
from grym_bridge.transports.rpc.framing import (
    PROTOCOL_VERSION,
    PeerClosed,
    FrameProtocol,
    pack_frame,
    send_file_frames,
)
from grym_bridge.transports.rpc.files import IncomingFile, StoredFile, safe_name

OscHandler = Callable[[str, list[Any]], None]


class ConnectionLost(GrymError):
    """The connection to the bridge closed; what was in flight on it is lost."""

    code = "connection_lost"


@dataclass(frozen=True)
class RemoteFile:
    """A file on the bridge: its path there, size and BLAKE3."""

    path: str
    size: int
    blake3: str


class _Download:
    """A download in progress: its destination, its future, and the file once `file` arrived."""

    def __init__(self, dest: Path, future: asyncio.Future[StoredFile]) -> None:
        self.dest = dest
        self.future = future
        self.incoming: IncomingFile | None = None

    def start(self, size: int) -> None:
        partial = self.dest.with_name(f".{self.dest.name}.{secrets.token_hex(4)}.part")
        self.incoming = IncomingFile(partial, size, self.dest.name, f"download of {self.dest.name}")

    async def finish(self, blake3: object) -> None:
        if self.incoming is None:
            raise MalformedMessage("the bridge sent a download's end before its start")
        stored = await self.incoming.finish(blake3, self.dest)
        if not self.future.done():
            self.future.set_result(stored)

    def abort(self, exc: BaseException) -> None:
        if self.incoming is not None:
            self.incoming.abort()
        if not self.future.done():
            self.future.set_exception(exc)


class RpcClient:
    """One connection to a bridge's RPC port. Create it with `await RpcClient.connect(...)`."""

    def __init__(self, proto: FrameProtocol, welcome: dict[str, Any], on_osc: OscHandler | None) -> None:
        self._proto = proto
        self.welcome = welcome
        self.on_osc = on_osc
        limits = welcome.get("limits", {})
        self.chunk_bytes = int(limits.get("chunk_bytes", 256 * 1024))
        self.download_roots: list[str] = list(welcome.get("download_roots", []))
        self.closed = asyncio.Event()
        self.error: GrymError | None = None
        self._ids = itertools.count(1)
        self._requests: dict[Any, asyncio.Future[list[Any]]] = {}
        self._jobs: dict[str, asyncio.Future[Any]] = {}
        self._finished_jobs: dict[str, tuple[bool, Any]] = {}
        self._transfers: dict[int, asyncio.Future[Any]] = {}
        self._downloads: dict[int, _Download] = {}
        self._task = asyncio.create_task(self._read_loop())
        idle = float(limits.get("idle_timeout_s", 600.0))
        self._keepalive = asyncio.create_task(self._ping_every(max(0.05, idle / 3)))

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        token: str | None = None,
        client_name: str = "grym",
        max_payload: int | None = None,
        on_osc: OscHandler | None = None,
        timeout: float = 10.0,
        max_frame_bytes: int = 16 * 1024 * 1024,
    ) -> "RpcClient":
        """Connect, present the token, and wait for the bridge's welcome (or its refusal)."""
        loop = asyncio.get_running_loop()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(lambda: FrameProtocol(max_frame_bytes), host, port), timeout)
        except (OSError, asyncio.TimeoutError, TimeoutError) as exc:
            raise ConnectionLost(f"cannot reach the bridge's RPC port at {host}:{port} ({exc or 'timed out'}); "
                                 "is `grym serve` running there?") from None
        proto.write(pack_frame({"t": "hello", "v": PROTOCOL_VERSION, "token": token, "client": client_name,
                                "max_payload": max_payload, "max_frame_bytes": max_frame_bytes}))
        try:
            welcome = await proto.next_frame(idle_timeout=timeout, frame_timeout=timeout)
        except (GrymError, PeerClosed, asyncio.TimeoutError, TimeoutError) as exc:
            proto.close()
            raise ConnectionLost(f"the bridge at {host}:{port} closed the connection during the hello ({exc!r})") from None
        if welcome["t"] == "error":
            proto.close()
            raise GrymError(str(welcome.get("message")), code=str(welcome.get("code", "error")))
        return cls(proto, welcome, on_osc)

    # -- sending ----------------------------------------------------------------

    def _send(self, frame: dict[str, Any]) -> None:
        if self.closed.is_set():
            raise self.error or ConnectionLost("the connection to the bridge is closed")
        self._proto.write(pack_frame(frame))

    def send_osc(self, address: str, args: list[Any]) -> None:
        """Send one OSC-shaped request; its replies arrive through `on_osc`."""
        self._send({"t": "osc", "address": address, "args": list(args)})

    async def request(self, address: str, *args: Any, timeout: float = 30.0) -> list[Any]:
        """Send a request with a fresh req_id and return its first reply's arguments (req_id first)."""
        req_id = f"rpc-{next(self._ids)}"
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._requests[req_id] = future
        try:
            self.send_osc(address, [req_id, *args])
            await self._proto.drain()
            return await asyncio.wait_for(future, timeout)
        finally:
            self._requests.pop(req_id, None)

    async def wait_job(self, job_id: str | int, timeout: float = 300.0) -> Any:
        """The result of a job this connection started (parsed from JSON), or its error raised."""
        job_id = str(job_id)  # ids travel as OSC ints or strings
        if job_id in self._finished_jobs:
            ok, value = self._finished_jobs.pop(job_id)
        else:
            future = self._jobs.setdefault(job_id, asyncio.get_running_loop().create_future())
            try:
                ok, value = await asyncio.wait_for(asyncio.shield(future), timeout)
            finally:
                self._jobs.pop(job_id, None)
        if not ok:
            raise value
        return value

    async def upload(self, path: str | os.PathLike[str], *, name: str | None = None) -> RemoteFile:
        """Stream a local file to the bridge in chunks; return the bridge's checked copy."""
        source = Path(path)
        size = source.stat().st_size
        tid = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._transfers[tid] = future
        try:
            self._send({"t": "put", "id": tid, "name": safe_name(name or source.name), "size": size})
            _, digest = await send_file_frames(self._proto, tid, source, self.chunk_bytes, stop=future.done)
            if not future.done():
                self._send({"t": "end", "id": tid, "blake3": digest})
            stored = await future
        finally:
            self._transfers.pop(tid, None)
        return RemoteFile(stored["path"], int(stored["size"]), stored["blake3"])

    async def download(self, remote_path: str, dest: str | os.PathLike[str]) -> StoredFile:
        """Fetch a bridge-side file into `dest` (a folder, or a file path); checked by size and hash."""
        target = Path(dest)
        if target.is_dir():
            target = target / safe_name(os.path.basename(remote_path))
        tid = next(self._ids)
        future: asyncio.Future[StoredFile] = asyncio.get_running_loop().create_future()
        self._downloads[tid] = _Download(target, future)
        try:
            self._send({"t": "get", "id": tid, "path": remote_path})
            return await future
        finally:
            self._downloads.pop(tid, None)

    async def model_manifest(self, model_id: str, timeout: float = 600.0) -> dict[str, Any]:
        """The bridge's list of `model_id`'s files: `{model, files: [{path, size, blake3}], size}`."""
        tid = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._transfers[tid] = future
        try:
            self._send({"t": "manifest", "id": tid, "model": model_id})
            return dict(await asyncio.wait_for(future, timeout))  # the bridge may hash gigabytes first
        finally:
            self._transfers.pop(tid, None)

    async def download_model_file(self, model_id: str, rel: str, dest: str | os.PathLike[str]) -> StoredFile:
        """Fetch file `rel` of the bridge's `model_id` into the file `dest`; checked by size and hash."""
        tid = next(self._ids)
        future: asyncio.Future[StoredFile] = asyncio.get_running_loop().create_future()
        self._downloads[tid] = _Download(Path(dest), future)
        try:
            self._send({"t": "get", "id": tid, "model": model_id, "file": rel})
            return await future
        finally:
            self._downloads.pop(tid, None)

    def is_remote_file(self, text: str) -> bool:
        """Whether `text` names a file under the bridge's download roots (a path a reply may carry)."""
        return any(text == root or text.startswith(root.rstrip("/") + "/") for root in self.download_roots)

    async def close(self) -> None:
        if not self.closed.is_set():
            with contextlib.suppress(GrymError, ConnectionError, asyncio.TimeoutError, TimeoutError):
                self._send({"t": "bye"})  # a courtesy: the bridge cleans up the same without it
                await self._proto.drain(2.0)
        self._proto.close()
        if not self._task.done():
            await asyncio.wait_for(asyncio.shield(self._task), 5.0)

    async def _ping_every(self, interval: float) -> None:
        """Keep the connection open while jobs run and nothing else is sent (the bridge closes idle ones)."""
        while not self.closed.is_set():
            await asyncio.sleep(interval)
            try:
                self._send({"t": "ping"})
            except GrymError:
                return

    # -- receiving ------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reason: GrymError = ConnectionLost("the bridge closed the connection")
        try:
            while True:
                frame = await self._proto.next_frame(idle_timeout=None, frame_timeout=60.0)
                fatal = await self._handle(frame)
                if fatal is not None:
                    reason = fatal
        except PeerClosed:
            reason = ConnectionLost("the bridge closed the connection")
        except GrymError as exc:
            reason = exc
        except (ConnectionError, OSError, asyncio.TimeoutError, TimeoutError) as exc:
            reason = ConnectionLost(f"the connection to the bridge broke: {exc!r}")
        finally:
            self.error = reason
            self.closed.set()
            self._keepalive.cancel()
            for fut in [*self._requests.values(), *self._transfers.values()]:
                if not fut.done():
                    fut.set_exception(reason)
            for job_future in self._jobs.values():
                if not job_future.done():
                    job_future.set_result((False, reason))
            for download in list(self._downloads.values()):
                download.abort(reason)
            self._proto.close()

    async def _handle(self, frame: dict[str, Any]) -> GrymError | None:
        kind, tid = frame["t"], frame.get("id")
        if kind == "osc":
            self._on_osc(str(frame.get("address", "")), list(frame.get("args", [])))
        elif kind in ("stored", "manifest") and tid in self._transfers:
            self._transfers[tid].set_result(frame)
        elif kind in ("file", "data", "end") and tid in self._downloads:
            download = self._downloads[tid]
            try:
                if kind == "file":
                    download.start(int(frame.get("size", -1)))
                elif download.incoming is None:
                    raise MalformedMessage("the bridge sent download data before its start")
                elif kind == "data":
                    download.incoming.write(frame["data"])
                    await download.incoming.wait_room()
                else:
                    await download.finish(frame.get("blake3"))
            except GrymError as exc:
                download.abort(exc)
        elif kind == "error":
            exc = GrymError(str(frame.get("message", "")), code=str(frame.get("code", "error")))
            if tid is None:
                return exc  # the server is about to close the connection
            if tid in self._transfers and not self._transfers[tid].done():
                self._transfers[tid].set_exception(exc)
            elif tid in self._downloads:
                self._downloads[tid].abort(exc)
        return None

    def _on_osc(self, address: str, args: list[Any]) -> None:
        if self.on_osc is not None:
            self.on_osc(address, args)
        if address == "/grym/error" and len(args) >= 4:
            future = self._requests.get(args[1])
            if future is not None and not future.done():
                future.set_exception(GrymError(str(args[3]), code=str(args[2])))
        elif address in ("/grym/job/done", "/grym/job/error") and args:
            job_id = str(args[0])
            if address == "/grym/job/done":
                outcome: tuple[bool, Any] = (True, _maybe_json(args[1] if len(args) > 1 else None))
            else:
                outcome = (False, GrymError(str(args[2]) if len(args) > 2 else "job failed",
                                            code=str(args[1]) if len(args) > 1 else "error"))
            future = self._jobs.get(job_id)
            if future is not None and not future.done():
                future.set_result(outcome)
            else:
                self._finished_jobs[job_id] = outcome
                while len(self._finished_jobs) > 256:  # nobody waited for these; keep the newest
                    self._finished_jobs.pop(next(iter(self._finished_jobs)))
        elif args:
            future = self._requests.get(args[0])
            if future is not None and not future.done():
                future.set_result(args)


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
