"""OSCQuery over HTTP from the live route table of a real server."""

from __future__ import annotations

import httpx
import pytest

from grym_bridge.config import Config
from tests.osc_client import RunningServer, osc_server  # noqa: F401 - the fixture


def get(server: RunningServer, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{server.services.endpoints['oscquery']}{path}", timeout=5)


def test_tree_lists_every_registered_address_with_types_and_docs(bridge: RunningServer) -> None:
    tree = get(bridge, "/").json()
    assert tree["FULL_PATH"] == "/" and tree["ACCESS"] == 0

    def methods(node: dict) -> dict[str, dict]:
        out = {}
        for child in node.get("CONTENTS", {}).values():
            if "TYPE" in child:
                out[child["FULL_PATH"]] = child
            out.update(methods(child))
        return out

    found = methods(tree)
    assert set(found) == set(bridge.services.router.routes)
    hello = found["/grym/system/hello"]
    assert hello["TYPE"] == "sis" and hello["ACCESS"] == 2
    assert hello["RANGE"][1] == {"MIN": 0, "MAX": 65535} and hello["RANGE"][0] is None
    assert [a["name"] for a in hello["GRYM_ARGS"]] == ["req_id", "reply_port", "token"]
    assert hello["DESCRIPTION"] == bridge.services.router.routes["/grym/system/hello"].doc
    bars = next(o for o in found["/grym/compose/chords"]["GRYM_OPTIONS"] if o["name"] == "bars")
    assert bars == {"name": "bars", "type": "int", "required": False, "help": "length in bars", "default": 8}


def test_one_node_one_attribute_and_host_info(bridge: RunningServer) -> None:
    node = get(bridge, "/grym/system/ping").json()
    assert node["FULL_PATH"] == "/grym/system/ping" and node["TYPE"] == "s"
    assert get(bridge, "/grym/system").json()["CONTENTS"]["ping"] == node
    assert get(bridge, "/grym/system/ping?TYPE").json() == {"TYPE": "s"}
    info = get(bridge, "/?HOST_INFO").json()
    assert info["OSC_PORT"] == bridge.port and info["OSC_TRANSPORT"] == "UDP" and info["OSC_IP"] == "127.0.0.1"
    assert info["EXTENSIONS"]["RANGE"] is True and info["EXTENSIONS"]["VALUE"] is False


def test_unknown_paths_and_attributes(bridge: RunningServer) -> None:
    missing = get(bridge, "/grym/nope")
    assert missing.status_code == 404 and "/grym/nope" in missing.json()["error"]
    bad = get(bridge, "/grym/system/ping?COLOUR")
    assert bad.status_code == 400 and "TYPE" in bad.json()["error"]
    assert get(bridge, "/grym?TYPE").status_code == 204  # a container has no type


def test_value_of_a_write_only_method_is_204_and_head_is_answered(bridge: RunningServer) -> None:
    """The proposal: a node without a VALUE (ACCESS 2, write-only) answers ?VALUE with 204; HEAD is GET without a body."""
    assert get(bridge, "/grym/system/ping?VALUE").status_code == 204
    base = f"http://127.0.0.1:{bridge.services.endpoints['oscquery']}"
    head = httpx.head(f"{base}/", timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(get(bridge, "/").content)
    assert httpx.head(f"{base}/grym/nope", timeout=5).status_code == 404


@pytest.fixture
def tight_oscquery(small_limits: Config) -> Config:
    small_limits.network.oscquery_max_connections = 4
    small_limits.network.oscquery_timeout_s = 1.0
    return small_limits


@pytest.fixture
def tight_bridge(tight_oscquery: Config, osc_server: RunningServer) -> RunningServer:  # noqa: F811
    return osc_server


def test_silent_connections_are_capped_and_time_out(tight_bridge: RunningServer) -> None:
    """Issue 14.8: connections that send nothing hold no thread past the timeout, and past the cap get 503."""
    import socket
    import time

    bridge = tight_bridge
    port = bridge.services.endpoints["oscquery"]
    silent = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(4)]
    time.sleep(0.3)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as extra:
        assert extra.recv(200).startswith(b"HTTP/1.0 503")
    started = time.monotonic()
    for sock in silent:  # the server closes each silent connection after the timeout
        sock.settimeout(5)
        data = sock.recv(1000)
        assert data == b"" or b"408" in data
        sock.close()
    assert time.monotonic() - started < 3
    time.sleep(0.2)
    assert get(bridge, "/grym/system/ping").status_code == 200  # slots are free again
