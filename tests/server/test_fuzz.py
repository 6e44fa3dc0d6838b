"""Random and malformed packets over UDP and TCP (hypothesis): the server keeps serving, never answers
`internal` and never logs a traceback (issue 13.5, 14.11)."""

from __future__ import annotations

import logging
import socket
import struct
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pythonosc.osc_packet import OscPacket

from grym_bridge import __version__
from grym_bridge.transports.osc.codec import SLIP_END, encode, length_frame, slip_frame, slip_unframe
from tests.osc_client import OscClient, RunningServer, osc_server  # noqa: F401

text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40)
scalar = st.one_of(st.integers(-2**63, 2**63 - 1), st.floats(width=32, allow_nan=True), text,
                   st.binary(min_size=1, max_size=40), st.booleans(), st.none(),
                   st.sampled_from(["{" * 40, "[" * 3000, '{"a": [1, {"b": null}]}', "-1", "1e400", "../../etc/passwd"]))
osc_args = st.lists(st.one_of(scalar, st.lists(scalar, max_size=3)), max_size=6)
addresses = st.one_of(
    st.sampled_from(["/grym/system/ping", "/grym/system/hello", "/grym/job/cancel", "/grym/job/status",
                     "/grym/job/start_listen/progress", "/grym/session/set", "/grym/session/get", "/grym/memory/forget",
                     "/grym/memory/similar", "/grym/fx/map", "/grym/compose/chords", "/grym/system/p*", "//ping",
                     "/grym/{session,system}/[a-z]et", "/grym/*/stop_listen/*", "/grym/[!"]),
    st.text(alphabet="/abcdefgrym_*?[]{}!,", min_size=1, max_size=30).map(lambda s: "/" + s))


def bundle(elements: list[bytes], seconds: int) -> bytes:
    return b"#bundle\x00" + struct.pack(">II", seconds, 1) + b"".join(struct.pack(">i", len(e)) + e for e in elements)


def fuzz_packets() -> st.SearchStrategy[bytes]:
    well_formed = st.builds(lambda a, x: encode(a, x), addresses, osc_args)
    mutated = st.builds(lambda data, cut, junk: data[:cut] + junk, well_formed, st.integers(0, 64), st.binary(max_size=16))
    bundles = st.builds(bundle, st.lists(st.one_of(well_formed, mutated), max_size=3), st.sampled_from([0, 1, 2**32 - 1]))
    return st.one_of(st.binary(max_size=200), well_formed, mutated, bundles, st.just(b"#bundle\x00" + b"\xff" * 12))


def replies(sock: socket.socket, tcp: bool, length: bool = False) -> Iterator[tuple[str, list]]:
    """Every message waiting on `sock` (briefly), decoded (TCP: SLIP frames, or length-prefixed ones)."""
    sock.settimeout(0.1)
    data = b""
    try:
        while chunk := (sock.recv(65536)):
            if not tcp:
                yield from _messages(chunk)
            else:
                data += chunk
    except (socket.timeout, ConnectionError):
        pass
    if length:
        while len(data) >= 4:
            size = struct.unpack_from(">i", data)[0]
            if size <= 0:  # a SLIP error frame: the stream was refused before any length-prefixed reply
                yield from _messages(slip_unframe(data.strip(SLIP_END)))
                return
            yield from _messages(data[4:4 + size])
            data = data[4 + size:]
        return
    for frame in filter(None, data.split(SLIP_END)):
        yield from _messages(slip_unframe(frame))


def _messages(packet: bytes) -> Iterator[tuple[str, list]]:
    try:
        for m in OscPacket(packet).messages:
            yield m.message.address, list(m.message.params)
    except Exception:  # noqa: BLE001 - a length-prefixed reply read as SLIP: not what this test checks
        return


def no_internal_and_no_traceback(got: list[tuple[str, list]], caplog: pytest.LogCaptureFixture) -> None:
    internal = [args for address, args in got if address == "/grym/error" and len(args) > 2 and args[2] == "internal"]
    assert not internal, internal
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert not tracebacks, tracebacks


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(packets=st.lists(fuzz_packets(), min_size=1, max_size=5))
def test_random_datagrams_never_answer_internal(osc_server: RunningServer, caplog: pytest.LogCaptureFixture,
                                                packets: list[bytes]) -> None:
    caplog.set_level(logging.INFO)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.bind(("127.0.0.1", 0))
        for packet in packets:
            raw.sendto(packet, ("127.0.0.1", osc_server.port))
        got = list(replies(raw, tcp=False))
    no_internal_and_no_traceback(got, caplog)
    with OscClient(osc_server.port) as c:  # a hello of the fuzzer applies to its own socket only
        assert c.request("/grym/system/ping", timeout=5) == ("/grym/system/ping", [__version__])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(packets=st.lists(fuzz_packets(), min_size=1, max_size=4), framing=st.sampled_from(["slip", "length", "raw"]))
def test_random_tcp_streams_never_answer_internal(osc_server: RunningServer, caplog: pytest.LogCaptureFixture,
                                                  packets: list[bytes], framing: str) -> None:
    caplog.set_level(logging.INFO)
    frame = {"slip": slip_frame, "length": length_frame, "raw": lambda p: p}[framing]
    with socket.create_connection(("127.0.0.1", osc_server.port), timeout=5) as raw:
        try:
            raw.sendall(b"".join(frame(p) for p in packets))
        except ConnectionError:
            pass
        got = list(replies(raw, tcp=True, length=framing == "length" and packets[0][:1] in (b"/", b"#")))
    no_internal_and_no_traceback(got, caplog)
    with OscClient(osc_server.port, tcp=True) as c:
        assert c.request("/grym/system/ping", timeout=5) == ("/grym/system/ping", [__version__])
