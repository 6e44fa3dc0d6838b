"""OSCQuery over HTTP from the live route table of a real server."""

from __future__ import annotations

import httpx

from tests.osc_client import RunningServer


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
    assert hello["RANGE"][1] == {"MIN": 1, "MAX": 65535} and hello["RANGE"][0] is None
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
