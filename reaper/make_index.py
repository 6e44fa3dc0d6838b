"""Write reaper/index.xml, the ReaPack index, from the scripts' metadata headers.

    python reaper/make_index.py            # rewrite reaper/index.xml
    python reaper/make_index.py --check    # exit 1 when index.xml and the scripts disagree

The index has one package, the `@metapackage` in grym/grym_bridge.lua: it provides every
action (`[main]`, registered in REAPER's main action list) and the shared library, so ReaPack
installs everything in one step and no two packages own the same library file. Its headers
(@description, @version, @author, @about, @changelog, @provides) follow reapack-index's
packaging documentation; the action scripts carry their own @description and @version too and
are marked @noindex (they are indexed through the metapackage). Standard library only.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).resolve().parent
CATEGORY = "grym"
INDEX = HERE / "index.xml"
#: Where ReaPack downloads the files (the repository in pyproject.toml's Source URL).
RAW_BASE = "https://github.com/grym-bridge/grym-bridge/raw"
_TAG = re.compile(r"^--\s*@(\w+)(?:[ \t]+(.*))?$")


@dataclass
class Header:
    """The metadata tags at the top of one script; multi-line values (indented lines) joined by newlines."""

    path: Path
    tags: dict[str, str] = field(default_factory=dict)

    def get(self, tag: str, default: str = "") -> str:
        return self.tags.get(tag, default)


def read_header(path: Path) -> Header:
    """The header: the leading `--` comment lines, `@tag value` and indented continuation lines."""
    header = Header(path)
    current: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("--"):
            break
        match = _TAG.match(line)
        if match:
            current = match.group(1)
            header.tags[current] = (match.group(2) or "").strip()
        elif current and line.startswith("--  "):
            more = line[2:].strip()
            header.tags[current] = (header.tags[current] + "\n" + more).strip()
    return header


def provides(header: Header) -> list[tuple[str, bool]]:
    """(file, is_main) for each `@provides` line (`[main] file` or `file`)."""
    out = []
    for line in header.get("provides").splitlines():
        line = line.strip()
        main = line.startswith("[main]")
        out.append((line.removeprefix("[main]").strip(), main))
    return out


def _rtf(text: str) -> str:
    body = text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}").replace("\n", " ")
    return "{\\rtf1\\ansi\\deff0 " + body + "\\par}"


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build(folder: Path = HERE / CATEGORY, ref: str = "main") -> str:
    """The index XML for the metapackage in `folder`."""
    metas = [h for h in map(read_header, sorted(folder.glob("*.lua"))) if "metapackage" in h.tags]
    if len(metas) != 1:
        raise SystemExit(f"expected one @metapackage in {folder}, found {len(metas)}")
    meta = metas[0]
    version = meta.get("version")
    lines = ['<?xml version="1.0" encoding="utf-8"?>', '<index version="1" name="grym-bridge">',
             f"  <category name={quoteattr(CATEGORY)}>",
             f"    <reapack name={quoteattr(meta.path.name)} type=\"script\" desc={quoteattr(meta.get('description'))}>",
             "      <metadata>",
             f"        <description>{_cdata(_rtf(meta.get('about')))}</description>",
             "      </metadata>",
             f"      <version name={quoteattr(version)} author={quoteattr(meta.get('author'))}>",
             f"        <changelog>{_cdata(meta.get('changelog'))}</changelog>"]
    for file, main in provides(meta):
        url = f"{RAW_BASE}/{ref}/reaper/{CATEGORY}/{file}"
        attrs = f"file={quoteattr(file)}" + (' main="main"' if main else "")
        lines.append(f"        <source {attrs}>{escape(url)}</source>")
    lines += ["      </version>", "    </reapack>", "  </category>", "</index>", ""]
    return "\n".join(lines)


def problems(folder: Path = HERE / CATEGORY) -> list[str]:
    """Ways the scripts and the metapackage disagree (each a sentence)."""
    found = []
    metas = [h for h in map(read_header, sorted(folder.glob("*.lua"))) if "metapackage" in h.tags]
    if len(metas) != 1:
        return [f"expected one @metapackage in {folder}, found {len(metas)}"]
    meta = metas[0]
    listed = dict(provides(meta))
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*.lua") if p != meta.path}
    for missing in sorted(set(listed) - on_disk):
        found.append(f"@provides names {missing}, which does not exist")
    for extra in sorted(on_disk - set(listed)):
        found.append(f"{extra} is not in the metapackage's @provides")
    for file, main in listed.items():
        path = folder / file
        if not path.is_file():
            continue
        header = read_header(path)
        if "noindex" not in header.tags:
            found.append(f"{file} lacks @noindex (the metapackage indexes it)")
        if main and not header.get("description").startswith("grym: "):
            found.append(f"{file} is an action but has no '@description grym: ...'")
        if main and header.get("version") != meta.get("version"):
            found.append(f"{file} is version {header.get('version')!r}, the package {meta.get('version')!r}")
        if not main and path.parent == folder:
            found.append(f"{file} is an action script but not provided as [main]")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when index.xml or the headers disagree")
    parser.add_argument("--ref", default="main", help="the git ref the download URLs point at (default: main)")
    opts = parser.parse_args(argv)
    issues = problems()
    text = build(ref=opts.ref)
    if opts.check:
        current = INDEX.read_text(encoding="utf-8") if INDEX.is_file() else ""
        if current != text:
            issues.append("reaper/index.xml is out of date: run `python reaper/make_index.py`")
        for issue in issues:
            print(issue, file=sys.stderr)
        return 1 if issues else 0
    if issues:
        for issue in issues:
            print(issue, file=sys.stderr)
        return 1
    INDEX.write_text(text, encoding="utf-8")
    print(f"wrote {INDEX}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
