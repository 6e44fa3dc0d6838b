"""VST3: the standard folders, scanning temp folders, a bogus bundle reported and never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin_host import ChainError, PluginLoadError, load_vst3, parse_chain, scan, standard_folders
from plugin_host.vst3 import find_bundles


def _bogus_bundle(folder: Path, name: str) -> Path:
    """A .vst3 bundle with the Linux layout whose shared object is garbage."""
    bundle = folder / f"{name}.vst3"
    binary = bundle / "Contents" / "x86_64-linux" / f"{name}.so"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(b"\x7fELF not really a plugin" * 20)
    return bundle


def test_standard_folders_follow_the_vst3_spec() -> None:
    mac = standard_folders("darwin", {"HOME": "/Users/ann"})
    assert Path("/Users/ann/Library/Audio/Plug-Ins/VST3") in mac and Path("/Library/Audio/Plug-Ins/VST3") in mac
    win = standard_folders("win32", {"USERPROFILE": "C:/Users/ann", "COMMONPROGRAMFILES": "C:/Program Files/Common Files",
                                     "LOCALAPPDATA": "C:/Users/ann/AppData/Local"})
    assert Path("C:/Program Files/Common Files") / "VST3" in win
    linux = standard_folders("linux", {"HOME": "/home/ann"})
    assert linux[0] == Path("/home/ann/.vst3") and Path("/usr/lib/vst3") in linux


def test_scan_finds_bundles_and_reports_the_ones_that_fail(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    bogus = _bogus_bundle(a, "Bogus")
    (b / "vendor").mkdir(parents=True)
    flat = b / "vendor" / "Flat.vst3"
    flat.write_bytes(b"garbage")
    (b / "readme.txt").write_text("not a plugin")
    assert find_bundles([a, b, tmp_path / "missing"]) == [bogus, flat]  # not descending into bundles

    entries = scan([a, b], timeout_s=60)
    assert [e.path for e in entries] == [str(bogus), str(flat)]
    for entry in entries:
        assert not entry.ok and entry.error  # reported, and this process is still alive
        assert entry.plugin_names == []


def test_loading_a_bogus_or_missing_vst3_is_a_clear_error(tmp_path: Path) -> None:
    bogus = _bogus_bundle(tmp_path, "Bogus")
    with pytest.raises(PluginLoadError, match="cannot be loaded"):
        load_vst3(str(bogus))
    with pytest.raises(PluginLoadError, match="does not exist.*standard folders"):
        load_vst3(str(tmp_path / "Nope.vst3"))
    with pytest.raises(ChainError, match='VST3 needs "path"'):
        parse_chain([{"plugin": "VST3"}])
