"""The ReaPack index agrees with the scripts, and luacheck passes over them with REAPER's globals declared."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

from tests.conftest import require_tool

REAPER_DIR = Path(__file__).resolve().parents[2] / "reaper"


def make_index() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_index", REAPER_DIR / "make_index.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_index"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_index_xml_is_generated_from_the_headers() -> None:
    mi = make_index()
    assert mi.problems() == []
    assert (REAPER_DIR / "index.xml").read_text(encoding="utf-8") == mi.build(), \
        "reaper/index.xml is out of date: run `python reaper/make_index.py`"


def test_index_names_every_file_once_with_a_url_to_it() -> None:
    root = ET.parse(REAPER_DIR / "index.xml").getroot()
    assert root.tag == "index" and root.get("version") == "1"
    (package,) = root.iter("reapack")
    assert package.get("type") == "script"
    sources = list(package.iter("source"))
    files = [s.get("file") for s in sources]
    on_disk = sorted(p.relative_to(REAPER_DIR / "grym").as_posix() for p in (REAPER_DIR / "grym").rglob("*.lua")
                     if p.name != "grym_bridge.lua")
    assert sorted(files) == on_disk and len(set(files)) == len(files)
    for source in sources:
        assert source.text.endswith("/reaper/grym/" + source.get("file"))
        assert (source.get("main") == "main") == (not source.get("file").startswith("lib/"))


def test_the_check_fails_when_a_script_is_not_provided(tmp_path: Path) -> None:
    mi = make_index()
    folder = tmp_path / "grym"
    shutil.copytree(REAPER_DIR / "grym", folder)
    (folder / "grym_new_action.lua").write_text("-- @description grym: New\n-- @version 0.1.0\n-- @noindex\n")
    (folder / "grym_ask.lua").unlink()
    found = mi.problems(folder)
    assert "grym_new_action.lua is not in the metapackage's @provides" in found
    assert "@provides names grym_ask.lua, which does not exist" in found
    meta = folder / "grym_bridge.lua"
    meta.write_text(meta.read_text().replace("@version 0.1.0", "@version 0.2.0"))
    assert '<version name="0.2.0"' in mi.build(folder)
    assert "grym_settings.lua is version '0.1.0', the package '0.2.0'" in mi.problems(folder)


def test_luacheck_passes() -> None:
    luacheck = require_tool("luacheck")
    proc = subprocess.run([luacheck, "--no-color", "."], cwd=REAPER_DIR, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 warnings / 0 errors" in proc.stdout


def test_luacheck_would_catch_an_undeclared_global(tmp_path: Path) -> None:
    luacheck = require_tool("luacheck")
    bad = tmp_path / "bad.lua"
    bad.write_text("reaper.ShowConsoleMsg(undefined_thing)\n")
    proc = subprocess.run([luacheck, "--no-color", "--config", str(REAPER_DIR / ".luacheckrc"), str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "undefined_thing" in proc.stdout
