"""The route table carries what every transport needs: argument types, ranges, choices, replies, jobs, queues."""

from __future__ import annotations

import json

from grym_bridge.api import build_router, reference
from grym_bridge.app import build_services
from grym_bridge.config import Config

JSON_TYPES = {"integer", "number", "string", "boolean", "object"}


def test_every_address_is_described_as_data(config: Config) -> None:
    table = reference(build_router(build_services(config)))
    json.dumps(table)  # JSON-able as it is: HTTP and MCP serve it
    by_address = {entry["address"]: entry for entry in table}
    assert "/grym/system/start_listen/queue" in by_address  # the subscription routes too
    for entry in table:
        args = entry["arguments"]
        assert set(entry["positional"]) <= set(args["properties"]), entry["address"]
        assert set(args["required"]) <= set(entry["positional"]), entry["address"]
        assert all(p["type"] in JSON_TYPES for p in args["properties"].values()), entry["address"]
        assert entry["description"], f"{entry['address']} has no description"
        assert (entry["resource"] in ("cpu", "gpu", "auto")) if entry["job"] else entry["resource"] is None

    render = by_address["/grym/fx/render"]
    assert render["job"] and render["resource"] == "cpu" and render["positional"] == ["path", "chain"]
    assert render["arguments"]["required"] == ["path", "chain"]
    assert render["arguments"]["properties"]["ab"] == {
        "type": "boolean", "description": "also write the render matched to the original's loudness", "default": False}
    assert by_address["/grym/generate/text"]["resource"] == "gpu"
    assert by_address["/grym/ask"]["resource"] == "auto"
    similar = by_address["/grym/memory/similar"]["arguments"]["properties"]
    assert similar["k"]["minimum"] == 1 and similar["k"]["maximum"] == 1000
    assert similar["space"]["enum"] == ["features", "embedding"]
    assert not by_address["/grym/system/ping"]["job"] and by_address["/grym/system/ping"]["domain"] == "system"
