"""The MCP server: tools from the route table, resources for what the bridge knows, jobs followed to the end.

Built on the SDK's low-level `Server` (the tool schemas are ours, from the
route table, not inferred from Python signatures). A tool call is one request
through a `BridgeLink`; a call that becomes a job is followed:

- the job's progress goes to the client as MCP progress notifications (when
  the client sent a progress token);
- when the job ends within `deadline_s`, its result is the tool's result;
- past the deadline the tool returns `{job_id, state, progress, message}`
  and the model polls `job_status` (the job keeps running);
- when the client cancels the call (`notifications/cancelled`), the job is
  cancelled on the bridge.

Every result is structured content (the JSON the bridge answered) plus a
short text summary; every failure is a tool error (`isError`) whose text is
the bridge's code and message, which say what to do.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Mapping

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from grym_bridge import __version__
from grym_bridge.api.routes import Route
from grym_bridge.errors import GrymError, error_code, error_message
from grym_bridge.results import dumps
from grym_bridge.transports.mcp import DEFAULT_DEADLINE_S, resources
from grym_bridge.transports.mcp.link import BridgeLink, JobWatch, decode
from grym_bridge.transports.mcp.tools import ToolSpec, tool_table

log = logging.getLogger(__name__)

#: Longest JSON copy of a result put in the text content (the whole result is in the structured content).
MAX_TEXT_JSON = 8000

INSTRUCTIONS = (
    "grym-bridge is the producer's local audio assistant: it can hear (analyze), remember (find_similar, "
    "remember, tag_clip, rate_clip), suggest and render effects (suggest_effects, render_chain, map_chain, "
    "mix_recommendations), generate audio (generate_audio, generate_like) and compose MIDI (compose). "
    "Paths are files on the bridge's machine under its allowed folders. Long tools report progress; when one "
    "returns a job id instead of a result, poll job_status with it. Read grym://session for tempo and key, "
    "and grym://clips for what the memory holds."
)


class McpBridge:
    """One MCP server over one bridge link; serve it over stdio (`grym mcp`) or streamable HTTP (`/mcp`)."""

    def __init__(self, link: BridgeLink, routes: Mapping[str, Route], *,
                 deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        self.link = link
        self.routes = routes
        self.tools = tool_table(routes)
        self.deadline_s = deadline_s
        self.server: Server[Any] = Server(
            "grym-bridge", version=__version__, title="grym-bridge", instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools, on_call_tool=self._call_tool,
            on_list_resources=self._list_resources, on_list_resource_templates=self._list_templates,
            on_read_resource=self._read_resource,
        )

    # -- tools ----------------------------------------------------------------------------

    def tool_definitions(self) -> list[types.Tool]:
        return [types.Tool(name=t.name, title=t.title, description=t.description,
                           input_schema=t.input_schema(self.routes),
                           annotations=types.ToolAnnotations(title=t.title, read_only_hint=t.read_only,
                                                             destructive_hint=t.destructive,
                                                             open_world_hint=False))
                for t in self.tools.values()]

    async def _list_tools(self, ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tool_definitions())

    async def _call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = self.tools.get(params.name)
        if tool is None:
            return error_result("unknown_tool", f"no tool {params.name!r}; tools: {', '.join(self.tools)}")
        arguments = dict(params.arguments or {})
        try:
            route = tool.route_for(self.routes, arguments)
            reply = await self.link.request(route.address, tool.request_values(route, arguments))
            if reply.job_id is None:
                return ok_result(tool, tool.reply_result(reply.values))
            return await self._follow(ctx, tool, reply.job_id)
        except GrymError as exc:
            return error_result(error_code(exc), error_message(exc))
        except Exception as exc:  # noqa: BLE001 - a bug answers this call as an error; the server keeps serving
            log.exception("MCP tool %s failed", params.name)
            return error_result(error_code(exc), error_message(exc))

    async def _follow(self, ctx: Any, tool: ToolSpec, job_id: int) -> types.CallToolResult:
        """Wait for a job until the deadline, sending its progress on; cancel it when the call is cancelled."""
        watch = self.link.watch(job_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_s
        try:
            while True:
                try:
                    event = await asyncio.wait_for(watch.events.get(), max(0.0, deadline - loop.time()))
                except (asyncio.TimeoutError, TimeoutError):
                    return await self._still_running(tool, watch)
                if event.kind == "progress":
                    await ctx.session.report_progress(event.fraction, 1.0, event.message or None)
                elif event.kind == "done":
                    return ok_result(tool, event.result, job_id=job_id)
                else:
                    return error_result(event.code, event.message, job_id=job_id)
        except asyncio.CancelledError:
            # The client cancelled the call (or went away): the job must not run on for nobody.
            try:
                self.link.send("/grym/job/cancel", [job_id])
            except GrymError:
                log.info("could not cancel job %s: the bridge connection is gone", job_id)
            raise
        finally:
            self.link.release(job_id)

    async def _still_running(self, tool: ToolSpec, watch: JobWatch) -> types.CallToolResult:
        state = {"job_id": watch.job_id, "state": "running", "progress": round(watch.fraction, 4),
                 "message": watch.message}
        try:
            status = await self.link.request("/grym/job/status", [watch.job_id])
            current = _first_json(status.values)
            state.update({k: current[k] for k in ("state", "progress", "message") if k in current})
        except GrymError:
            current = {}  # the last progress we saw is still a fair answer
        # It may have ended between the deadline and the status: then that is the answer.
        if current.get("state") == "done":
            return ok_result(tool, current.get("result"), job_id=watch.job_id)
        if current.get("state") in ("error", "cancelled"):
            error = current.get("error") or {}
            return error_result(str(error.get("code", current["state"])), str(error.get("message", "")),
                                job_id=watch.job_id)
        state["poll"] = f"the job is still {state['state']}: call job_status with job_id {watch.job_id}"
        text = (f"{tool.name} is still {state['state']} after {self.deadline_s:g} s "
                f"({round(100 * float(state['progress']))}%{', ' + state['message'] if state['message'] else ''}); "
                f"poll job_status with job_id {watch.job_id}, or cancel_job.")
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=state)

    # -- resources ------------------------------------------------------------------------

    async def _list_resources(self, ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=await resources.listing(self.link))

    async def _list_templates(self, ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=resources.TEMPLATES)

    async def _read_resource(self, ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            data = await resources.read(self.link, uri)
        except GrymError as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=f"{uri}: {error_code(exc)}: {error_message(exc)}") \
                from None
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type="application/json",
                                                                             text=dumps(data))])


def _first_json(values: list[Any]) -> dict[str, Any]:
    value = decode(values[0]) if values else {}
    return value if isinstance(value, dict) else {}


def ok_result(tool: ToolSpec, result: Any, *, job_id: int | None = None) -> types.CallToolResult:
    """A tool's result: the summary and the JSON as text, the data as structured content."""
    structured = tool.structured(result)
    summary = tool.summarize(result)
    if job_id is not None:
        summary += f" (job {job_id})"
    text = dumps(structured)
    if len(text) > MAX_TEXT_JSON:
        text = text[:MAX_TEXT_JSON] + " ... (cut; the whole result is in the structured content)"
    return types.CallToolResult(content=[types.TextContent(type="text", text=summary),
                                         types.TextContent(type="text", text=text)],
                                structured_content=structured)


def error_result(code: str, message: str, *, job_id: int | None = None) -> types.CallToolResult:
    """A tool error the model can read and act on: the bridge's code and message."""
    where = f" (job {job_id})" if job_id is not None else ""
    return types.CallToolResult(content=[types.TextContent(type="text", text=f"{code}{where}: {message}")],
                                structured_content={"error": {"code": code, "message": message, "job_id": job_id}},
                                is_error=True)
