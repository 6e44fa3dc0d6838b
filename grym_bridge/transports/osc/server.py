"""OSC over UDP and over TCP (SLIP framing, OSC 1.1) on one port number.

python-osc parses and builds the packets; this module only moves bytes and
decides where replies go. Handlers run synchronously on the event loop and
only validate and enqueue, so a datagram is answered without waiting on any
work. Bundle time tags are ignored (everything runs at once), as
`Dispatcher(strict_timing=False)` would.

Reply routing for UDP: a client that said `/grym/system/hello <req_id>
<reply_port>` from a socket gets replies on that port; other sockets of the
same IP get the IP's most recent hello port (for tools like `oscsend` that
send each message from a fresh socket); everyone else gets replies at the
datagram's source address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass
from typing import Any, Sequence

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket, ParseError

from grym_bridge.config import ServerConfig
from grym_bridge.errors import MalformedMessage, MessageTooLarge
from grym_bridge.transports.auth import OscClientGate, Unauthorized
from grym_bridge.api.routes import Router

log = logging.getLogger(__name__)

#: Replies larger than this travel as a result file for UDP clients (a safe datagram over any LAN).
SAFE_DATAGRAM_BYTES = 1400
SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC = b"\xc0", b"\xdb", b"\xdc", b"\xdd"


def slip_frame(packet: bytes) -> bytes:
    """One OSC packet as a SLIP frame (OSC 1.1 over TCP), END bytes on both sides."""
    return SLIP_END + packet.replace(SLIP_ESC, SLIP_ESC + SLIP_ESC_ESC).replace(SLIP_END, SLIP_ESC + SLIP_ESC_END) + SLIP_END


def slip_unframe(frame: bytes) -> bytes:
    """The packet inside one SLIP frame (the bytes between two END bytes)."""
    return frame.replace(SLIP_ESC + SLIP_ESC_END, SLIP_END).replace(SLIP_ESC + SLIP_ESC_ESC, SLIP_ESC)


def encode(address: str, args: Sequence[Any]) -> bytes:
    """One OSC message as bytes (python-osc infers the type tags)."""
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def parse(data: bytes) -> list[tuple[str, list[Any]]]:
    """(address, args) for each message in a packet (a message or a bundle)."""
    try:
        packet = OscPacket(data)
    except (ParseError, ValueError, IndexError, TypeError) as exc:
        raise MalformedMessage(f"not an OSC packet ({len(data)} bytes): {exc}") from None
    out = []
    for timed in packet.messages:
        tags = _type_tags(timed.message.dgram)
        if not set(tags) <= KNOWN_TYPE_TAGS:
            unknown = "".join(sorted(set(tags) - KNOWN_TYPE_TAGS))
            raise MalformedMessage(f"{timed.message.address}: unknown OSC type tag(s) {unknown!r}")
        out.append((timed.message.address, list(timed.message.params)))
    return out


#: OSC 1.0 and 1.1 type tags python-osc decodes (arrays included).
KNOWN_TYPE_TAGS = frozenset("ifsbhtdcrmTFNI[]S")


def _type_tags(dgram: bytes) -> str:
    """The type tag string of one message ("" when it has none, as OSC 1.0 allows)."""
    end = dgram.find(b"\x00")
    start = (end + 4) & ~3
    if dgram[start:start + 1] != b",":
        return ""
    stop = dgram.find(b"\x00", start)
    return dgram[start + 1: stop if stop > 0 else None].decode("ascii", "replace")


def _address_of(data: bytes) -> str:
    """The address at the start of a packet we refuse to parse, for the error reply."""
    if data[:1] != b"/":
        return ""
    end = data.find(b"\x00")
    try:
        return data[: end if end > 0 else 64].decode("ascii")[:256]
    except UnicodeDecodeError:
        return ""


def _enlarge_receive_buffer(transport: asyncio.BaseTransport, size: int = 4 << 20) -> None:
    """Ask for a 4 MiB receive buffer so bursts (a controller's flurry, a script's loop) are not dropped.

    The kernel caps it (net.core.rmem_max on Linux); whatever it grants is better than the default.
    """
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


class ReplyPorts:
    """Where each UDP client asked for its replies."""

    def __init__(self) -> None:
        self.by_socket: dict[tuple[str, int], int] = {}
        self.by_ip: dict[str, int] = {}

    def register(self, ip: str, src_port: int, reply_port: int) -> None:
        self.by_socket[(ip, src_port)] = reply_port
        self.by_ip[ip] = reply_port

    def destination(self, ip: str, src_port: int) -> tuple[str, int]:
        port = self.by_socket.get((ip, src_port)) or self.by_ip.get(ip) or src_port
        return ip, port


@dataclass(eq=False)
class UdpPeer:
    """A UDP client, identified by the socket it sends from."""

    transport: asyncio.DatagramTransport
    ports: ReplyPorts
    ip: str
    src_port: int
    max_payload: int | None = SAFE_DATAGRAM_BYTES

    @property
    def key(self) -> tuple[str, str, int]:
        return ("udp", self.ip, self.src_port)

    def send(self, address: str, args: Sequence[Any]) -> None:
        if not self.transport.is_closing():
            self.transport.sendto(encode(address, args), self.ports.destination(self.ip, self.src_port))

    def set_reply_port(self, port: int) -> None:
        self.ports.register(self.ip, self.src_port, port)


@dataclass(eq=False)
class TcpPeer:
    """An OSC-over-TCP connection: replies go back on it, SLIP-framed."""

    writer: asyncio.StreamWriter
    ip: str
    src_port: int
    max_payload: int | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return ("tcp", self.ip, self.src_port)

    def send(self, address: str, args: Sequence[Any]) -> None:
        if self.writer.is_closing():
            return
        self.writer.write(slip_frame(encode(address, args)))

    def set_reply_port(self, port: int) -> None:
        """Replies always return on the connection; the port is accepted for symmetry with UDP."""


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: "OscServer") -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        peer = UdpPeer(self.transport, self.server.reply_ports, addr[0], addr[1])
        self.server.handle_packet(data, peer)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a client that went away: nothing to do.
        log.debug("udp error: %s", exc)


class OscServer:
    """Serves the router over UDP and TCP on the same host and port number."""

    def __init__(self, router: Router, settings: ServerConfig) -> None:
        self.router = router
        self.settings = settings  # read live: limits changed at run time apply to the next packet
        self.host = settings.host
        self.requested_port = settings.osc_port
        self.reply_ports = ReplyPorts()
        self.port: int = settings.osc_port
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.base_events.Server | None = None
        self._tcp_peers: set[TcpPeer] = set()
        #: Set by serve: refuses clients from other machines until they present the token (transports.auth).
        self.gate: OscClientGate | None = None

    async def start(self) -> None:
        """Bind UDP and TCP; with port 0 both get the same free port number."""
        loop = asyncio.get_running_loop()
        for _attempt in range(20):
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(self.host, self.requested_port)
            )
            port = transport.get_extra_info("sockname")[1]
            _enlarge_receive_buffer(transport)
            try:
                self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port, reuse_address=True)
            except OSError:
                transport.close()
                if self.requested_port:
                    raise
                continue  # the free UDP port is taken for TCP: try another
            self._udp, self.port = transport, port
            return
        raise OSError(f"could not find a port free for both UDP and TCP on {self.host}")

    async def close(self) -> None:
        """Stop accepting, close every connection and the UDP socket."""
        if self._tcp is not None:
            self._tcp.close()
        for peer in list(self._tcp_peers):
            peer.writer.close()
        if self._tcp is not None:
            await self._tcp.wait_closed()
        if self._udp is not None:
            self._udp.close()

    def handle_packet(self, data: bytes, peer: Any) -> None:
        """Parse one packet and dispatch each message; bad packets get an error reply."""
        if len(data) > self.settings.max_message_bytes:
            self.router.send_error(peer, _address_of(data), "", MessageTooLarge(
                f"message of {len(data)} bytes is larger than the limit of {self.settings.max_message_bytes}; "
                "send large data as a file path"))
            return
        try:
            messages = parse(data)
        except MalformedMessage as exc:
            self.router.send_error(peer, _address_of(data), "", exc)
            return
        for address, args in messages:
            if self.gate is not None:
                try:
                    self.gate.check(peer.ip, address, args)
                except Unauthorized as exc:
                    self.router.send_error(peer, address, args[0] if args else "", exc)
                    continue
            self.router.dispatch(address, args, peer)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ip, port = writer.get_extra_info("peername")[:2]
        peer = TcpPeer(writer, ip, port)
        self._tcp_peers.add(peer)
        buffer = bytearray()
        try:
            while data := await reader.read(65536):
                buffer += data
                *frames, rest = bytes(buffer).split(SLIP_END)
                buffer = bytearray(rest)
                for frame in frames:
                    if frame:
                        self.handle_packet(slip_unframe(frame), peer)
                if len(buffer) > self.settings.max_message_bytes:
                    self.router.send_error(peer, "", "", MessageTooLarge(
                        f"SLIP frame longer than {self.settings.max_message_bytes} bytes without an END byte; closing"))
                    break
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tcp_peers.discard(peer)
            self.router.forget(peer)
            writer.close()
