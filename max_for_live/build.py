"""Build `grym.amxd`, the Max for Live device, from the text sources in this folder.

    python max_for_live/build.py [-o OUT.amxd] [--unfrozen]

An .amxd file is a row of chunks, each a 4-byte ASCII tag, a 4-byte little-endian
size and the data (read from public references, Ableton's maxdevtools among them):

    ampf  4  the device type: 'aaaa' audio effect, 'mmmm' MIDI effect, 'iiii' instrument
    meta  4  a flags word (Max writes 1 for an editable device, 7 for a frozen one)
    ptch  N  the patcher JSON ending in a NUL byte; or, frozen, an 'mx@c' container

A frozen container (what a release device is: its scripts travel inside it) is,
big-endian throughout: 'mx@c', the header size (16), the 64-bit offset of the
table, the embedded files one after another (the device's own patcher first),
then the table: 'dlst' and its size, and per file a 'dire' entry with the fields
type, fnam (NUL-padded to 4 bytes), sz32, of32 (offset from the container's
start), vers, flag and mdat (seconds since 1904), each a tag, a size and data.

The node script is embedded as one file: grym_node.js with the modules it requires
(grym_osc.js, grym_requests.js) inlined, because Max extracts a frozen device's
files into one flat folder.
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEVICE_NAME = "grym.amxd"
NODE_SCRIPT = "grym_node.js"
LOM_SCRIPT = "grym_lom.js"
DEVICE_TYPE = b"aaaa"
META_EDITABLE, META_FROZEN = 1, 7
#: dire flags as Max writes them: the device's own patcher, and a file Max must extract for Node to run it.
FLAG_DEVICE, FLAG_EXTRACT, FLAG_PLAIN = 0x11, 0x08, 0x00
HFS_EPOCH_OFFSET = 2082844800  # seconds from 1904-01-01 (HFS+) to 1970-01-01
_REQUIRE = re.compile(r'require\("\./(grym_[a-z_]+)"\)')


def bundle_node_script(folder: Path = HERE) -> str:
    """grym_node.js with each `require("./grym_x")` replaced by that module's exports, inline."""
    source = (folder / NODE_SCRIPT).read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        module = (folder / f"{match.group(1)}.js").read_text(encoding="utf-8")
        return ("(function () { const module = { exports: {} }; const exports = module.exports;\n"
                + module + "\nreturn module.exports; })()")

    return _REQUIRE.sub(inline, source)


def chunk(tag: bytes, data: bytes) -> bytes:
    return tag + struct.pack("<I", len(data)) + data


def _field(tag: bytes, data: bytes) -> bytes:
    return tag + struct.pack(">I", 8 + len(data)) + data


def _name(name: str) -> bytes:
    raw = name.encode("utf-8") + b"\x00"
    return raw + b"\x00" * (-len(raw) % 4)


def frozen_container(files: list[tuple[str, bytes, bytes, int]], mtime: int) -> bytes:
    """The 'mx@c' container: files (name, 4-char type, data, flag) and their table."""
    header_size = 16
    body = b""
    entries = b""
    for name, ftype, data, flag in files:
        offset = header_size + len(body)
        body += data
        fields = (_field(b"type", ftype) + _field(b"fnam", _name(name)) + _field(b"sz32", struct.pack(">I", len(data)))
                  + _field(b"of32", struct.pack(">I", offset)) + _field(b"vers", struct.pack(">I", 0))
                  + _field(b"flag", struct.pack(">I", flag)) + _field(b"mdat", struct.pack(">I", mtime)))
        entries += b"dire" + struct.pack(">I", 8 + len(fields)) + fields
    table = b"dlst" + struct.pack(">I", 8 + len(entries)) + entries
    return b"mx@c" + struct.pack(">IQ", header_size, header_size + len(body)) + body + table


def build(out: Path, *, frozen: bool = True, folder: Path = HERE) -> Path:
    """Write the device to `out` and return it. Frozen (the default) embeds both scripts."""
    patcher = (folder / "grym.maxpat").read_bytes().rstrip(b"\n") + b"\n\x00"
    sources = [folder / n for n in ("grym.maxpat", NODE_SCRIPT, LOM_SCRIPT, "grym_osc.js", "grym_requests.js")]
    mtime = int(max(p.stat().st_mtime for p in sources)) + HFS_EPOCH_OFFSET
    if frozen:
        ptch = frozen_container([
            (DEVICE_NAME, b"JSON", patcher, FLAG_DEVICE),
            (NODE_SCRIPT, b"TEXT", bundle_node_script(folder).encode("utf-8"), FLAG_EXTRACT),
            (LOM_SCRIPT, b"TEXT", (folder / LOM_SCRIPT).read_bytes(), FLAG_PLAIN),
        ], mtime)
    else:
        ptch = patcher
    data = (chunk(b"ampf", DEVICE_TYPE) + chunk(b"meta", struct.pack("<I", META_FROZEN if frozen else META_EDITABLE))
            + chunk(b"ptch", ptch))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the grym Max for Live device (grym.amxd).")
    parser.add_argument("-o", "--out", type=Path, default=HERE / "dist" / DEVICE_NAME, help="where to write it")
    parser.add_argument("--unfrozen", action="store_true",
                        help="an editable device that finds its scripts beside it (for working on it in Max)")
    args = parser.parse_args(argv)
    out = build(args.out, frozen=not args.unfrozen)
    print(f"wrote {out} ({out.stat().st_size} bytes, {'editable' if args.unfrozen else 'frozen'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
