"""The MCP tools: a curated list of addresses, each with words a model can act on.

A tool names its address (or, for `compose`, one address per `part`) and
says in plain words when to use it; everything about its arguments comes from
the route table: names, types, ranges (`minimum`/`maximum`), choices (`enum`),
defaults and help (`Route.schema()`, built from each route's `Arg` specs), so
a change to a handler's arguments changes the tool with it. A call becomes
the same request a DAW sends: positional arguments in the route's order, then
options as name/value pairs, dispatched through the one router with its
coercion, checks and allowed roots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from grym_bridge.api.routes import Route
from grym_bridge.errors import BadRequest
from grym_bridge.results import dumps
from grym_bridge.transports.mcp.link import decode

Summary = Callable[[Any], str]
#: Arguments that carry JSON in a string over OSC; a model may send them as JSON values instead.
JSON_VALUE_TYPES = ["string", "array", "object"]


@dataclass(frozen=True)
class ToolSpec:
    """One MCP tool over one address (or one address per value of `selector`)."""

    name: str
    title: str
    description: str
    #: The address, or {selector value: address} when one tool covers several (compose's parts).
    address: str | Mapping[str, str]
    selector: str = ""
    summary: Summary | None = None
    #: Names for the values of a plain (non-JSON) reply, e.g. ("clip_id", "tags").
    reply_names: tuple[str, ...] = ()
    #: Where a list result goes in the structured content (it must be an object).
    list_key: str = "result"
    #: String arguments that hold JSON (a chain, a list of stems); the tool also takes them as JSON values.
    json_args: tuple[str, ...] = ()
    read_only: bool = False
    destructive: bool = False

    def addresses(self) -> dict[str, str]:
        """{selector value: address}, or {"": address} for a tool over one address."""
        return dict(self.address) if not isinstance(self.address, str) else {"": self.address}

    def route_for(self, routes: Mapping[str, Route], arguments: Mapping[str, Any]) -> Route:
        """The route a call goes to (by its selector for a multi-address tool)."""
        choices = self.addresses()
        key = ""
        if self.selector:
            key = str(arguments.get(self.selector, ""))
            if key not in choices:
                raise BadRequest(f"{self.name}: '{self.selector}' must be one of {', '.join(choices)}; got {key!r}")
        return routes[choices[key]]

    def input_schema(self, routes: Mapping[str, Route]) -> dict[str, Any]:
        """A JSON Schema of the tool's arguments, from the routes' `Arg` specs."""
        choices = self.addresses()
        schemas = {key: routes[address].schema()["arguments"] for key, address in choices.items()}
        properties: dict[str, Any] = {}
        if self.selector:
            properties[self.selector] = {"type": "string", "enum": list(choices),
                                         "description": f"which {self.selector} to write"}
        for schema in schemas.values():
            for name, prop in schema["properties"].items():
                properties.setdefault(name, dict(prop))
        required = sorted(set.intersection(*(set(s["required"]) for s in schemas.values())))
        for name, prop in properties.items():
            if name == self.selector:
                continue
            users = [key for key, s in schemas.items() if name in s["properties"]]
            if self.selector and len(users) < len(schemas):
                needed = [key for key in users if name in schemas[key]["required"]]
                note = f"{self.selector} {', '.join(users)} only" + ("; required there" if needed else "")
                prop["description"] = f"({note}) {prop.get('description', '')}".strip()
            if name in self.json_args:
                prop["type"] = JSON_VALUE_TYPES
        return {"type": "object", "properties": properties,
                "required": ([self.selector] if self.selector else []) + required, "additionalProperties": False}

    def request_values(self, route: Route, arguments: Mapping[str, Any]) -> list[Any]:
        """Named arguments as the route's request values (JSON values of `json_args` sent as JSON text)."""
        given = {k: dumps(v) if isinstance(v, (list, dict)) and k in self.json_args else v
                 for k, v in arguments.items() if k != self.selector}
        caller = f"{self.name} ({self.selector} {arguments[self.selector]})" if self.selector else self.name
        return route.named_values(given, caller=caller)

    def structured(self, result: Any) -> dict[str, Any]:
        """A result as the object MCP's structured content must be."""
        if isinstance(result, dict):
            return result
        return {self.list_key: result}

    def reply_result(self, values: Sequence[Any]) -> Any:
        """A direct reply's values as data: a JSON reply as its object, plain values by name."""
        if len(values) == 1 and not self.reply_names:
            return decode(values[0])
        names = self.reply_names or tuple(f"value{i}" for i in range(len(values)))
        return {name: decode(value) for name, value in zip(names, values)}

    def summarize(self, result: Any) -> str:
        """One or two lines for the text content; the data is in the structured content."""
        if self.summary is not None:
            try:
                return self.summary(result)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError):
                pass  # an unexpected shape: fall back to the generic line
        return f"{self.name}: done"


# -- summaries ----------------------------------------------------------------------------------


def _num(value: Any, fmt: str = ".1f") -> str:
    return format(value, fmt) if isinstance(value, (int, float)) else "?"


def _analysis(r: dict[str, Any]) -> str:
    chords = r.get("harmonic_pattern") or []
    return (f"{r.get('key') or 'key unknown'}, {_num(r.get('tempo_bpm'))} BPM, {_num(r.get('lufs_integrated'))} LUFS "
            f"integrated, true peak {_num(r.get('true_peak_dbtp'))} dBTP, {_num(r.get('duration_s'))} s"
            + (f"; chords {' '.join(chords[:8])}" if chords else ""))


def _matches(r: list[dict[str, Any]]) -> str:
    if not r:
        return "no similar clips in the memory"
    best = r[0]
    return f"{len(r)} match(es); best: clip {best['id']} {best.get('path', '')} (score {_num(best.get('score'), '.3f')})"


def _added(r: dict[str, Any]) -> str:
    failed = r.get("failed") or []
    text = f"added clips {r.get('added', [])}, already known {r.get('known', [])}"
    return text + (f"; {len(failed)} failed: {failed[0].get('message', '')}" if failed else "")


def _chain(chain: list[dict[str, Any]]) -> str:
    return " -> ".join(str(p.get("plugin", "?")) for p in chain) or "no processing needed"


def _suggestion(r: dict[str, Any]) -> str:
    reasons = r.get("reasons") or []
    first = f"; first reason: {reasons[0].get('message', '')}" if reasons else ""
    return f"chain {_chain(r.get('chain') or [])} ({len(reasons)} reason(s)){first}"


def _render(r: dict[str, Any]) -> str:
    ab = r.get("ab")
    return (f"rendered {r.get('path')} ({_num(r.get('input_lufs'))} -> {_num(r.get('output_lufs'))} LUFS)"
            + (f"; loudness-matched A/B: {ab.get('a_path')} / {ab.get('b_path')}" if ab else ""))


def _mapping(r: dict[str, Any]) -> str:
    devices = [d.get("device", "?") for d in r.get("devices", [])]
    unmapped = r.get("unmapped") or []
    return f"{r.get('daw')}: {' -> '.join(devices) or 'no devices'}" + (f"; unmapped: {unmapped}" if unmapped else "")


def _mix(r: dict[str, Any]) -> str:
    stems = r.get("stems") or []
    moves = ", ".join(f"{s.get('name')} {_num(s.get('gain_db'), '+.1f')} dB" for s in stems[:6])
    return f"{len(stems)} stems: {moves}; {len(r.get('conflicts') or [])} masking conflict(s)"


def _generated(r: dict[str, Any]) -> str:
    files = [f.get("path") for f in r.get("files", [])]
    return f"{len(files)} file(s) from {r.get('model')} (seed {r.get('seed')}): {', '.join(map(str, files))}"


def _composed(r: dict[str, Any]) -> str:
    return (f"wrote {r.get('path')}: {r.get('kind')} in {r.get('key')}, {r.get('bars')} bars at "
            f"{_num(r.get('tempo'), 'g')} BPM ({r.get('style') or 'default style'}, seed {r.get('seed')})")


def _ask(r: dict[str, Any]) -> str:
    return str(r.get("explanation") or "done")


def _session(r: dict[str, Any]) -> str:
    shown = {k: v for k, v in r.items() if v not in (None, "")}
    return "session: " + ", ".join(f"{k} {v}" for k, v in shown.items())


def _job(r: dict[str, Any]) -> str:
    error = r.get("error") or {}
    tail = f": {error.get('code')}: {error.get('message')}" if error else (f" ({r.get('message')})" if r.get("message") else "")
    return f"job {r.get('job_id')} {r.get('state')} at {round(100 * float(r.get('progress') or 0))}%{tail}"


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec("analyze", "Analyze a clip", (
        "Listen to an audio file on the bridge's machine and measure it: integrated loudness (LUFS), true peak, "
        "tempo and beats, key and chords, spectral balance per band, stereo width, rhythm and harmony patterns. "
        "Use it before judging a mix or generating something that must fit. The path must be under the "
        "bridge's allowed folders."), "/grym/analyze/file", summary=_analysis, read_only=True),
    ToolSpec("find_similar", "Find similar clips", (
        "Search the producer's feature memory for clips that sound like a clip id, an audio file, or 'kept' "
        "(like the clips they kept). Set taste to re-rank by what they kept and rejected."),
        "/grym/memory/similar", summary=_matches, list_key="matches", read_only=True),
    ToolSpec("remember", "Remember clips", (
        "Analyze an audio file (or every file in a folder) and store it in the feature memory with tags, so "
        "find_similar and generation can use it later. Known content is not analyzed twice."),
        "/grym/memory/add", summary=_added, json_args=("tags",)),
    ToolSpec("tag_clip", "Tag a clip", (
        "Add tags to a remembered clip (or take them off with remove); tags teach the memory's classification."),
             "/grym/memory/tag", summary=lambda r: f"clip {r['clip_id']} tags: {', '.join(r['tags']) or 'none'}",
             reply_names=("clip_id", "tags"), json_args=("tags",)),
    ToolSpec("rate_clip", "Rate a clip", (
        "Record the producer's verdict on a remembered clip: a rating 0..5, kept, rejected or clear. It shifts "
        "what 'more like my kept clips' returns."), "/grym/memory/rate",
             summary=lambda r: f"clip {r['clip_id']} feedback: {r['feedback']}", reply_names=("clip_id", "feedback")),
    ToolSpec("suggest_effects", "Suggest an effect chain", (
        "Propose an effect chain for a clip with the measured reason for every move (tonal balance, dynamics, "
        "loudness target, optional reference track and style). Pass the chain to render_chain to hear it, or "
        "to map_chain for the DAW's own devices."), "/grym/fx/suggest", summary=_suggestion, read_only=True),
    ToolSpec("render_chain", "Render a chain", (
        "Render a clip through an effect chain (a list of {plugin, params}, or a suggest_effects result) to a "
        "new file under the bridge's renders folder; with ab, also a copy matched to the original's loudness "
        "for a fair A/B."), "/grym/fx/render", summary=_render, json_args=("chain",)),
    ToolSpec("map_chain", "Map a chain to DAW devices", (
        "Express an effect chain as Ableton Live or REAPER stock devices with their parameter values, so the "
        "producer can build it in the DAW."), "/grym/fx/map", summary=_mapping, json_args=("chain",),
        read_only=True),
    ToolSpec("mix_recommendations", "Mix recommendations", (
        "Recommend gain staging, masking EQ, pan and width for 2 or more stems (a folder, or a list of paths), "
        "with the reasons."), "/grym/mix/suggest", summary=_mix, json_args=("stems",), read_only=True),
    ToolSpec("generate_audio", "Generate audio from text", (
        "Generate audio from a text prompt with the bridge's text-to-audio model (AudioLDM), cut to whole bars "
        "at the session tempo and loudness-normalized; the files land in the renders folder and in the memory. "
        "Long: progress is reported, and past the deadline you get a job id to poll with job_status."),
        "/grym/generate/text", summary=_generated),
    ToolSpec("generate_like", "Generate audio like a clip", (
        "Generate audio like an existing clip (a path or a memory clip id): the prompt is built from its analysis "
        "and the producer's kept clips. Long, like generate_audio."), "/grym/generate/like", summary=_generated),
    ToolSpec("compose", "Compose MIDI", (
        "Write a MIDI clip in the session's key and tempo: chords, a melody, a bass line or drums in a style, "
        "or continue the producer's own .mid clip (part continue, with path). Returns the .mid file's path."),
        {"chords": "/grym/compose/chords", "melody": "/grym/compose/melody", "bass": "/grym/compose/bass",
         "drums": "/grym/compose/drums", "continue": "/grym/compose/continue"}, selector="part",
        summary=_composed),
    ToolSpec("ask", "Ask in words", (
        "Hand the bridge a request in words ('make this loop darker and wider', 'find clips like this and "
        "suggest effects') with an optional clip: it plans a chain of its own steps and runs them as one job."),
        "/grym/ask", summary=_ask),
    ToolSpec("session_get", "Read the session", (
        "The DAW session context the bridge works in: tempo, time signature, key, sample rate, project and "
        "selected track (shared with the DAW)."), "/grym/session/get", summary=_session, read_only=True),
    ToolSpec("session_set", "Change the session", (
        "Set one value of the session context (tempo, time_signature, key, sample_rate, project, "
        "selected_track); the DAW and every later request see it."), "/grym/session/set",
        summary=lambda r: f"session {r['key']} = {r['value']!r}", reply_names=("key", "value")),
    ToolSpec("job_status", "Job status", (
        "State, progress, result or error of a job: poll it with the job id a long tool call returned."),
        "/grym/job/status", summary=_job, read_only=True),
    ToolSpec("cancel_job", "Cancel a job", (
        "Stop a queued or running job (a generation or analysis you no longer need); it ends in the state "
        "cancelled."), "/grym/job/cancel",
             summary=lambda r: f"job {r['job_id']} {r['state']}", reply_names=("job_id", "state"), destructive=True),
)


def tool_table(routes: Mapping[str, Route], tools: Sequence[ToolSpec] = TOOLS) -> dict[str, ToolSpec]:
    """The tools whose addresses the bridge serves, by name (a missing address is a bug: said at once)."""
    missing = [f"{t.name}: {a}" for t in tools for a in t.addresses().values() if a not in routes]
    if missing:
        raise ValueError("MCP tools name addresses the router lacks: " + "; ".join(missing))
    return {t.name: t for t in tools}


__all__ = ["TOOLS", "ToolSpec", "tool_table"]
