"""Random and malformed datagrams never stop the server (hypothesis)."""

from __future__ import annotations

import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grym_bridge import __version__
from grym_bridge.transports.osc.server import encode
from tests.osc_client import OscClient, RunningServer, osc_server  # noqa: F401

osc_args = st.lists(st.one_of(st.integers(-2**31, 2**31 - 1), st.floats(width=32, allow_nan=True), st.text(st.characters(blacklist_characters='\x00', blacklist_categories=('Cs',)), max_size=40),
                              st.binary(min_size=1, max_size=40), st.booleans(), st.none()), max_size=6)
addresses = st.one_of(st.sampled_from(["/grym/system/ping", "/grym/system/hello", "/grym/job/cancel",
                                       "/grym/job/status", "/grym/job/start_listen/progress", "/grym/system/selftest"]),
                      st.text(alphabet="/abcdefgrym_", min_size=1, max_size=30).map(lambda s: "/" + s))


def fuzz_packets() -> st.SearchStrategy[bytes]:
    well_formed = st.builds(lambda a, x: encode(a, x), addresses, osc_args)
    mutated = st.builds(lambda data, cut, junk: data[:cut] + junk, well_formed, st.integers(0, 64), st.binary(max_size=16))
    return st.one_of(st.binary(max_size=200), well_formed, mutated, st.just(b"#bundle\x00" + b"\xff" * 12))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(packets=st.lists(fuzz_packets(), min_size=1, max_size=5))
def test_random_datagrams_never_stop_the_server(osc_server: RunningServer, packets: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        for packet in packets:
            raw.sendto(packet, ("127.0.0.1", osc_server.port))
    with OscClient(osc_server.port) as c:
        # The fuzzer may have said hello with a random port for 127.0.0.1; a client's own hello wins.
        c.send("/grym/system/hello", 0, c.sock.getsockname()[1])
        assert c.recv()[0] == "/grym/system/hello"
        assert c.request("/grym/system/ping", timeout=5) == ("/grym/system/ping", [__version__])


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=st.binary(min_size=1, max_size=300))
def test_random_tcp_bytes_never_stop_the_server(osc_server: RunningServer, stream: bytes) -> None:
    with socket.create_connection(("127.0.0.1", osc_server.port), timeout=5) as raw:
        raw.sendall(stream)
    with OscClient(osc_server.port, tcp=True) as c:
        assert c.request("/grym/system/ping", timeout=5) == ("/grym/system/ping", [__version__])
