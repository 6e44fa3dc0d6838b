"""The tool list as a client sees it: names, descriptions and JSON Schemas generated from the route table."""

from __future__ import annotations

from typing import Any

import jsonschema

from grym_bridge.api import all_routes
from grym_bridge.api.routes import Arg, Route
from grym_bridge.config import Config
from grym_bridge.transports.mcp.tools import TOOLS, ToolSpec, tool_table
from tests.mcp.conftest import mcp_session, run

EXPECTED_TOOLS = {"analyze", "find_similar", "remember", "tag_clip", "rate_clip", "suggest_effects", "render_chain",
                  "map_chain", "mix_recommendations", "generate_audio", "generate_like", "compose", "ask",
                  "session_get", "session_set", "job_status", "cancel_job"}


def _listed(config: Config) -> tuple[dict[str, Any], Any]:
    async def body() -> tuple[dict[str, Any], Any]:
        async with mcp_session(config) as s:
            return {t.name: t for t in (await s.client.list_tools()).tools}, s.client.server_info

    return run(body())


def test_the_client_lists_the_curated_tools_with_valid_schemas(config: Config) -> None:
    tools, info = _listed(config)
    assert set(tools) == EXPECTED_TOOLS
    assert info.name == "grym-bridge"
    for tool in tools.values():
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)  # a schema a client can validate with
        assert tool.input_schema["additionalProperties"] is False
        assert len(tool.description) > 40, f"{tool.name}: a model needs more than {tool.description!r}"
    assert tools["analyze"].annotations.read_only_hint is True
    assert tools["cancel_job"].annotations.destructive_hint is True


def test_ranges_enums_and_defaults_come_from_the_routes_arg_specs(config: Config) -> None:
    tools, _ = _listed(config)
    routes = {r.address: r for r in all_routes()}
    k = next(a for a in routes["/grym/memory/similar"].options if a.name == "k")
    similar = tools["find_similar"].input_schema["properties"]
    assert (similar["k"]["minimum"], similar["k"]["maximum"], similar["k"]["default"]) == (k.min, k.max, k.default)
    assert similar["space"]["enum"] == ["features", "embedding"]
    generate = tools["generate_audio"].input_schema
    assert generate["required"] == ["prompt"]
    assert generate["properties"]["scheduler"]["enum"] == ["dpm++", "ddim", "euler", "pndm", "model"]
    assert generate["properties"]["n"]["maximum"] == 16 and generate["properties"]["n"]["type"] == "integer"
    assert tools["map_chain"].input_schema["properties"]["daw"]["enum"] == ["reaper", "ableton"]
    # A chain may come as JSON (what a model writes) or as text (what OSC carries).
    assert "array" in tools["render_chain"].input_schema["properties"]["chain"]["type"]


def test_compose_covers_every_part_and_says_which_arguments_belong_to_which(config: Config) -> None:
    tools, _ = _listed(config)
    schema = tools["compose"].input_schema
    props = schema["properties"]
    assert schema["required"] == ["part"]
    assert props["part"]["enum"] == ["chords", "melody", "bass", "drums", "continue"]
    assert props["path"]["description"].startswith("(part continue only; required there)")
    assert props["style"]["description"].startswith("(part chords, melody, bass, drums only)")
    assert "description" in props["bars"] and not props["bars"]["description"].startswith("(")
    assert props["bars"]["minimum"] == 1 and props["bars"]["maximum"] == 256


def test_a_changed_arg_spec_changes_the_tool_schema() -> None:
    """Generated, not copied: a route's new range and choices show up in the tool as they are."""
    def handler(req: Any, level: int, mode: str) -> None: ...

    route = Route("/grym/test/thing", handler, args=[Arg("level", int, min=3, max=7, help="how much")],
                  options=[Arg("mode", str, "a", choices=("a", "b"), help="which way")], reply="<req_id> ok")
    spec = ToolSpec("thing", "Thing", "Does the thing for a test of the schema generation.", route.address)
    schema = spec.input_schema({route.address: route})
    assert schema["properties"]["level"] == {"type": "integer", "description": "how much", "minimum": 3, "maximum": 7}
    assert schema["properties"]["mode"]["enum"] == ["a", "b"] and schema["required"] == ["level"]
    assert spec.request_values(route, {"level": 5, "mode": "b"}) == [5, "mode", "b"]


def test_every_tool_names_an_address_the_router_serves() -> None:
    routes = {r.address: r for r in all_routes()}
    assert set(tool_table(routes)) == {t.name for t in TOOLS}
    del routes["/grym/fx/map"]
    try:
        tool_table(routes)
    except ValueError as exc:
        assert "map_chain: /grym/fx/map" in str(exc)
    else:
        raise AssertionError("a tool over a missing address must be refused")
