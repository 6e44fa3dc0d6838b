"""Plans: the chain of steps a request turns into, its JSON schema and its validation.

A plan is what a planner (rules or an LLM) proposes and what the chain
executor runs. It is plain data, so an LLM can write it and a client can read
it back in the `plan` field of an `ask` result::

    {"steps": [{"step": "analyze"},
               {"step": "suggest_fx", "args": {"goals": ["darker", "wider"]}},
               {"step": "render"}],
     "explanation": "Analyze the clip, pick effects that make it darker and wider, render them."}

`validate_plan` checks untrusted plans (an LLM's output) and names the bad
step, so the LLM planner can fall back to the rules with a useful log line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from grym_bridge.errors import BadRequest
from grym_bridge.values import to_float, to_int

#: Every step a plan may name, with what it does (the LLM sees these descriptions).
STEP_DESCRIPTIONS: dict[str, str] = {
    "analyze": "Analyze the current clip: loudness, tempo, key, spectral balance.",
    "memory_lookup": "Find clips in memory similar to the current clip. args: k (how many).",
    "suggest_fx": "Suggest an effect chain for the current clip. args: goals (list of words such as darker, wider), "
                  "fix (problems: rumble, mud, boom, harsh, sibilant, thin, dull), "
                  "target (loudness destination: streaming, club, broadcast, podcast).",
    "render": "Render the suggested effect chain onto the current clip; the result becomes the current clip.",
    "generate": "Generate audio from text. args: prompt, duration_s.",
    "conform": "Fit the current clip to the session tempo, key and bar length. args: tempo, key, bars.",
    "compose": "Compose MIDI. args: part (chords, melody, bass, drums, continue), key, tempo, bars.",
    "store": "Remember the current clip in memory. args: tags (list of words).",
}

#: The words a planner may use as effect goals.
FX_GOALS = ("darker", "brighter", "warmer", "punchier", "wider", "tighter", "louder", "airier", "lofi", "quieter",
            "mono", "narrower")
#: Problems a plan may ask the fx engine to fix, and the loudness destinations it may master for.
FX_FIXES = ("rumble", "mud", "boom", "harsh", "sibilant", "thin", "dull")
FX_TARGETS = ("streaming", "club", "broadcast", "podcast")
COMPOSE_PARTS = ("chords", "melody", "bass", "drums", "continue")
#: What an analyze step may be asked to answer in words.
ANALYZE_QUESTIONS = ("key", "tempo", "loudness")
MAX_STEPS = 12
#: Fallbacks one plan step may list (each a step without fallbacks of its own).
MAX_FALLBACKS = 3


@dataclass
class Step:
    """One step of a chain: a registered step name, its arguments and its fallbacks.

    `optional` steps (storing a result in memory, say) may fail without failing
    the chain: their error is reported in the result instead.
    """

    step: str
    args: dict[str, Any] = field(default_factory=dict)
    fallbacks: list["Step"] = field(default_factory=list)
    optional: bool = False

    def describe(self) -> str:
        shown = {k: v for k, v in self.args.items() if v not in (None, [], "")}
        return f"{self.step}({', '.join(f'{k}={v}' for k, v in shown.items())})"


@dataclass
class Plan:
    """An ordered chain of steps, why it was chosen, and who planned it (`rules`, `ollama`, `openai`)."""

    steps: list[Step]
    explanation: str = ""
    planner: str = "rules"
    #: Set when the plan came from a fallback planner: why the preferred one was not used.
    fallback_reason: str | None = None

    @property
    def names(self) -> list[str]:
        return [s.step for s in self.steps]

    def needs_input(self) -> bool:
        """Whether the first audio-using step runs before anything produces audio."""
        for s in self.steps:
            if s.step in ("generate",):
                return False
            if s.step in ("analyze", "memory_lookup", "suggest_fx", "render", "conform", "store"):
                return True
            if s.step == "compose":
                return s.args.get("part") == "continue" or s.args.get("key") == "from_clip"
        return False


def plan_schema(step_names: Iterable[str] = STEP_DESCRIPTIONS) -> dict[str, Any]:
    """The JSON schema of a plan, as sent to Ollama's `format` and OpenAI's `response_format`.

    Deliberately flat (no `$ref`, no fallbacks): small local models follow flat
    schemas far more reliably, and fallbacks are the executor's business.
    """
    return {
        "type": "object",
        "properties": {
            "steps": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_STEPS,
                "items": {
                    "type": "object",
                    "properties": {
                        "step": {"type": "string", "enum": sorted(step_names)},
                        "args": {"type": "object"},
                    },
                    "required": ["step"],
                },
            },
            "explanation": {"type": "string"},
        },
        "required": ["steps", "explanation"],
    }


def _check_args(index: int, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """Type-check the arguments the executor relies on; other keys pass through."""
    where = f"plan step {index + 1} ({name})"
    out = dict(args)
    if name == "suggest_fx":
        goals = out.get("goals", [])
        if isinstance(goals, str):
            goals = [goals]
        if not isinstance(goals, list) or not all(isinstance(g, str) for g in goals):
            raise BadRequest(f"{where}: 'goals' must be a list of words such as {', '.join(FX_GOALS[:3])}")
        unknown = [g for g in goals if g not in FX_GOALS]
        if unknown:
            raise BadRequest(f"{where}: unknown effect goal {unknown[0]!r}; use one of {', '.join(FX_GOALS)}")
        out["goals"] = goals
        fixes = out.get("fix", [])
        if isinstance(fixes, str):
            fixes = [fixes]
        if not isinstance(fixes, list) or any(f not in FX_FIXES for f in fixes):
            raise BadRequest(f"{where}: 'fix' must be a list of problems from {', '.join(FX_FIXES)}; got {fixes!r}")
        if fixes:
            out["fix"] = fixes
        if out.get("target") is not None and out["target"] not in FX_TARGETS:
            raise BadRequest(f"{where}: unknown loudness target {out['target']!r}; use one of {', '.join(FX_TARGETS)}")
    elif name == "analyze" and out.get("questions") is not None:
        asked = out["questions"]
        asked = [asked] if isinstance(asked, str) else asked  # "key" is one question, not three letters
        if not isinstance(asked, list) or not all(q in ANALYZE_QUESTIONS for q in asked) or len(asked) > 3:
            raise BadRequest(f"{where}: 'questions' must be a list of {', '.join(ANALYZE_QUESTIONS)}")
        out["questions"] = asked
    elif name == "compose":
        part = out.get("part", "chords")
        if part not in COMPOSE_PARTS:
            raise BadRequest(f"{where}: unknown part {part!r}; use one of {', '.join(COMPOSE_PARTS)}")
        out["part"] = part
    elif name == "generate":
        prompt = out.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise BadRequest(f"{where}: 'prompt' must be a non-empty text describing the sound")
    for key, convert in (("tempo", to_float), ("duration_s", to_float), ("bars", to_int), ("k", to_int)):
        if key in out and out[key] is not None:
            try:
                value = convert(out[key])
            except ValueError:
                value = None
            if value is None or value <= 0:
                kind = "positive number" if convert is to_float else "positive whole number"
                raise BadRequest(f"{where}: '{key}' must be a {kind}, got {out[key]!r}")
            out[key] = value
    return out


def step_from_dict(index: int, raw: Any, known: Iterable[str], *, nested: bool = False) -> Step:
    """One step from untrusted JSON, or `BadRequest` naming the step and what was wrong.

    A step's fallbacks are steps without fallbacks of their own: a plan has a
    fixed, shallow shape, so nothing an LLM writes recurses without end here.
    """
    known = list(known)
    if not isinstance(raw, Mapping):
        raise BadRequest(f"plan step {index + 1} must be an object with a 'step' name, got {raw!r}")
    name = raw.get("step")
    if name not in known:
        raise BadRequest(f"plan step {index + 1}: unknown step {name!r}; known steps: {', '.join(known)}")
    args = raw.get("args") or {}
    if not isinstance(args, Mapping):
        raise BadRequest(f"plan step {index + 1} ({name}): 'args' must be an object, got {args!r}")
    raw_fallbacks = raw.get("fallbacks") or []
    if not isinstance(raw_fallbacks, list) or len(raw_fallbacks) > MAX_FALLBACKS:
        raise BadRequest(f"plan step {index + 1} ({name}): 'fallbacks' must be a list of at most {MAX_FALLBACKS} steps")
    if raw_fallbacks and nested:
        raise BadRequest(f"plan step {index + 1} ({name}): a fallback step cannot have fallbacks of its own")
    fallbacks = [step_from_dict(index, fb, known, nested=True) for fb in raw_fallbacks]
    return Step(name, _check_args(index, name, args), fallbacks, bool(raw.get("optional", False)))


def validate_plan(data: Any, known: Iterable[str] = STEP_DESCRIPTIONS, *, planner: str = "rules") -> Plan:
    """A `Plan` from untrusted data (a dict or a JSON string), or `BadRequest` naming the bad part."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise BadRequest(f"the plan is not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise BadRequest(f"a plan must be a JSON object with 'steps', got {type(data).__name__}")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise BadRequest("a plan needs a non-empty list 'steps'")
    if len(steps) > MAX_STEPS:
        raise BadRequest(f"a plan has at most {MAX_STEPS} steps, this one has {len(steps)}")
    known = list(known)
    parsed = [step_from_dict(i, s, known) for i, s in enumerate(steps)]
    explanation = data.get("explanation", "")
    if not isinstance(explanation, str):
        raise BadRequest("the plan's 'explanation' must be text")
    return Plan(parsed, explanation.strip(), planner)
