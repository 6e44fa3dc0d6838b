"""The controller mapping: a TOML file that binds notes, CCs and program changes to requests.

    presets = ["warm analog pad", "dusty vinyl drums"]   # prompts the preset actions step through
    vars = { guidance = 3.5 }                            # values controls set and requests read

    [[bind]]
    cc = 22
    set = "guidance"       # the knob only sets $guidance ...
    range = [1.0, 10.0]

    [[bind]]
    note = 36              # or cc = 21, or program = 3
    channel = 10           # 1-16; leave out for any channel
    address = "/grym/compose/drums"    # any OSC address of the bridge...
    args = ["$preset"]     # ...with its arguments; $-placeholders are filled from the message and vars
    options = { bars = 4 }
    feedback = "note"      # LED: note, cc or none; queued/done/error set the velocity or value

A binding turns a MIDI message into exactly the request an OSC client would
send, so every feature reached over OSC is reachable from a controller.
Every error names the file and line.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from grym_bridge.errors import ConfigError
from grym_bridge.files import atomic_write_text
from grym_bridge.values import to_int

KINDS = ("note", "cc", "program")
#: Actions the MIDI transport handles itself instead of dispatching a request.
LOCAL_ACTIONS = ("preset_next", "preset_prev")
PLACEHOLDERS = ("$value", "$velocity", "$number", "$channel", "$preset", "$preset_index")
TRIGGERS = ("press", "release", "change")
FEEDBACK = ("note", "cc", "none")
_BIND_KEYS = ("note", "cc", "program", "channel", "address", "action", "set", "args", "options", "range", "trigger",
              "feedback", "feedback_number", "queued", "done", "error", "progress_cc")
_TOP_KEYS = ("presets", "vars", "bind")


class MappingError(ConfigError):
    """A mapping file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Binding:
    """One control bound to one request (or a local action)."""

    kind: str  # note, cc or program
    number: int  # 0..127
    channel: int | None  # 0..15, None for any
    address: str | None = None
    action: str | None = None
    set: str | None = None  # the variable this control sets (a knob for $guidance)
    args: tuple[Any, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    range: tuple[float, float] = (0.0, 1.0)
    trigger: str = "press"
    feedback: str = "none"
    feedback_number: int | None = None
    queued: int = 127
    done: int = 0
    error: int = 1
    progress_cc: int | None = None
    line: int = 0

    @property
    def target(self) -> str:
        return self.address or self.action or (f"${self.set}" if self.set else "")

    def scaled(self, value: int) -> float:
        """A 0..127 value mapped into `range`."""
        lo, hi = self.range
        return lo + (hi - lo) * value / 127.0

    def request(self, value: int, channel: int, presets: list[str], preset_index: int,
                variables: dict[str, float] | None = None) -> list[Any]:
        """The request's arguments (after the request id), placeholders filled from the message and variables."""
        fills: dict[str, Any] = {f"${k}": v for k, v in (variables or {}).items()}
        fills.update({
            "$value": self.scaled(value), "$velocity": value, "$number": self.number,
            "$channel": channel + 1, "$preset": presets[preset_index] if presets else "",
            "$preset_index": preset_index,
        })
        args = [fills.get(a, a) if isinstance(a, str) else a for a in self.args]
        if self.options:
            args.append(json.dumps({k: fills.get(v, v) if isinstance(v, str) else v for k, v in self.options.items()}))
        return args


@dataclass
class Mapping:
    """All bindings of a file; a later binding of the same control replaces an earlier one."""

    bindings: list[Binding] = field(default_factory=list)
    presets: list[str] = field(default_factory=list)
    variables: dict[str, float] = field(default_factory=dict)  # defaults from `vars`, and every `set` name
    source: str = "<none>"

    def find(self, kind: str, number: int, channel: int) -> Binding | None:
        """The binding for this control on this channel (exact channel first, then any channel)."""
        fallback = None
        for b in reversed(self.bindings):
            if b.kind == kind and b.number == number:
                if b.channel == channel:
                    return b
                if b.channel is None and fallback is None:
                    fallback = b
        return fallback

    def add(self, binding: Binding) -> None:
        self.bindings = [b for b in self.bindings
                         if (b.kind, b.number, b.channel) != (binding.kind, binding.number, binding.channel)]
        self.bindings.append(binding)


def _locate(text: str) -> tuple[dict[str, int], list[tuple[int, dict[str, int]]]]:
    """Line numbers of the top-level keys and of each `[[bind]]` block and its keys."""
    top: dict[str, int] = {}
    blocks: list[tuple[int, dict[str, int]]] = []
    current: dict[str, int] | None = top
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if re.match(r"\[\[\s*bind\s*\]\]", line):
            blocks.append((no, {}))
            current = blocks[-1][1]
        elif line.startswith("["):
            top.setdefault(line.strip("[] "), no)
            current = None
        else:
            m = re.match(r"([A-Za-z_][\w-]*)\s*=", line)
            if m and current is not None:
                current.setdefault(m.group(1), no)
    return top, blocks


def _int(value: Any, name: str, lo: int, hi: int, where: str) -> int:
    try:
        number = to_int(value)
    except ValueError:
        number = None
    if number is None or not lo <= number <= hi:
        raise MappingError(f"{where}: '{name}' must be a whole number {lo}-{hi}, got {value!r}")
    return number


def _binding(table: dict[str, Any], where: str, line_of: dict[str, int], base: int,
             known_addresses: Iterable[str] | None, variables: Iterable[str] = ()) -> Binding:
    def at(key: str) -> str:
        return f"{where}:{line_of.get(key, base)}"

    for key in table:
        if key not in _BIND_KEYS:
            close = difflib.get_close_matches(key, _BIND_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(_BIND_KEYS)}"
            raise MappingError(f"{at(key)}: unknown key '{key}' in [[bind]]{hint}")
    kinds = [k for k in KINDS if k in table]
    if len(kinds) != 1:
        raise MappingError(f"{where}:{base}: a [[bind]] needs exactly one of note, cc or program (it has "
                           f"{', '.join(kinds) or 'none'})")
    kind = kinds[0]
    number = _int(table[kind], kind, 0, 127, at(kind))
    channel = None if "channel" not in table else _int(table["channel"], "channel", 1, 16, at("channel")) - 1
    address, action, set_name = table.get("address"), table.get("action"), table.get("set")
    if sum(x is not None for x in (address, action, set_name)) != 1:
        raise MappingError(f"{where}:{base}: a [[bind]] needs one of address = \"/grym/...\", action = "
                           f"\"{LOCAL_ACTIONS[0]}\" or set = \"name\" (exactly one)")
    if set_name is not None and not _is_variable_name(set_name):
        raise MappingError(f"{at('set')}: set names a variable: letters, digits and _, not one of the built-in "
                           f"placeholders; got {set_name!r}")
    if address is not None:
        known = list(known_addresses) if known_addresses is not None else None
        if not isinstance(address, str) or not address.startswith("/grym/"):
            raise MappingError(f"{at('address')}: address must be a bridge address starting with /grym/, got {address!r}")
        if known is not None and address not in known:
            close = difflib.get_close_matches(address, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else "; `grym` README lists every address"
            raise MappingError(f"{at('address')}: no such address {address!r}{hint}")
    if action is not None and action not in LOCAL_ACTIONS:
        raise MappingError(f"{at('action')}: unknown action {action!r}; use one of {', '.join(LOCAL_ACTIONS)} "
                           "(or address = \"/grym/...\")")
    args = table.get("args", [])
    if not isinstance(args, list) or any(isinstance(a, (list, dict)) for a in args):
        raise MappingError(f"{at('args')}: args must be a list of strings and numbers, got {args!r}")
    options = table.get("options", {})
    if not isinstance(options, dict):
        raise MappingError(f"{at('options')}: options must be a table like {{ bars = 4 }}, got {options!r}")
    for value in [*args, *options.values()]:
        if isinstance(value, str) and value.startswith("$") and value not in PLACEHOLDERS and value[1:] not in variables:
            names = ", ".join([*PLACEHOLDERS, *(f"${v}" for v in variables)])
            raise MappingError(f"{at('args' if value in args else 'options')}: unknown placeholder {value!r}; "
                               f"use one of {names} (declare your own in vars or with set)")
    rng = table.get("range", [0.0, 1.0])
    if (not isinstance(rng, list) or len(rng) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rng)):
        raise MappingError(f"{at('range')}: range must be two numbers like [0.0, 1.0], got {rng!r}")
    trigger = table.get("trigger", "change" if kind == "cc" else "press")
    if trigger not in TRIGGERS:
        raise MappingError(f"{at('trigger')}: trigger must be one of {', '.join(TRIGGERS)}, got {trigger!r}")
    feedback = table.get("feedback", "none")
    if feedback not in FEEDBACK:
        raise MappingError(f"{at('feedback')}: feedback must be one of {', '.join(FEEDBACK)}, got {feedback!r}")
    levels = {k: _int(table[k], k, 0, 127, at(k)) for k in ("queued", "done", "error", "feedback_number",
                                                            "progress_cc") if k in table}
    return Binding(kind, number, channel, address, action, set_name, tuple(args), dict(options),
                   (float(rng[0]), float(rng[1])), trigger, feedback, line=base, **levels)


def _is_variable_name(name: Any) -> bool:
    return isinstance(name, str) and re.fullmatch(r"[A-Za-z_]\w*", name) is not None and f"${name}" not in PLACEHOLDERS


def parse_mapping(text: str, source: str = "<mapping>", known_addresses: Iterable[str] | None = None) -> Mapping:
    """Parse mapping TOML; `known_addresses` (the router's) makes an unknown address an error too."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = m.group(1) if m else "?"
        raise MappingError(f"{source}:{line}: not valid TOML: {exc}") from None
    top, blocks = _locate(text)
    for key in data:
        if key not in _TOP_KEYS:
            close = difflib.get_close_matches(key, _TOP_KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise MappingError(f"{source}:{top.get(key, 1)}: unknown key '{key}'{hint} (a mapping has presets and [[bind]] tables)")
    presets = data.get("presets", [])
    if not isinstance(presets, list) or not all(isinstance(p, str) for p in presets):
        raise MappingError(f"{source}:{top.get('presets', 1)}: presets must be a list of prompt strings")
    tables = data.get("bind", [])
    if not isinstance(tables, list):
        raise MappingError(f"{source}:{top.get('bind', 1)}: write bindings as [[bind]] tables")
    defaults = data.get("vars", {})
    if not isinstance(defaults, dict) or not all(
            _is_variable_name(k) and isinstance(v, (int, float)) and not isinstance(v, bool) for k, v in defaults.items()):
        raise MappingError(f"{source}:{top.get('vars', 1)}: vars must be a table of names and numbers, "
                           "like vars = { guidance = 3.5 }")
    variables = {str(k): float(v) for k, v in defaults.items()}
    for table in tables:
        if isinstance(table, dict) and _is_variable_name(table.get("set")):
            variables.setdefault(table["set"], 0.0)
    mapping = Mapping(presets=list(presets), variables=variables, source=source)
    known = list(known_addresses) if known_addresses is not None else None
    for i, table in enumerate(tables):
        base, line_of = blocks[i] if i < len(blocks) else (top.get("bind", 1), {})
        mapping.add(_binding(table, source, line_of, base, known, variables))
    return mapping


def load_mapping(path: Path, known_addresses: Iterable[str] | None = None) -> Mapping:
    """Read and check a mapping file; a missing file is an empty mapping only when `path` does not exist at all."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return Mapping(source=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"mapping file {path} cannot be read: {exc}") from None
    return parse_mapping(text, str(path), known_addresses)


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)  # JSON strings, numbers, booleans and lists are valid TOML


def binding_toml(binding: Binding, comment: str = "") -> str:
    """A `[[bind]]` block for `binding` (what MIDI learn appends to the file)."""
    lines = [f"# {comment}"] if comment else []
    lines += ["[[bind]]", f"{binding.kind} = {binding.number}"]
    if binding.channel is not None:
        lines.append(f"channel = {binding.channel + 1}")
    lines.append(f"address = {_toml_value(binding.address)}" if binding.address else f"action = {_toml_value(binding.action)}")
    if binding.args:
        lines.append(f"args = {_toml_value(list(binding.args))}")
    if binding.options:
        lines.append(f"options = {_toml_value(binding.options)}")
    if binding.feedback != "none":
        lines.append(f"feedback = {_toml_value(binding.feedback)}")
    return "\n".join(lines) + "\n"


def append_binding(path: Path, binding: Binding, comment: str = "") -> Binding:
    """Append `binding` to the mapping file (written whole to a temporary file, then renamed); returns it with its line."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    new = old + ("\n" if old else "") + binding_toml(binding, comment)
    parse_mapping(new, str(path))  # never write a file that would not load
    atomic_write_text(path, new)
    return replace(binding, line=len(new.splitlines()) - len(binding_toml(binding).splitlines()) + 1)
