"""Length-prefixed msgpack frames: a 4-byte big-endian length, then one msgpack map.

Every frame is a map with a string `t` (its kind). Reading checks the declared
length against the limit BEFORE reading the body, so an oversized frame costs
the server four bytes, never memory; a frame that stops half way or that is
not msgpack raises a `GrymError` the caller turns into a closed connection.
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from pathlib import Path
from typing import Any, Callable

import blake3
import msgpack

from grym_bridge.errors import MalformedMessage, MessageTooLarge
from grym_bridge.results import to_jsonable

HEADER = struct.Struct(">I")
PROTOCOL_VERSION = 1
_PACKER = msgpack.Packer(use_bin_type=True)


def new_hasher() -> Any:
    """The hash that checks transfers: BLAKE3, about 5x faster than SHA-256 here (bench/rpc.py's budget)."""
    return blake3.blake3()


class PeerClosed(Exception):
    """The peer closed the connection cleanly between two frames."""


def _plain(value: Any) -> Any:
    """msgpack's fallback for values it does not know (numpy scalars, paths, dataclasses)."""
    plain = to_jsonable(value)
    return str(plain) if plain is value else plain


def pack_frame(obj: dict[str, Any]) -> bytes:
    """One frame: length prefix and msgpack body (bytes stay bytes: `use_bin_type`)."""
    body = msgpack.packb(obj, use_bin_type=True, default=_plain)
    return HEADER.pack(len(body)) + body


def data_frame_prefix(transfer_id: Any, size: int) -> bytes:
    """Length prefix and msgpack head of `{"t": "data", "id": transfer_id, "data": <size bytes>}`.

    Written before the payload itself, the frame is plain msgpack on the wire,
    but the payload is never copied into a packed body (see bench/rpc.py).
    """
    head = b"".join((
        _PACKER.pack_map_header(3), _PACKER.pack("t"), _PACKER.pack("data"), _PACKER.pack("id"),
        _PACKER.pack(transfer_id), _PACKER.pack("data"), _bin_header(size),
    ))
    return HEADER.pack(len(head) + size) + head


async def send_file_frames(proto: "FrameProtocol", transfer_id: Any, path: Path, chunk: int,
                           stop: Callable[[], bool] = lambda: False,
                           drain_timeout: float | None = None) -> tuple[int, str]:
    """Send a file as data frames; return the bytes sent and their BLAKE3 (hex).

    One reused buffer: each chunk is read into it, hashed, and handed to the
    transport, which sends what it can at once and copies only the rest.
    (`loop.sendfile` was 3x slower here: it waits for an empty buffer per chunk.)
    """
    digest = new_hasher()
    buffer = memoryview(bytearray(chunk))
    sent = 0
    with path.open("rb", buffering=0) as fh:
        while not stop() and (n := fh.readinto(buffer)):
            digest.update(buffer[:n])
            proto.write(data_frame_prefix(transfer_id, n))
            proto.write(buffer[:n])
            sent += n
            await proto.drain(drain_timeout)
    return sent, digest.hexdigest()


def _bin_header(size: int) -> bytes:
    # msgpack's bin 8/16/32 headers; msgpack-python has no public packer for them.
    if size < 1 << 8:
        return b"\xc4" + size.to_bytes(1, "big")
    if size < 1 << 16:
        return b"\xc5" + size.to_bytes(2, "big")
    return b"\xc6" + size.to_bytes(4, "big")


def unpack_body(body: bytes) -> dict[str, Any]:
    """Decode one frame body; raise MalformedMessage unless it is a map with a string `t`."""
    try:
        obj = msgpack.unpackb(body, raw=False, strict_map_key=True)
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError, TypeError) as exc:
        raise MalformedMessage(f"frame is not one msgpack value ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise MalformedMessage("frame must be a msgpack map with a string field 't'")
    return obj


class FrameProtocol(asyncio.BufferedProtocol):
    """One connection's frames, read straight from the socket into one reused buffer.

    asyncio's StreamReader copies every byte twice more (into its buffer, then
    out of it); bench/rpc.py showed that cost against a plain socket copy. The
    length is checked before the body is read, so an oversized frame costs
    four bytes. Decoded frames wait in a short queue for the connection's
    coroutine (`next_frame`); reading pauses while it is full. Writes go
    through `write` and `drain`, with the transport's flow control.
    """

    QUEUE_HIGH = 8

    def __init__(self, max_bytes: int, on_connect: Callable[["FrameProtocol"], None] | None = None) -> None:
        self.max_bytes = max_bytes
        self._on_connect = on_connect
        self.transport: asyncio.Transport | None = None
        self.peer_host = ""
        self._header = bytearray(HEADER.size)
        self._buf = bytearray(0)
        self._size = -1  # body size of the frame being read; -1 while its header is read
        self._have = 0
        self._frames: deque[Any] = deque()
        self._arrived = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._reading_paused = False
        self.finished = False
        self._loop = asyncio.get_running_loop()  # protocols are made on their loop
        self._frame_started = self._last_frame = self._loop.time()

    # -- receiving ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer_host = str(peer[0]) if peer else ""
        self.transport.set_write_buffer_limits(high=8 * 1024 * 1024)  # type: ignore[union-attr]
        if self._on_connect is not None:
            self._on_connect(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._size < 0:
            return memoryview(self._header)[self._have:]
        return memoryview(self._buf)[self._have:self._size]

    def buffer_updated(self, nbytes: int) -> None:
        if self._have == 0 and self._size < 0:
            self._frame_started = self._loop.time()
        self._have += nbytes
        if self._size < 0:
            if self._have == HEADER.size:
                self._start_body(HEADER.unpack(self._header)[0])
            return
        if self._have == self._size:
            try:
                frame = unpack_body(memoryview(self._buf)[: self._size])
            except MalformedMessage as exc:
                self._stop(exc)
                return
            self._size, self._have = -1, 0
            self._last_frame = self._loop.time()
            self._frames.append(frame)
            self._arrived.set()
            if len(self._frames) >= self.QUEUE_HIGH and self.transport is not None:
                self.transport.pause_reading()
                self._reading_paused = True

    def _start_body(self, size: int) -> None:
        if size == 0:
            self._stop(MalformedMessage("empty frame (length 0)"))
        elif size > self.max_bytes:
            self._stop(MessageTooLarge(
                f"frame of {size} bytes is larger than the limit of {self.max_bytes} (network.max_frame_bytes); "
                "send files with an upload, in chunks"))
        else:
            self._size, self._have = size, 0
            if len(self._buf) < size:
                self._buf = bytearray(size)

    def _stop(self, end: BaseException) -> None:
        """No more frames: queue the reason; stop reading (the framing cannot be trusted after an error)."""
        if not self.finished:
            self.finished = True
            self._frames.append(end)
            self._arrived.set()
            if self.transport is not None and not self.transport.is_closing():
                self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._size >= 0 or self._have:
            expected = f"{self._size} bytes" if self._size >= 0 else "a 4-byte header"
            self._stop(MalformedMessage(f"connection closed inside a frame ({self._have} of {expected})"))
        else:
            self._stop(PeerClosed())
        self._writable.set()

    @property
    def mid_frame(self) -> bool:
        return self._size >= 0 or self._have > 0

    async def next_frame(self, *, idle_timeout: float | None, frame_timeout: float | None,
                         busy: bool = False) -> dict[str, Any]:
        """The next frame; raises PeerClosed, MessageTooLarge, MalformedMessage or TimeoutError.

        A started frame must complete within `frame_timeout`; between frames the
        peer may stay silent for `idle_timeout`, or `frame_timeout` when `busy`
        (an upload is open and must keep moving).
        """
        while not self._frames:
            if self.mid_frame:
                limit, since = frame_timeout, self._frame_started
            else:
                limit, since = (frame_timeout if busy else idle_timeout), self._last_frame
            left = None if limit is None else since + limit - self._loop.time()
            if left is not None and left <= 0:
                raise TimeoutError("no complete frame in time")
            # Wake at least every frame_timeout: a frame that starts meanwhile gets the shorter limit.
            steps = [t for t in (left, frame_timeout) if t is not None]
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(steps) if steps else None)
            except (asyncio.TimeoutError, TimeoutError):
                continue
        item = self._frames[0]
        if isinstance(item, BaseException):
            raise item
        self._frames.popleft()
        if self._reading_paused and len(self._frames) < self.QUEUE_HIGH // 2 and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return item

    # -- sending ------------------------------------------------------------------------

    def write(self, data: bytes | memoryview) -> None:
        """Queue bytes on the transport (it copies what the socket does not take at once)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def close(self) -> None:
        """Close after what is queued has been sent."""
        if self.transport is not None:
            self.transport.close()

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until the transport's buffer is below its high-water mark (TimeoutError if the peer stalls)."""
        if not self._writable.is_set():
            await asyncio.wait_for(self._writable.wait(), timeout)
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("the connection is closed")
