"""Write `grym.maxpat`, the device's patcher, from one readable description.

The patcher is JSON that Max reads and writes; it is kept in the repository as
text (diffable, reviewable) and generated here so that boxes, their inlet and
outlet counts, the patch cords and the presentation layout stay consistent.
Edit this file, run `python max_for_live/layout.py`, then `python max_for_live/build.py`.
(A test fails when grym.maxpat is not what this script writes.)

Signal flow: plugin~ -> plugout~ (the device passes audio through untouched).
Control flow: buttons and fields -> [node.script grym_node.js] -> `ui ...` to the
displays and `lom request <json>` to [js grym_lom.js] -> `lom_reply <json>` back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PATCHER = HERE / "grym.maxpat"
NODE_SCRIPT = "grym_node.js"
LOM_SCRIPT = "grym_lom.js"
#: 'aaaa' as a big-endian integer: an Audio Effect device (Max writes it into the project).
AMXD_TYPE_AUDIO = 0x61616161

# (maxclass, inlets, outlets, outlettype) for each kind of box used below; Max checks them on load.
_SHAPES: dict[str, tuple[int, int, list[str]]] = {
    "live.text": (1, 2, ["", ""]),
    "live.menu": (1, 3, ["", "", "float"]),
    "live.numbox": (1, 2, ["", "float"]),
    "live.toggle": (1, 1, [""]),
    "textedit": (1, 4, ["", "int", "", ""]),
    "comment": (1, 0, []),
    "message": (2, 1, [""]),
}


class Patch:
    """Boxes and cords, numbered as Max numbers them (obj-1, obj-2, ...)."""

    def __init__(self) -> None:
        self.boxes: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []
        self.parameters: dict[str, Any] = {}

    def _add(self, box: dict[str, Any], x: float, y: float, w: float = 100.0, h: float = 22.0) -> str:
        box["id"] = f"obj-{len(self.boxes) + 1}"
        box["patching_rect"] = [x, y, w, h]
        self.boxes.append({"box": box})
        return box["id"]

    def obj(self, text: str, inlets: int, outlets: list[str], x: float, y: float, **extra: Any) -> str:
        """A [newobj] box: `text` is what one types into it."""
        return self._add({"maxclass": "newobj", "text": text, "numinlets": inlets, "numoutlets": len(outlets),
                          "outlettype": outlets, **extra}, x, y, max(60.0, 7.0 * len(text)))

    def ui(self, maxclass: str, x: float, y: float, rect: list[float] | None = None, **extra: Any) -> str:
        """A UI box; with `rect` it is shown in the device (presentation mode) at that place."""
        inlets, outlets, types = _SHAPES[maxclass]
        box = {"maxclass": maxclass, "numinlets": inlets, "numoutlets": outlets, **extra}
        if types:
            box["outlettype"] = types
        if rect is not None:
            box["presentation"] = 1
            box["presentation_rect"] = rect
        return self._add(box, x, y, *(rect[2:] if rect else (100.0, 22.0)))

    def param(self, maxclass: str, name: str, x: float, y: float, rect: list[float], *, ptype: int,
              enum: list[str] | None = None, mmin: float = 0, mmax: float = 1, initial: float | None = None,
              **extra: Any) -> str:
        """A live.* control saved with the Live set (a Live parameter named `name`)."""
        value: dict[str, Any] = {"parameter_longname": name, "parameter_shortname": name[:10],
                                 "parameter_type": ptype, "parameter_mmin": mmin, "parameter_mmax": mmax,
                                 "parameter_modmode": 0}
        if enum is not None:
            value["parameter_enum"] = enum
        if initial is not None:
            value.update({"parameter_initial_enable": 1, "parameter_initial": [initial]})
        box_id = self.ui(maxclass, x, y, rect, parameter_enable=1, varname=name,
                         saved_attribute_attributes={"valueof": value}, **extra)
        self.parameters[box_id] = [name, name[:10], 0]
        return box_id

    def cord(self, source: str, outlet: int, destination: str, inlet: int = 0) -> None:
        self.lines.append({"patchline": {"source": [source, outlet], "destination": [destination, inlet]}})


def build_patch() -> dict[str, Any]:
    """The whole patcher as the dict Max saves."""
    p = Patch()
    # Audio passes through untouched: this is an Audio Effect only so it can sit on any audio track.
    plugin = p.obj("plugin~", 2, ["signal", "signal"], 20, 20)
    plugout = p.obj("plugout~", 2, ["signal", "signal"], 20, 560)
    p.cord(plugin, 0, plugout, 0)
    p.cord(plugin, 1, plugout, 1)

    node = p.obj(f"node.script {NODE_SCRIPT} @autostart 1 @watch 0", 1, ["", ""], 300, 300,
                 saved_object_attributes={"autostart": 1, "defer": 0, "watch": 0},
                 textfile={"filename": NODE_SCRIPT, "flags": 0, "embed": 0, "autowatch": 1})
    lom = p.obj(f"js {LOM_SCRIPT}", 1, [""], 300, 420, saved_object_attributes={"filename": LOM_SCRIPT,
                                                                               "parameter_enable": 0})
    device = p.obj("live.thisdevice", 1, ["bang", "int", "int"], 300, 380)
    p.cord(device, 0, lom)           # the LOM is ready: start observing the song
    p.cord(lom, 0, node)             # lom_reply <json>, song <json>
    out = p.obj("route lom ui", 2, ["", "", ""], 300, 340)
    p.cord(node, 0, out)
    p.cord(out, 0, lom)              # request <json>
    fields = p.obj("route status analysis result chain error connected", 2, [""] * 7, 600, 340)
    p.cord(out, 1, fields)

    def display(outlet: int, box: str, prefix: str = "set") -> None:
        pre = p.obj(f"prepend {prefix}", 1, [""], 600 + 120 * outlet, 380)
        p.cord(fields, outlet, pre)
        p.cord(pre, 0, box)

    # Displays. The device is 169 px high; everything sits in three bands.
    status = p.ui("comment", 600, 600, [4, 150, 300, 16], text="grym: starting")
    analysis = p.ui("comment", 600, 620, [4, 24, 480, 16], text="Analyze the selected clip: key, tempo, LUFS, peak")
    result = p.ui("textedit", 600, 640, [4, 88, 320, 58], readonly=1, lines=0, wordwrap=1, fontsize=9.0,
                  text="results show here")
    chain = p.ui("textedit", 600, 700, [328, 88, 260, 58], readonly=1, lines=0, wordwrap=1, fontsize=9.0,
                 text="Suggest maps its chain onto Live's devices here")
    error = p.ui("comment", 600, 760, [308, 150, 280, 16], text="", textcolor=[1.0, 0.36, 0.33, 1.0])
    conn = p.ui("comment", 600, 780, [470, 4, 118, 16], text="○ connecting", fontsize=9.0)
    display(0, status)
    display(1, analysis)
    display(2, result)
    display(3, chain)
    clear = p.obj("route clear", 2, ["", ""], 1080, 420)
    p.cord(fields, 4, clear)
    blank = p.ui("message", 1080, 460, text="set")
    p.cord(clear, 0, blank)
    p.cord(blank, 0, error)
    shown = p.obj("prepend set", 1, [""], 1180, 460)
    p.cord(clear, 1, shown)
    p.cord(shown, 0, error)
    updown = p.obj("route 0 1", 2, ["", "", ""], 1300, 420)
    p.cord(fields, 5, updown)
    for outlet, mark in ((0, "○"), (1, "●")):
        pre = p.obj(f"prepend set {mark}", 1, [""], 1300 + 100 * outlet, 460)
        p.cord(updown, outlet, pre)
        p.cord(pre, 0, conn)

    # Buttons: each sends its action's name to the node script.
    buttons = [("Analyze", "analyze", [4, 4, 52, 16]), ("Suggest", "suggest", [60, 4, 52, 16]),
               ("Render A/B", "render_ab", [116, 4, 60, 16]), ("Similar", "similar", [180, 4, 50, 16]),
               ("Cancel", "cancel", [412, 4, 54, 16]), ("Generate", "generate", [352, 46, 60, 16]),
               ("Compose", "compose", [152, 68, 60, 16]), ("Ask", "ask", [536, 68, 52, 16])]
    # Settings: each is remembered by the node script until the next action.
    def setting(box: str, outlet: int, selector: str, x: float) -> None:
        pre = p.obj(f"prepend {selector}", 1, [""], x, 240)
        p.cord(box, outlet, pre)
        p.cord(pre, 0, node)

    # Text boxes send their words on Return, and again when their button is pressed: the button goes
    # through [t b b], whose right outlet (first) bangs the box, then the left one sends the action.
    text_fields = {"generate": ([4, 46, 300, 18], "prompt: dusty lofi drum loop", "prompt"),
                   "ask": ([216, 68, 316, 18], "ask: make this loop darker", "ask_text")}
    for i, (label, action, rect) in enumerate(buttons):
        x = 20 + 70 * i
        button = p.param("live.text", label, x, 120, rect, ptype=2, enum=["val1", "val2"], text=label, mode=0)
        msg = p.ui("message", x, 160, text=action)
        p.cord(msg, 0, node)
        if action not in text_fields:
            p.cord(button, 0, msg)
            continue
        field_rect, hint, selector = text_fields[action]
        box = p.ui("textedit", x, 200, field_rect, keymode=1, text="", hint=hint)
        words = p.obj("route text", 2, ["", ""], x, 230)
        p.cord(box, 0, words)
        setting(words, 0, selector, x)
        order = p.obj("t b b", 1, ["bang", "bang"], x, 140)
        p.cord(button, 0, order)
        p.cord(order, 1, box)
        p.cord(order, 0, msg)

    bars = p.param("live.numbox", "Bars", 300, 200, [308, 46, 40, 16], ptype=1, mmin=1, mmax=64, initial=4)
    setting(bars, 0, "bars", 300)
    kind = p.param("live.menu", "Kind", 400, 200, [4, 68, 70, 16], ptype=2,
                   enum=["chords", "melody", "bass", "drums"], mmax=3)
    setting(kind, 0, "kind", 400)
    style = p.param("live.menu", "Style", 500, 200, [78, 68, 70, 16], ptype=2,
                    enum=["pop", "jazz", "lofi", "house", "cinematic", "trap"], mmax=5)
    setting(style, 0, "style", 500)
    fx_style = p.param("live.menu", "FX Style", 600, 200, [234, 4, 60, 16], ptype=2,
                       enum=["neutral", "warm", "bright", "dark", "punchy", "wide", "airy", "lofi"], mmax=7)
    setting(fx_style, 0, "fx_style", 600)
    for i, (name, selector, rect) in enumerate((("To Clip Name", "write_name", [298, 4, 12, 16]),
                                                ("To Session", "write_session", [356, 4, 12, 16]))):
        toggle = p.param("live.toggle", name, 700 + 100 * i, 200, rect, ptype=2, enum=["off", "on"])
        setting(toggle, 0, selector, 700 + 100 * i)
        p.ui("comment", 700 + 100 * i, 180, [rect[0] + 12, 4, 46, 16], text=["name", "session"][i], fontsize=9.0)

    return {"patcher": {
        "fileversion": 1,
        "appversion": {"major": 8, "minor": 6, "revision": 0, "architecture": "x64", "modernui": 1},
        "classnamespace": "box",
        "rect": [100.0, 100.0, 1500.0, 860.0],
        "openrect": [0.0, 0.0, 592.0, 169.0],
        "openinpresentation": 1,
        "default_fontsize": 10.0,
        "default_fontname": "Arial Bold",
        "gridsize": [8.0, 8.0],
        "devicewidth": 592.0,
        "description": "grym: analyze, suggest effects, generate and compose through the grym bridge",
        "boxes": p.boxes,
        "lines": p.lines,
        "parameters": p.parameters,
        "dependency_cache": [{"name": NODE_SCRIPT, "type": "TEXT", "implicit": 1},
                             {"name": LOM_SCRIPT, "type": "TEXT", "implicit": 1}],
        "latency": 0,
        "is_mpe": 0,
        "minimum_live_version": "11.0",
        "minimum_max_version": "8.5",
        "platform_compatibility": 0,
        "project": {"version": 1, "amxdtype": AMXD_TYPE_AUDIO, "readonly": 0, "devpathtype": 0, "devpath": ".",
                    "autoorganize": 0, "hideprojectwindow": 1, "showdependencies": 1, "autolocalize": 0,
                    "contents": {"patchers": {}, "code": {NODE_SCRIPT: {"kind": "javascript", "local": 1},
                                                          LOM_SCRIPT: {"kind": "javascript", "local": 1}}},
                    "layout": {}, "searchpath": {}, "detailsvisible": 0, "sortmode": 0, "viewmode": 0,
                    "includepackages": 0},
        "autosave": 0,
    }}


def render() -> str:
    """The patcher as Max writes it: tab-indented JSON."""
    return json.dumps(build_patch(), indent="\t", ensure_ascii=False) + "\n"


if __name__ == "__main__":
    PATCHER.write_text(render(), encoding="utf-8")
    print(f"wrote {PATCHER}")
