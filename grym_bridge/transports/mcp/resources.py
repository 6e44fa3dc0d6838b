"""MCP resources: what the bridge knows, readable by a client without calling a tool.

- `grym://session` (`grym://session/<id>`): the DAW session context (tempo, meter, key, ...).
- `grym://clips`: the clips in the feature memory, newest first (path, source, tags, feedback).
- `grym://clips/<id>`: one clip with its full analysis.

Each read is the same request a DAW would send (`/grym/session/get`,
`/grym/memory/list`, `/grym/memory/get`) through the bridge link.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types

from grym_bridge.errors import BadRequest
from grym_bridge.transports.mcp.link import BridgeLink, decode

SCHEME = "grym://"
#: Clips listed as their own resources (the rest stay reachable through grym://clips and the template).
LISTED_CLIPS = 50
JSON = "application/json"

TEMPLATES = [
    types.ResourceTemplate(uri_template="grym://session/{session}", name="session",
                           description="The context of one DAW session (one per project): tempo, time signature, "
                                       "key, sample rate, project, selected track.", mime_type=JSON),
    types.ResourceTemplate(uri_template="grym://clips/{clip_id}", name="clip",
                           description="One remembered clip: path, source, tags, provenance, feedback and its "
                                       "full analysis.", mime_type=JSON),
]


async def _json(link: BridgeLink, address: str, values: list[Any]) -> Any:
    reply = await link.request(address, values)
    return decode(reply.values[0]) if reply.values else None


async def listing(link: BridgeLink) -> list[types.Resource]:
    """The session, the clip list, and the newest clips one by one."""
    out = [
        types.Resource(uri="grym://session", name="session", title="DAW session context", mime_type=JSON,
                       description="Tempo, time signature, key, sample rate, project and selected track of the "
                                   "default session, shared with the DAW."),
        types.Resource(uri="grym://clips", name="clips", title="Clips in the memory", mime_type=JSON,
                       description="Every remembered clip (newest first): path, source, tags and feedback."),
    ]
    clips = (await _json(link, "/grym/memory/list", ["limit", LISTED_CLIPS]) or {}).get("clips", [])
    for clip in clips:
        tags = ", ".join(clip.get("tags") or [])
        out.append(types.Resource(uri=f"grym://clips/{clip['id']}", name=f"clip {clip['id']}", mime_type=JSON,
                                  title=str(clip.get("path", "")).rsplit("/", 1)[-1],
                                  description=f"{clip.get('source', '')} clip {clip.get('path', '')}"
                                              + (f" (tags: {tags})" if tags else "")))
    return out


async def read(link: BridgeLink, uri: str) -> Any:
    """The data behind a `grym://` URI (a bad or unknown URI is a BadRequest naming the valid ones)."""
    if not uri.startswith(SCHEME):
        raise BadRequest(f"{uri!r} is not a grym resource; read grym://session, grym://clips or grym://clips/<id>")
    parts = [p for p in uri[len(SCHEME):].split("/") if p]
    if parts[:1] == ["session"] and len(parts) <= 2:
        return await _json(link, "/grym/session/get", ["session", parts[1] if len(parts) == 2 else "default"])
    if parts == ["clips"]:
        return await _json(link, "/grym/memory/list", ["limit", 5000])
    if len(parts) == 2 and parts[0] == "clips" and parts[1].isdigit():
        return await _json(link, "/grym/memory/get", [int(parts[1]), "features", True])
    raise BadRequest(f"no resource {uri!r}; read grym://session[/<id>], grym://clips or grym://clips/<id>")
