"""The built grym.amxd, checked structurally: chunks, the frozen container's table, the patcher.

The container layout is read here independently of max_for_live/build.py (from the format as
Ableton's maxdevtools reads it), so a builder bug cannot hide behind a shared parser.
"""

from __future__ import annotations

import importlib.util
import json
import re
import struct
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
M4L = ROOT / "max_for_live"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"m4l_{name}", M4L / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load("build")
layout = _load("layout")


def read_chunks(data: bytes) -> list[tuple[str, bytes]]:
    """(tag, data) of each chunk: 4 ASCII bytes, a little-endian uint32 size, the data."""
    chunks, offset = [], 0
    while offset < len(data):
        assert offset + 8 <= len(data), f"truncated chunk header at {offset}"
        tag = data[offset:offset + 4].decode("ascii")
        (size,) = struct.unpack_from("<I", data, offset + 4)
        assert offset + 8 + size <= len(data), f"chunk {tag} claims {size} bytes past the end"
        chunks.append((tag, data[offset + 8: offset + 8 + size]))
        offset += 8 + size
    assert offset == len(data)
    return chunks


def read_frozen(ptch: bytes) -> list[dict[str, Any]]:
    """The files of an 'mx@c' container, from its 'dlst' table (big-endian throughout)."""
    assert ptch[:4] == b"mx@c"
    header_size, table_at = struct.unpack_from(">IQ", ptch, 4)
    assert header_size == 16
    table = ptch[table_at:]
    assert table[:4] == b"dlst"
    assert struct.unpack_from(">I", table, 4)[0] == len(table), "the table's size is the rest of the container"
    files, offset = [], 8
    while offset < len(table):
        assert table[offset:offset + 4] == b"dire"
        (size,) = struct.unpack_from(">I", table, offset + 4)
        fields, pos = {}, offset + 8
        while pos < offset + size:
            tag = table[pos:pos + 4].decode("ascii")
            (fsize,) = struct.unpack_from(">I", table, pos + 4)
            fields[tag] = table[pos + 8: pos + fsize]
            pos += fsize
        assert pos == offset + size
        entry = {"type": fields["type"].decode("ascii"), "name": fields["fnam"].rstrip(b"\0").decode("utf-8"),
                 "size": struct.unpack(">I", fields["sz32"])[0], "offset": struct.unpack(">I", fields["of32"])[0],
                 "flag": struct.unpack(">I", fields["flag"])[0], "fnam_len": len(fields["fnam"])}
        entry["data"] = ptch[entry["offset"]: entry["offset"] + entry["size"]]
        files.append(entry)
        offset += size
    return files


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return build.build(tmp_path_factory.mktemp("amxd") / "grym.amxd").read_bytes()


def test_chunks_device_type_and_sizes(device: bytes) -> None:
    chunks = read_chunks(device)
    assert [tag for tag, _ in chunks] == ["ampf", "meta", "ptch"]
    assert chunks[0][1] == b"aaaa", "an Audio Effect device"
    assert struct.unpack("<I", chunks[1][1]) == (7,), "frozen"


def test_frozen_table_points_at_the_right_bytes(device: bytes) -> None:
    ptch = read_chunks(device)[2][1]
    files = read_frozen(ptch)
    assert [(f["name"], f["type"], f["flag"]) for f in files] == [
        ("grym.amxd", "JSON", 0x11), ("grym_node.js", "TEXT", 0x08), ("grym_lom.js", "TEXT", 0x00)]
    end = 16
    for f in files:
        assert f["offset"] == end, f"{f['name']} starts where the previous file ends"
        assert f["fnam_len"] % 4 == 0
        end += f["size"]
    assert end == struct.unpack_from(">Q", ptch, 8)[0], "the table follows the last file"
    patcher, node, lom = (f["data"] for f in files)
    assert patcher.endswith(b"\x00")
    assert json.loads(patcher[:-1]) == json.loads((M4L / "grym.maxpat").read_text(encoding="utf-8"))
    assert node.decode("utf-8") == build.bundle_node_script()
    assert b'require("./' not in node, "the embedded node script needs no sibling files"
    assert lom == (M4L / "grym_lom.js").read_bytes()


def test_editable_build_is_plain_json_ending_in_nul(tmp_path: Path) -> None:
    chunks = read_chunks(build.build(tmp_path / "grym.amxd", frozen=False).read_bytes())
    assert struct.unpack("<I", chunks[1][1]) == (1,)
    assert chunks[2][1].endswith(b"}\n\x00")
    json.loads(chunks[2][1][:-1])


def test_the_patcher_is_what_layout_writes() -> None:
    assert (M4L / "grym.maxpat").read_text(encoding="utf-8") == layout.render(), \
        "grym.maxpat is stale: run python max_for_live/layout.py"


def _patcher() -> dict[str, Any]:
    return json.loads((M4L / "grym.maxpat").read_text(encoding="utf-8"))["patcher"]


def test_every_cord_connects_an_existing_outlet_to_an_existing_inlet() -> None:
    patcher = _patcher()
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    assert len(boxes) == len(patcher["boxes"]), "box ids are unique"
    assert patcher["lines"]
    for line in patcher["lines"]:
        (src, outlet), (dst, inlet) = line["patchline"]["source"], line["patchline"]["destination"]
        assert src in boxes and dst in boxes, line
        assert 0 <= outlet < boxes[src]["numoutlets"], f"{boxes[src].get('text', boxes[src]['maxclass'])} has no outlet {outlet}"
        assert 0 <= inlet < boxes[dst]["numinlets"], f"{boxes[dst].get('text', boxes[dst]['maxclass'])} has no inlet {inlet}"
        assert len(boxes[src].get("outlettype", [])) == boxes[src]["numoutlets"]


def test_every_script_the_patch_names_is_in_the_device(device: bytes) -> None:
    names = {f["name"] for f in read_frozen(read_chunks(device)[2][1])}
    scripts = [m.group(2) for b in _patcher()["boxes"]
               if (m := re.match(r"(js|node\.script) (\S+)", b["box"].get("text", "")))]
    assert sorted(scripts) == ["grym_lom.js", "grym_node.js"]
    assert set(scripts) <= names


def test_parameters_and_presentation_fit_the_device() -> None:
    patcher = _patcher()
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    assert patcher["project"]["amxdtype"] == int.from_bytes(b"aaaa", "big")
    longnames = [v[0] for v in patcher["parameters"].values()]
    assert len(longnames) == len(set(longnames)), "Live needs unique parameter names"
    for box_id, (name, _short, _) in patcher["parameters"].items():
        assert boxes[box_id]["parameter_enable"] == 1
        assert boxes[box_id]["saved_attribute_attributes"]["valueof"]["parameter_longname"] == name
    for box in boxes.values():
        if box.get("presentation"):
            x, y, w, h = box["presentation_rect"]
            assert y + h <= 169 and x + w <= patcher["devicewidth"], f"{box} is outside the device"


def test_every_message_the_patch_sends_the_node_script_has_a_handler() -> None:
    source = (M4L / "grym_node.js").read_text(encoding="utf-8")
    block = source[source.index("maxApi.addHandlers({"):]
    handlers = set(re.findall(r"^\s+(\w+)(?::|,)", block[: block.index("});")], re.M))
    patcher = _patcher()
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    node_id = next(i for i, b in boxes.items() if b.get("text", "").startswith("node.script"))
    sent = set()
    for line in patcher["lines"]:
        (src, _), (dst, _) = line["patchline"]["source"], line["patchline"]["destination"]
        if dst != node_id:
            continue
        box = boxes[src]
        if box["maxclass"] == "message":
            sent.add(box["text"].split()[0])
        elif box.get("text", "").startswith("prepend "):
            sent.add(box["text"].split()[1])
    sent.update({"lom_reply", "song"})  # what grym_lom.js sends
    assert sent - handlers == set(), f"messages without a handler in grym_node.js: {sent - handlers}"
    assert {"analyze", "suggest", "render_ab", "generate", "compose", "ask", "similar", "cancel"} <= sent
    fields = next(b["text"].split()[1:] for b in boxes.values() if b.get("text", "").startswith("route status"))
    for field in fields:
        assert re.search(rf'ui\("{field}"', source) or field == "status", f"the script never shows {field}"


def test_text_boxes_reach_the_script_before_their_buttons_action() -> None:
    """Generate and Ask first bang their text box (the right outlet of [t b b] fires first), then act."""
    patcher = _patcher()
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    cords = {(tuple(ln["patchline"]["source"]), tuple(ln["patchline"]["destination"])) for ln in patcher["lines"]}
    for action, selector in (("generate", "prompt"), ("ask", "ask_text")):
        msg = next(i for i, b in boxes.items() if b["maxclass"] == "message" and b["text"] == action)
        trigger = next(s for (s, _o), (d, _i) in cords if d == msg and boxes[s].get("text") == "t b b")
        textedit = next(d for (s, o), (d, _i) in cords if s == trigger and o == 1)
        assert boxes[textedit]["maxclass"] == "textedit"
        route = next(d for (s, _o), (d, _i) in cords if s == textedit)
        prepend = next(d for (s, o), (d, _i) in cords if s == route and o == 0)
        assert boxes[route]["text"] == "route text" and boxes[prepend]["text"] == f"prepend {selector}"
        button = next(s for (s, _o), (d, _i) in cords if d == trigger)
        assert boxes[button]["maxclass"] == "live.text"
        assert ((button, 0), (msg, 0)) not in cords, "the action must wait for the text"
