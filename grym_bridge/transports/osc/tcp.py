"""OSC over TCP: framing detected from the first bytes, and every connection bounded.

Framing: a connection whose first byte is a SLIP END (0xC0), `/` or `#` speaks
OSC 1.1 SLIP; one that starts with an int32 big-endian length (at most
`server.max_message_bytes`, a multiple of 4) followed by `/` or `#` speaks
OSC 1.0's length-prefixed stream (liblo's TCP mode), and its replies come
back length-prefixed. Anything else (an HTTP request line, a TLS hello) is
answered with one SLIP `/grym/error ... malformed` frame and closed with
nothing executed, and logged once per interval.

Bounds (`[server]` config): `tcp_max_connections` at once; of those, at most
`tcp_max_unauthenticated` from other machines that have not said hello with
the token, each closed `tcp_auth_timeout_s` after connecting unless it has;
`tcp_idle_timeout_s` without a byte; `tcp_frame_timeout_s` for a started
frame; `tcp_max_output_bytes` of replies waiting for a slow reader. The
accept loop backs off when the process runs out of file descriptors and logs
that once per interval.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from grym_bridge.errors import Busy, GrymError, MalformedMessage, MessageTooLarge
from grym_bridge.transports.auth import is_loopback
from grym_bridge.transports.osc.codec import SLIP_END, encode, length_frame, slip_frame, slip_unframe
from grym_bridge.transports.osc.ratelog import RateLimitedLog

if TYPE_CHECKING:
    from grym_bridge.transports.osc.server import OscServer

log = logging.getLogger(__name__)

_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def detect_framing(head: bytes, max_bytes: int) -> str | None:
    """"slip", "length", "refuse", or None while too few bytes have arrived to tell."""
    if head[:1] in (SLIP_END, b"/", b"#"):
        return "slip"
    if len(head) < 5:
        return None if head[0] <= (max_bytes >> 24) else "refuse"
    size = struct.unpack_from(">i", head)[0]
    if 0 < size <= max_bytes and size % 4 == 0 and head[4:5] in (b"/", b"#"):
        return "length"
    return "refuse"


@dataclass(eq=False)
class TcpPeer:
    """An OSC-over-TCP connection: replies go back on it, in the framing it speaks."""

    writer: asyncio.StreamWriter
    ip: str
    src_port: int
    max_output: Callable[[], int]
    warnings: RateLimitedLog
    max_payload: int | None = None
    frame: Callable[[bytes], bytes] = slip_frame
    authenticated: bool = False
    leased: bool = False
    closed: bool = field(default=False)

    @property
    def key(self) -> tuple[str, str, int]:
        return ("tcp", self.ip, self.src_port)

    def send(self, address: str, args: Sequence[Any]) -> None:
        if self.closed or self.writer.is_closing():
            return
        data = self.frame(encode(address, args))
        transport = self.writer.transport
        waiting = transport.get_write_buffer_size()
        if waiting + len(data) > self.max_output():
            self.warnings.warn("slow-reader", "closing OSC-over-TCP connection %s:%d: %d bytes of replies wait for it "
                               "to read (server.tcp_max_output_bytes = %d)", self.ip, self.src_port, waiting,
                               self.max_output())
            self.close(abort=True)
            return
        self.writer.write(data)

    def set_reply_port(self, port: int) -> None:
        """Replies always return on the connection; the port is accepted for symmetry with UDP."""

    def close(self, *, abort: bool = False) -> None:
        self.closed = True
        if abort:
            self.writer.transport.abort()
        else:
            self.writer.close()


class TcpOscServer:
    """The TCP half of `OscServer`: accept loop, framing, caps and timeouts."""

    def __init__(self, osc: "OscServer") -> None:
        self.osc = osc
        self.peers: set[TcpPeer] = set()
        self.unauthenticated: set[TcpPeer] = set()
        self._sock: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def settings(self) -> Any:
        return self.osc.settings

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (raises OSError when it is taken) and start accepting."""
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                          flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._accepting = asyncio.create_task(self._accept_loop(sock), name="grym-osc-tcp-accept")

    async def close(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            await asyncio.gather(self._accepting, return_exceptions=True)
        if self._sock is not None:
            self._sock.close()
        for peer in list(self.peers):
            peer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept_loop(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        backoff = 0.05
        while True:
            try:
                conn, addr = await loop.sock_accept(sock)
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    self.osc.warnings.warn("accept", "OSC-over-TCP accept paused %.2f s: %s (too many open files; "
                                           "see server.tcp_max_connections)", backoff, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.05
            refusal = self._refusal(addr[0])
            if refusal is not None:
                self._refuse(conn, refusal)
                continue
            task = asyncio.create_task(self._serve(conn, addr[0], addr[1]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _refusal(self, ip: str) -> GrymError | None:
        s = self.settings
        if len(self.peers) >= s.tcp_max_connections:
            return Busy(f"the server has {len(self.peers)} OSC-over-TCP connections, its limit "
                        "(server.tcp_max_connections); try again later", retry_after_s=5.0)
        if not is_loopback(ip) and len(self.unauthenticated) >= s.tcp_max_unauthenticated:
            return Busy("too many connections from other machines wait to say hello with the token "
                        "(server.tcp_max_unauthenticated); try again later", retry_after_s=5.0)
        return None

    def _refuse(self, conn: socket.socket, exc: GrymError) -> None:
        self.osc.warnings.warn(f"refuse-{exc.code}", "refusing an OSC-over-TCP connection: %s", exc.message)
        try:
            conn.setblocking(False)
            conn.send(slip_frame(encode("/grym/error", ["", "", exc.code, exc.message])))
        except OSError:
            pass
        conn.close()

    async def _serve(self, conn: socket.socket, ip: str, port: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(sock=conn)
        except OSError:
            conn.close()
            return
        peer = TcpPeer(writer, ip, port, lambda: self.settings.tcp_max_output_bytes, self.osc.warnings)
        self.peers.add(peer)
        remote = not is_loopback(ip)
        if remote:
            self.unauthenticated.add(peer)
        try:
            await self._read_loop(reader, peer, remote)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self.peers.discard(peer)
            self.unauthenticated.discard(peer)
            self.osc.router.forget(peer)
            peer.close()

    async def _read_loop(self, reader: asyncio.StreamReader, peer: TcpPeer, remote: bool) -> None:
        s = self.settings
        auth_deadline = time.monotonic() + s.tcp_auth_timeout_s
        framing: str | None = None
        buffer = bytearray()
        while not peer.closed:
            timeout, why = (s.tcp_frame_timeout_s, "a started frame stalled (server.tcp_frame_timeout_s)") if buffer \
                else (s.tcp_idle_timeout_s, "nothing was sent (server.tcp_idle_timeout_s)")
            if remote and not peer.authenticated:
                left = auth_deadline - time.monotonic()
                if left < timeout:
                    timeout, why = max(left, 0.0), "no hello with the token in time (server.tcp_auth_timeout_s)"
            try:
                data = await asyncio.wait_for(reader.read(65536), timeout)
            except asyncio.TimeoutError:
                self._close_with(peer, MalformedMessage(f"closing: {why}"), "timeout")
                return
            if not data:
                return
            buffer += data
            if framing is None:
                framing = detect_framing(bytes(buffer[:5]), s.max_message_bytes)
                if framing is None:
                    continue
                if framing == "refuse":
                    self._close_with(peer, MalformedMessage(
                        "this port speaks OSC over TCP: SLIP frames (OSC 1.1) or int32 length-prefixed packets "
                        f"(OSC 1.0); the first bytes {bytes(buffer[:8])!r} are neither (HTTP and TLS are not served "
                        "here; OSCQuery has its own port); closing with nothing executed"), "not-osc")
                    return
                if framing == "length":
                    peer.frame = length_frame
            buffer = self._slip(buffer, peer) if framing == "slip" else self._length(buffer, peer)
            if peer.authenticated:
                self.unauthenticated.discard(peer)

    def _slip(self, buffer: bytearray, peer: TcpPeer) -> bytearray:
        *frames, rest = bytes(buffer).split(SLIP_END)
        for frame in frames:
            if frame and not peer.closed:
                self.osc.handle_packet(slip_unframe(frame), peer)
        limit = self.settings.max_message_bytes
        if len(rest) > limit:
            self._close_with(peer, MessageTooLarge(
                f"SLIP frame longer than {limit} bytes without an END byte (server.max_message_bytes); closing"),
                "too-large")
        return bytearray(rest)

    def _length(self, buffer: bytearray, peer: TcpPeer) -> bytearray:
        limit = self.settings.max_message_bytes
        while len(buffer) >= 4 and not peer.closed:
            size = struct.unpack_from(">i", buffer)[0]
            if size <= 0 or size > limit:
                self._close_with(peer, MessageTooLarge(
                    f"length prefix {size} is not between 1 and {limit} (server.max_message_bytes); closing"),
                    "too-large")
                break
            if len(buffer) < 4 + size:
                break
            packet = bytes(buffer[4:4 + size])
            del buffer[:4 + size]
            self.osc.handle_packet(packet, peer)
        return buffer

    def _close_with(self, peer: TcpPeer, exc: GrymError, kind: str) -> None:
        """Send one error frame saying why, log it once per interval, and close."""
        self.osc.warnings.warn(f"tcp-{kind}", "closing OSC-over-TCP connection %s:%d: %s", peer.ip, peer.src_port,
                               exc.message)
        self.osc.router.send_error(peer, "", "", exc)
        peer.close()
