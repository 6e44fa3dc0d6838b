"""OSC over UDP and over TCP (transports.osc.tcp) on one port number.

`codec` turns bytes into messages (every type tag, bundles, time tags); this
module decides who may talk, when each message runs and where replies go.
Handlers run synchronously on the event loop and only validate and enqueue,
so a datagram is answered without waiting on any work.

Reply routing for UDP is per client socket, never per IP: a client that said
`/grym/system/hello <req_id> <reply_port>` from a socket gets replies on that
port; every other socket gets replies at its own source address. Tools that
send each message from a fresh socket (liblo's `oscsend`) append
`reply_port <port>` to a request: that request's replies, job events and
subscription updates go to that port on the sender's IP, and nobody else's.

Bundles: a time tag in the past or "immediately" runs at once; a future one is
held on the event loop (at most `server.max_scheduled` messages, at most
`server.max_schedule_ahead_s` ahead), in packet order.

Off-loopback UDP is refused unless `server.remote_udp = "ip"` (a source IP can
be forged on a LAN; remote clients use OSC over TCP with the token). An
unauthenticated off-loopback datagram is never answered with more bytes than
it carried (no reflection amplification).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Sequence

from grym_bridge.api.routes import Router
from grym_bridge.config import ServerConfig
from grym_bridge.errors import BadRequest, Busy, MalformedMessage, MessageTooLarge
from grym_bridge.transports.auth import OscClientGate, Unauthorized, is_loopback
from grym_bridge.transports.osc.codec import (SLIP_END, Message, decode, encode, slip_frame,  # noqa: F401 - re-exported
                                              slip_unframe)
from grym_bridge.transports.osc.ratelog import RateLimitedLog

log = logging.getLogger(__name__)

#: Replies larger than this travel as a result file for UDP clients (a safe datagram over any LAN).
SAFE_DATAGRAM_BYTES = 1400
#: The largest datagram the server sends; a longer reply has its longest text truncated with a note.
MAX_DATAGRAM_BYTES = 65000
#: `... reply_port <port>` at the end of any UDP request: where that request's replies go.
REPLY_PORT_OPTION = "reply_port"


def parse(data: bytes) -> list[tuple[str, list[Any]]]:
    """(address, args) for each message in a packet (a message or a bundle); MalformedMessage when bad."""
    return [(m.address, m.args) for m in decode(data)]


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
    """Where each UDP client socket asked for its replies (bounded: the least recently heard is forgotten)."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self.by_socket: OrderedDict[tuple[str, int], int] = OrderedDict()

    def register(self, ip: str, src_port: int, reply_port: int) -> None:
        self.by_socket[(ip, src_port)] = reply_port
        self.by_socket.move_to_end((ip, src_port))
        while len(self.by_socket) > self.limit:
            self.by_socket.popitem(last=False)

    def destination(self, ip: str, src_port: int) -> tuple[str, int]:
        """The registered port of this very socket, else its source port: never another client's."""
        return ip, self.by_socket.get((ip, src_port), src_port)


def truncate_to_fit(address: str, args: list[Any], limit: int) -> bytes:
    """Encode, cutting the longest text argument (with a note saying so) until the packet fits `limit`."""
    packet = encode(address, args)
    for _ in range(3):
        if len(packet) <= limit:
            break
        texts = [i for i, a in enumerate(args) if isinstance(a, str)]
        if not texts:
            break
        i = max(texts, key=lambda k: len(args[k]))
        original = args[i].encode()
        keep = max(0, len(original) - (len(packet) - limit) - 80)
        args = [*args[:i], original[:keep].decode("utf-8", "ignore")
                + f" ... [truncated: {len(original)} bytes do not fit one datagram]", *args[i + 1:]]
        packet = encode(address, args)
    return packet


@dataclass(eq=False)
class UdpPeer:
    """A UDP client: its source socket, and where its replies go (see the module docstring)."""

    transport: asyncio.DatagramTransport
    ports: ReplyPorts
    ip: str
    src_port: int
    max_payload: int | None = SAFE_DATAGRAM_BYTES
    #: An explicit `reply_port` option: this request's replies go there.
    reply_to: int | None = None
    #: Largest reply allowed (an unauthenticated off-loopback datagram: the size it came with).
    budget: int | None = None
    log: RateLimitedLog | None = None
    #: UDP subscriptions lapse unless renewed (`server.subscription_lease_s`).
    leased: bool = True

    @property
    def destination(self) -> tuple[str, int]:
        if self.reply_to is not None:
            return self.ip, self.reply_to
        return self.ports.destination(self.ip, self.src_port)

    @property
    def key(self) -> tuple[str, str, int]:
        """The client is where its replies go: two sockets sharing one reply port are one subscriber."""
        return ("udp", *self.destination)

    def send(self, address: str, args: Sequence[Any]) -> None:
        if self.transport.is_closing():
            return
        packet = truncate_to_fit(address, list(args), MAX_DATAGRAM_BYTES)
        if self.budget is not None and len(packet) > self.budget:
            if self.log is not None:
                self.log.warn("reflection", "not answering %s:%d with %d bytes (it sent %d, unauthenticated, "
                              "from another machine)", self.ip, self.src_port, len(packet), self.budget)
            return
        self.transport.sendto(packet, self.destination)

    def set_reply_port(self, port: int) -> None:
        """Replies of this socket go to `port` from now on (0: back to its source port)."""
        self.ports.register(self.ip, self.src_port, port or self.src_port)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: "OscServer") -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        peer = UdpPeer(self.transport, self.server.reply_ports, addr[0], addr[1], log=self.server.warnings)
        self.server.handle_packet(data, peer)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a client that went away: the kernel does not say which one, so
        # UDP subscribers are pruned by their lease (server.subscription_lease_s) instead.
        log.debug("udp error: %s", exc)


class OscServer:
    """Serves the router over UDP and TCP on the same host and port number."""

    def __init__(self, router: Router, settings: ServerConfig) -> None:
        self.router = router
        self.settings = settings  # read live: limits changed at run time apply to the next packet
        self.host = settings.host
        self.requested_port = settings.osc_port
        self.reply_ports = ReplyPorts(settings.max_udp_clients)
        self.port: int = settings.osc_port
        self.warnings = RateLimitedLog(log, lambda: self.settings.log_interval_s)
        self._udp: asyncio.DatagramTransport | None = None
        self._scheduled: dict[asyncio.TimerHandle, int] = {}
        #: Set by serve: refuses clients from other machines until they present the token (transports.auth).
        self.gate: OscClientGate | None = None
        from grym_bridge.transports.osc.tcp import TcpOscServer  # the TCP half: framing, caps, timeouts

        self.tcp = TcpOscServer(self)

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
                await self.tcp.start(self.host, port)
            except OSError:
                transport.close()
                if self.requested_port:
                    raise
                continue  # the free UDP port is taken for TCP: try another
            self._udp, self.port = transport, port
            return
        raise OSError(f"could not find a port free for both UDP and TCP on {self.host}")

    async def close(self) -> None:
        """Stop accepting, close every connection and the UDP socket, drop held bundles."""
        for handle in self._scheduled:
            handle.cancel()
        self._scheduled.clear()
        await self.tcp.close()
        if self._udp is not None:
            self._udp.close()

    # -- packets ------------------------------------------------------------------------

    def handle_packet(self, data: bytes, peer: Any) -> None:
        """Parse one packet and run (or hold) each message; bad packets get an error reply."""
        if isinstance(peer, UdpPeer) and not is_loopback(peer.ip) and not self._udp_admitted(peer.ip):
            peer.budget = len(data)  # never amplify: an unauthenticated remote source may be forged
        limit = self.settings.max_message_bytes
        if len(data) > limit:
            self.router.send_error(peer, _address_of(data), "", MessageTooLarge(
                f"message of {len(data)} bytes is larger than the limit of {limit} (server.max_message_bytes); "
                "send large data as a file path"))
            return
        try:
            messages = decode(data, max_depth=self.settings.max_bundle_depth)
        except MalformedMessage as exc:
            self.warnings.warn("malformed", "malformed OSC from %s: %s", peer.ip, exc.message, level=logging.INFO)
            self.router.send_error(peer, _address_of(data), "", exc)
            return
        now = time.time()
        held: dict[float, list[tuple[Message, Any]]] = {}
        for message in messages:
            target = self._peer_for(message, peer)
            if target is None:
                continue
            when = message.time.unix()
            if message.time.immediate or when <= now:
                self._run(message, target)
            else:
                held.setdefault(when, []).append((message, target))
        for when, batch in sorted(held.items()):
            self._hold(when - now, batch)

    def _peer_for(self, message: Message, peer: Any) -> Any | None:
        """The peer this message's replies go to, after the token gate; None (answered) when refused."""
        args = message.args
        if isinstance(peer, UdpPeer) and len(args) >= 3 and args[-2] == REPLY_PORT_OPTION:
            port = args[-1]
            if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536:
                peer = replace(peer, reply_to=port)
                del args[-2:]
            else:
                self.router.send_error(peer, message.address, args[0], BadRequest(
                    f"option 'reply_port' must be a UDP port number (1-65535); got {port!r}"))
                return None
        try:
            self._admit(peer, message.address, args)
        except Unauthorized as exc:
            self.warnings.warn(f"unauthorized-{peer.ip}", "refused OSC from %s: %s", peer.ip, exc.message,
                               level=logging.INFO)
            self.router.send_error(peer, message.address, args[0] if args else "", exc)
            return None
        return peer

    def _udp_admitted(self, ip: str) -> bool:
        return self.settings.remote_udp == "ip" and self.gate is not None and self.gate.admitted(ip)

    def _admit(self, peer: Any, address: str, args: Sequence[Any]) -> None:
        """Raise Unauthorized unless this client may send this message (transports.auth decides)."""
        if self.gate is None:
            return
        if isinstance(peer, UdpPeer):
            if not is_loopback(peer.ip) and self.settings.remote_udp != "ip":
                raise Unauthorized(
                    f"OSC over UDP from other machines is off (server.remote_udp = \"off\"): connect over TCP to "
                    f"port {self.port} and send /grym/system/hello <req_id> 0 <token> first")
            self.gate.check(peer.ip, address, args)
        else:
            peer.authenticated = self.gate.check_connection(peer.ip, peer.authenticated, address, args)

    def _hold(self, delay: float, batch: list[tuple[Message, Any]]) -> None:
        """Run `batch` (messages of one bundle time, in packet order) after `delay` seconds, within the bounds."""
        limits = self.settings
        message, peer = batch[0]
        if delay > limits.max_schedule_ahead_s:
            for message, peer in batch:
                self.router.send_error(peer, message.address, message.args[0] if message.args else "", BadRequest(
                    f"bundle time tag is {delay:.1f} s ahead; at most {limits.max_schedule_ahead_s:g} s "
                    "(server.max_schedule_ahead_s)"))
            return
        held = sum(self._scheduled.values())
        if held + len(batch) > limits.max_scheduled:
            self.warnings.warn("schedule-full", "bundle scheduler full (%d messages held, server.max_scheduled)", held)
            for message, peer in batch:
                self.router.send_error(peer, message.address, message.args[0] if message.args else "", Busy(
                    f"{held} messages already wait for their bundle time (server.max_scheduled = "
                    f"{limits.max_scheduled}); send later", retry_after_s=min(delay, 5.0)))
            return

        def fire() -> None:
            self._scheduled.pop(handle, None)
            for msg, target in batch:
                self._run(msg, target)

        handle = asyncio.get_running_loop().call_later(delay, fire)
        self._scheduled[handle] = len(batch)

    def _run(self, message: Message, peer: Any) -> None:
        self.router.dispatch(message.address, message.args, peer)
