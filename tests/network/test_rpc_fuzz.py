"""Random frames and bytes on the RPC never stop the server or leave files behind (hypothesis)."""

from __future__ import annotations

import contextlib
import struct

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grym_bridge.transports.rpc.framing import data_frame_prefix, pack_frame
from tests.network.conftest import RawRpc, rpc_port
from tests.network.test_rpc_bad_input import nothing_kept, still_serves
from tests.osc_client import RunningServer

values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                                st.text(max_size=20), st.binary(max_size=64)),
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                      max_leaves=12)
kinds = st.sampled_from(["osc", "put", "data", "end", "get", "ping", "bye", "hello", "welcome", "_sink_failed", "x"])
frames = st.builds(lambda kind, fields: {**fields, "t": kind}, kinds,
                   st.dictionaries(st.sampled_from(["id", "name", "size", "data", "blake3", "path", "address", "args"]),
                                   values, max_size=5))


def chunk() -> st.SearchStrategy[bytes]:
    framed = frames.map(pack_frame)
    upload_bits = st.builds(lambda tid, n: data_frame_prefix(tid, n) + b"\x00" * min(n, 300),
                            st.integers(0, 3), st.integers(0, 2000))
    cut = st.builds(lambda data, at: data[:at], framed, st.integers(0, 40))
    length_only = st.integers(0, 2**32 - 1).map(lambda n: struct.pack(">I", n))
    not_a_map = st.builds(lambda v: (lambda b: struct.pack(">I", len(b)) + b)(msgpack.packb(v)), values)
    return st.one_of(framed, upload_bits, cut, length_only, not_a_map, st.binary(max_size=64))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=st.lists(chunk(), min_size=1, max_size=6), greet=st.booleans())
def test_random_frames_never_stop_the_server(bridge: RunningServer, stream: list[bytes], greet: bool) -> None:
    raw = RawRpc(rpc_port(bridge), hello=greet)
    # The server may close on the first bad frame (an allowed answer), so later sends may fail.
    with contextlib.suppress(OSError):
        for piece in stream:
            raw.send_raw(piece)
    raw.close()
    assert still_serves(bridge)
    assert nothing_kept(bridge)
