"""OSC 1.0/1.1 conformance over real sockets: every type tag, address patterns, bundles and their time tags.

Packets are built byte by byte here (not with python-osc, which cannot send
`S`, `c`, `I`, `r`, `m` or bad bundles), sent to a real server, and each
answer asserted.
"""

from __future__ import annotations

import struct
import time
from typing import Any

import pytest

from grym_bridge import __version__
from grym_bridge.transports.osc.codec import NTP_UNIX_OFFSET
from tests.osc_client import OscClient, RunningServer, osc_server  # noqa: F401


def pad(data: bytes) -> bytes:
    return data + b"\x00" * (4 - len(data) % 4)


def message(address: str, *typed: tuple[str, Any]) -> bytes:
    """An OSC message from (tag, value) pairs; tags with no data ('T', 'I', '[' ...) take None."""
    tags, body = ",", b""
    for tag, value in typed:
        tags += tag
        if tag == "i":
            body += struct.pack(">i", value)
        elif tag == "f":
            body += struct.pack(">f", value)
        elif tag in "sS":
            body += pad(value.encode())
        elif tag == "b":
            body += struct.pack(">i", len(value)) + value + b"\x00" * (-len(value) % 4)
        elif tag == "h":
            body += struct.pack(">q", value)
        elif tag == "d":
            body += struct.pack(">d", value)
        elif tag == "t":
            body += struct.pack(">II", *value)
        elif tag == "c":
            body += struct.pack(">I", ord(value))
        elif tag in "rm":
            body += bytes(value)
    return pad(address.encode()) + pad(tags.encode()) + body


def bundle(when: float | None, *elements: bytes) -> bytes:
    """A bundle at Unix time `when` (None: immediately) holding `elements`."""
    if when is None:
        tag = struct.pack(">II", 0, 1)
    else:
        ntp = when + NTP_UNIX_OFFSET
        tag = struct.pack(">II", int(ntp), int((ntp % 1) * 2**32))
    return b"#bundle\x00" + tag + b"".join(struct.pack(">i", len(e)) + e for e in elements)


def answer(c: OscClient, packet: bytes, timeout: float = 3.0) -> tuple[str, list[Any]]:
    c.send_raw(packet)
    return c.recv(timeout)


SET = "/grym/session/set"


@pytest.mark.parametrize("typed, stored", [
    ([("i", 1), ("s", "key"), ("S", "D minor")], "D minor"),  # S (symbol) as s
    ([("i", 2), ("S", "key"), ("s", "E minor")], "E minor"),
    ([("h", 3), ("s", "tempo"), ("d", 121.5)], "121.5"),  # h as int (the id), d as float
    ([("i", 4), ("s", "tempo"), ("f", 98.0)], "98.0"),
    ([("i", 5), ("s", "project"), ("c", "x")], "x"),  # c as a one-character string
])
def test_type_tags_that_coerce(osc_server: RunningServer, typed: list, stored: str) -> None:
    with osc_server.client() as c:
        address, args = answer(c, message(SET, *typed))
        assert address == SET and args[0] == typed[0][1] and str(args[2]) == stored, args


@pytest.mark.parametrize("typed, kind", [
    ([("t", (NTP_UNIX_OFFSET + 5, 0))], "TimeTag"),
    ([("b", b"\x01\x02")], "blob"),
    ([("r", (1, 2, 3, 4))], "Rgba"),
    ([("m", (0, 0x90, 60, 100))], "MidiBytes"),
    ([("N", None)], "None"),
    ([("I", None)], "impulse"),
    ([("[", None), ("i", 1), ("]", None)], "[1]"),
])
def test_type_tags_refused_with_bad_args_naming_the_argument(osc_server: RunningServer, typed: list, kind: str) -> None:
    """Never dropped (no shifting of later arguments), never `internal`: bad_args names 'value'."""
    with osc_server.client() as c:
        address, args = answer(c, message(SET, ("i", 9), ("s", "project"), *typed))
        assert address == "/grym/error" and args[:3] == [SET, 9, "bad_args"], args
        assert "'value'" in args[3] and kind.lower() in args[3].lower(), args[3]


def test_true_false_and_an_impulse_keep_their_places(osc_server: RunningServer) -> None:
    with osc_server.client() as c:
        # I before the key: it is not dropped, so 'key' is refused rather than the arguments shifting.
        address, args = answer(c, message(SET, ("i", 1), ("I", None), ("s", "key"), ("s", "x")))
        assert address == "/grym/error" and "'key'" in args[3]
        address, args = answer(c, message("/grym/system/hello", ("i", 2), ("h", c.sock.getsockname()[1])))
        assert (address, args[:2]) == ("/grym/system/hello", [2, "ok"])


@pytest.mark.parametrize("req_id", [("b", b""), ("N", None), ("b", b"ab"), ("T", None), ("[", None)])
def test_a_request_id_that_is_no_id_is_bad_args(osc_server: RunningServer, req_id: tuple) -> None:
    extra = [("]", None)] if req_id[0] == "[" else []
    with osc_server.client() as c:
        address, args = answer(c, message("/grym/system/ping", req_id, *extra))
        assert address == "/grym/error" and args[1:3] == ["", "bad_args"] and "request id" in args[3]


@pytest.mark.parametrize("pattern, replies", [
    ("/grym/system/p?ng", {"/grym/system/ping"}),
    ("/grym/system/pi*", {"/grym/system/ping"}),
    ("/grym/system/[a-p]ing", {"/grym/system/ping"}),
    ("/grym/system/[!x]ing", {"/grym/system/ping"}),
    ("/grym/system/{ping,info}", {"/grym/system/ping", "/grym/system/info"}),
    ("//ping", {"/grym/system/ping"}),
    ("/grym//p?ng", {"/grym/system/ping"}),
])
def test_address_patterns_run_every_match_and_echo_the_id(osc_server: RunningServer, pattern: str,
                                                           replies: set[str]) -> None:
    with osc_server.client() as c:
        c.send(pattern, "p1")
        got = {}
        for _ in replies:
            address, args = c.recv(3)
            got[address] = args
        assert set(got) == replies and all(args[0] == "p1" for args in got.values())
        if "/grym/system/ping" in got:
            assert got["/grym/system/ping"] == ["p1", __version__]
        with pytest.raises(TimeoutError):
            c.recv(0.2)


@pytest.mark.parametrize("pattern, code", [("/grym/*/nothing", "unknown_address"), ("/grym/system/[ping", "malformed"),
                                            ("/grym/system/pi}ng", "malformed"), ("//*", "bad_args")])
def test_patterns_that_match_nothing_or_are_malformed(osc_server: RunningServer, pattern: str, code: str) -> None:
    osc_server.services.config.server.max_pattern_matches = 10
    with osc_server.client() as c:
        c.send(pattern, 5)
        address, args = c.recv(3)
        assert address == "/grym/error" and args[2] == code, args


def test_immediate_past_future_and_nested_bundles(osc_server: RunningServer) -> None:
    ping = lambda i: message("/grym/system/ping", ("i", i))  # noqa: E731
    with osc_server.client() as c:
        c.send_raw(bundle(None, ping(1), ping(2)))
        assert [c.recv(3)[1][0] for _ in range(2)] == [1, 2]
        c.send_raw(bundle(time.time() - 10, ping(3)))
        assert c.recv(3)[1][0] == 3
        sent = time.monotonic()
        c.send_raw(bundle(time.time() + 0.6, ping(4), ping(5)))
        c.send_raw(ping(6))  # not held: answered before the bundle
        assert c.recv(3)[1][0] == 6
        assert [c.recv(3)[1][0] for _ in range(2)] == [4, 5]
        assert time.monotonic() - sent >= 0.5
        c.send_raw(bundle(None, ping(7), bundle(None, ping(8), bundle(None, ping(9)))))
        assert [c.recv(3)[1][0] for _ in range(3)] == [7, 8, 9]


def test_bundle_bounds(osc_server: RunningServer) -> None:
    limits = osc_server.services.config.server
    limits.max_schedule_ahead_s, limits.max_scheduled = 5.0, 2
    ping = lambda i: message("/grym/system/ping", ("i", i))  # noqa: E731
    with osc_server.client() as c:
        address, args = answer(c, bundle(time.time() + 60, ping(1)))
        assert address == "/grym/error" and args[1:3] == [1, "bad_args"] and "server.max_schedule_ahead_s" in args[3]
        c.send_raw(bundle(time.time() + 1, ping(2), ping(3)))
        address, args = answer(c, bundle(time.time() + 1, ping(4)))  # the scheduler holds 2 already
        assert address == "/grym/error" and args[1:3] == [4, "busy"] and "server.max_scheduled" in args[3]
        assert sorted(c.recv(3)[1][0] for _ in range(2)) == [2, 3]


def test_malformed_bundles_run_nothing(osc_server: RunningServer) -> None:
    ping = message("/grym/system/ping", ("i", 1))
    good = bundle(None, ping)
    with osc_server.client() as c:
        # An element whose size runs past the packet's end: the valid ping before it must not run.
        address, args = answer(c, good + struct.pack(">i", 400) + ping)
        assert address == "/grym/error" and args[2] == "malformed" and "past the end" in args[3]
        address, args = answer(c, good + struct.pack(">i", 6) + ping[:6] + b"\x00\x00")
        assert address == "/grym/error" and args[2] == "malformed"
        deep = ping
        for _ in range(500):
            deep = bundle(None, deep)
        address, args = answer(c, deep)
        assert address == "/grym/error" and args[2] == "malformed" and "server.max_bundle_depth" in args[3]
        with pytest.raises(TimeoutError):
            c.recv(0.3)  # nothing of them ran


def test_deep_bundles_over_tcp_answer_and_keep_the_connection(osc_server: RunningServer) -> None:
    deep = message("/grym/system/ping", ("i", 1))
    for _ in range(500):
        deep = bundle(None, deep)
    with osc_server.client(tcp=True) as c:
        address, args = answer(c, deep)
        assert address == "/grym/error" and args[2] == "malformed"
        assert c.request("/grym/system/ping") == ("/grym/system/ping", [__version__])


@pytest.mark.parametrize("address, typed, word", [
    ("/grym/memory/forget", [("s", "9" * 25)], "64 bits"),  # too large for SQLite: refused before it
    ("/grym/session/get", [("[", None), ("s", "a"), ("]", None), ("s", "x")], "unknown option"),  # an array as option name
    ("/grym/fx/map", [("s", "[" * 30_000), ("s", "reaper")], ""),  # nested JSON
])
def test_bad_input_that_once_answered_internal(osc_server: RunningServer, address: str, typed: list, word: str) -> None:
    with osc_server.client() as c:
        got_address, args = answer(c, message(address, ("i", 3), *typed), timeout=10)
        assert got_address == "/grym/error" and args[2] not in ("internal",), args
        assert word in args[3]
