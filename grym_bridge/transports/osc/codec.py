"""OSC 1.0/1.1 packets as bytes: every type tag, bundles with their time tags, SLIP and length-prefix framing.

Decoding is done here rather than by python-osc because the server must see
what python-osc drops or refuses: `S`, `c` and `I` arguments keep their place
(python-osc 1.x skips them, shifting every later argument), a bundle element
whose size runs past the packet makes the whole bundle malformed, nesting is
bounded (no recursion error), and each message keeps the time tag of its
bundle so the server can hold future ones. Encoding stays with python-osc.

Decoded values: i h -> int, f d -> float, s S -> str, c -> a one-character
str, b -> bytes, T F -> bool, N -> None, I -> `IMPULSE`, t -> `TimeTag`,
r -> `Rgba`, m -> `MidiBytes`, [ ] -> list. Route arguments coerce the plain
ones and refuse the others with `bad_args` naming the argument (api.routes).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Any, Sequence

from pythonosc.osc_message_builder import OscMessageBuilder

from grym_bridge.errors import MalformedMessage

#: Seconds between the NTP epoch (1900) of OSC time tags and the Unix epoch.
NTP_UNIX_OFFSET = 2_208_988_800
SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC = b"\xc0", b"\xdb", b"\xdc", b"\xdd"
BUNDLE_TAG = b"#bundle\x00"
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class TimeTag:
    """An OSC time tag: NTP seconds and fraction; (0, 1) means "immediately"."""

    seconds: int
    fraction: int

    @property
    def immediate(self) -> bool:
        return self.seconds == 0 and self.fraction == 1

    def unix(self) -> float:
        """The time as Unix seconds (0.0 for "immediately")."""
        return 0.0 if self.immediate else self.seconds - NTP_UNIX_OFFSET + self.fraction / 2**32

    @classmethod
    def at(cls, unix_time: float) -> "TimeTag":
        ntp = unix_time + NTP_UNIX_OFFSET
        return cls(int(ntp), int((ntp % 1) * 2**32))


IMMEDIATELY = TimeTag(0, 1)


@dataclass(frozen=True)
class Impulse:
    """The `I` type tag (OSC 1.1 "impulse", also called bang): no data."""

    def __repr__(self) -> str:
        return "impulse"


IMPULSE = Impulse()


@dataclass(frozen=True)
class Rgba:
    """The `r` type tag: a 32-bit RGBA colour."""

    red: int
    green: int
    blue: int
    alpha: int


@dataclass(frozen=True)
class MidiBytes:
    """The `m` type tag: port id, status byte and two data bytes."""

    port: int
    status: int
    data1: int
    data2: int


@dataclass(frozen=True)
class Message:
    """One decoded OSC message and the time it should run (`IMMEDIATELY` unless a bundle said otherwise)."""

    address: str
    args: list[Any]
    time: TimeTag = IMMEDIATELY


def _string(data: bytes, pos: int, what: str) -> tuple[str, int]:
    end = data.find(b"\x00", pos)
    if end < 0:
        raise MalformedMessage(f"{what} has no terminating NUL byte")
    try:
        text = data[pos:end].decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage(f"{what} is not UTF-8 text") from None
    return text, (end + 4) & ~3


def _need(data: bytes, pos: int, size: int, what: str) -> None:
    if pos + size > len(data):
        raise MalformedMessage(f"{what} runs past the end of the packet")


def decode_message(data: bytes, time_tag: TimeTag = IMMEDIATELY, *, max_depth: int = 8) -> Message:
    """One OSC message, every type tag decoded (see the module docstring), or MalformedMessage."""
    address, pos = _string(data, 0, "the address")
    if not address.startswith("/"):
        raise MalformedMessage(f"an OSC address starts with '/'; got {address[:40]!r}")
    if pos >= len(data):
        return Message(address, [], time_tag)  # OSC 1.0 allows a message without a type tag string
    tags, pos = _string(data, pos, f"{address}: the type tag string")
    if not tags.startswith(","):
        raise MalformedMessage(f"{address}: the type tag string must start with ','; got {tags[:20]!r}")
    stack: list[list[Any]] = [[]]
    for n, tag in enumerate(tags[1:], start=1):
        what = f"{address}: argument {n} (type {tag!r})"
        out = stack[-1]
        if tag in "if":
            _need(data, pos, 4, what)
            out.append(struct.unpack_from(">i" if tag == "i" else ">f", data, pos)[0])
            pos += 4
        elif tag in "sS":
            value, pos = _string(data, pos, what)
            out.append(value)
        elif tag == "b":
            _need(data, pos, 4, what)
            size = struct.unpack_from(">i", data, pos)[0]
            if size < 0:
                raise MalformedMessage(f"{what}: negative blob size")
            _need(data, pos + 4, size, what)
            out.append(bytes(data[pos + 4:pos + 4 + size]))
            pos += 4 + ((size + 3) & ~3)
        elif tag in "hdt":
            _need(data, pos, 8, what)
            if tag == "t":
                out.append(TimeTag(*struct.unpack_from(">II", data, pos)))
            else:
                out.append(struct.unpack_from(">q" if tag == "h" else ">d", data, pos)[0])
            pos += 8
        elif tag == "c":
            _need(data, pos, 4, what)
            code = struct.unpack_from(">I", data, pos)[0]
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise MalformedMessage(f"{what}: {code} is not a character")
            out.append(chr(code))
            pos += 4
        elif tag in "rm":
            _need(data, pos, 4, what)
            out.append((Rgba if tag == "r" else MidiBytes)(*data[pos:pos + 4]))
            pos += 4
        elif tag in "TFNI":
            out.append({"T": True, "F": False, "N": None, "I": IMPULSE}[tag])
        elif tag == "[":
            if len(stack) > max_depth:
                raise MalformedMessage(f"{address}: arrays nested deeper than {max_depth}")
            inner: list[Any] = []
            out.append(inner)
            stack.append(inner)
        elif tag == "]":
            if len(stack) == 1:
                raise MalformedMessage(f"{address}: ']' without '[' in the type tags")
            stack.pop()
        else:
            raise MalformedMessage(f"{address}: unknown OSC type tag {tag!r} (argument {n})")
    if len(stack) != 1:
        raise MalformedMessage(f"{address}: '[' without ']' in the type tags")
    return Message(address, stack[0], time_tag)


def decode(data: bytes, *, max_depth: int = 8) -> list[Message]:
    """Every message of a packet (a message or a bundle, nested up to `max_depth`), in order.

    A bundle is checked whole before anything in it is returned: one bad element
    (a size past the packet's end, not a multiple of 4, a bad message) makes the
    packet malformed. A nested bundle never runs before its enclosing one.
    """
    if not data.startswith(BUNDLE_TAG):
        return [decode_message(data, max_depth=max_depth)]
    out: list[Message] = []
    # (bytes, time tag, depth): an explicit stack, so nesting is a count, never Python recursion.
    pending: list[tuple[bytes, TimeTag, int]] = [(data, IMMEDIATELY, 1)]
    while pending:
        chunk, outer, depth = pending.pop()
        if not chunk.startswith(BUNDLE_TAG):
            out.append(decode_message(chunk, outer, max_depth=max_depth))
            continue
        if depth > max_depth:
            raise MalformedMessage(f"bundles nested deeper than {max_depth} (server.max_bundle_depth)")
        if len(chunk) < 16:
            raise MalformedMessage("a bundle needs '#bundle', a time tag and elements; this one is cut short")
        tag = TimeTag(*struct.unpack_from(">II", chunk, 8))
        if not outer.immediate and (tag.immediate or tag.unix() < outer.unix()):
            tag = outer  # OSC 1.0: a nested bundle's time may not precede its enclosing bundle's
        pos, elements = 16, []
        while pos < len(chunk):
            _need(chunk, pos, 4, "a bundle element's size")
            size = struct.unpack_from(">i", chunk, pos)[0]
            if size <= 0 or size % 4:
                raise MalformedMessage(f"bundle element size {size} is not a positive multiple of 4")
            _need(chunk, pos + 4, size, f"a bundle element of {size} bytes")
            elements.append(chunk[pos + 4:pos + 4 + size])
            pos += 4 + size
        pending.extend((element, tag, depth + 1) for element in reversed(elements))  # popped in packet order
    return out


def now_tag() -> TimeTag:
    return TimeTag.at(time.time())


def _safe(value: Any) -> Any:
    """A value python-osc can encode: ints past 64 bits travel as text, unknown objects as their repr."""
    if isinstance(value, bytes) and not value:
        return ""  # python-osc cannot encode an empty blob
    if isinstance(value, bool) or value is None or isinstance(value, (float, str, bytes)):
        return value
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    if isinstance(value, (list, tuple)):
        return [_safe(v) for v in value]
    return str(value)


def encode(address: str, args: Sequence[Any]) -> bytes:
    """One OSC message as bytes (python-osc infers the type tags)."""
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(_safe(arg))
    return builder.build().dgram


def slip_frame(packet: bytes) -> bytes:
    """One OSC packet as a SLIP frame (OSC 1.1 over TCP), END bytes on both sides."""
    return SLIP_END + packet.replace(SLIP_ESC, SLIP_ESC + SLIP_ESC_ESC).replace(SLIP_END, SLIP_ESC + SLIP_ESC_END) + SLIP_END


def slip_unframe(frame: bytes) -> bytes:
    """The packet inside one SLIP frame (the bytes between two END bytes)."""
    return frame.replace(SLIP_ESC + SLIP_ESC_END, SLIP_END).replace(SLIP_ESC + SLIP_ESC_ESC, SLIP_ESC)


def length_frame(packet: bytes) -> bytes:
    """One OSC packet with OSC 1.0's int32 big-endian length prefix (liblo's TCP mode)."""
    return struct.pack(">i", len(packet)) + packet
