"""`grym install live`: the device into a User Library folder, a dry run, a refusal, and --uninstall."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from grym_bridge.cli import cli
from grym_bridge.cli.install_live import default_user_library

DEVICE = Path("Presets", "Audio Effects", "Max Audio Effect", "grym.amxd")


def grym(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_install_then_uninstall(tmp_path: Path) -> None:
    library = tmp_path / "User Library"
    library.mkdir()
    code, out = grym("--data-dir", str(tmp_path / "data"), "install", "live", "--user-library", str(library))
    assert code == 0, out
    assert out.splitlines()[0].startswith("The grym device needs Ableton Live 11 or later with Max for Live")
    installed = library / DEVICE
    data = installed.read_bytes()
    assert data[:12] == b"ampf\x04\x00\x00\x00aaaa" and b"mx@c" in data[:64]
    assert f"copy grym.amxd ({len(data)} bytes) to {installed}" in out
    assert str(tmp_path / "data" / "renders") in out, "says which folder to add to Live's browser"

    code, out = grym("install", "live", "--user-library", str(library))
    assert code == 0 and f"already installed: {installed}" in out

    code, out = grym("install", "live", "--user-library", str(library), "--uninstall", "--dry-run")
    assert code == 0 and f"would remove {installed}" in out and installed.exists()
    code, out = grym("install", "live", "--user-library", str(library), "--uninstall")
    assert code == 0 and f"remove {installed}" in out
    assert not installed.exists()
    code, out = grym("install", "live", "--user-library", str(library), "--uninstall")
    assert code == 0 and "nothing to remove" in out


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    code, out = grym("install", "live", "--user-library", str(tmp_path), "--dry-run")
    assert code == 0, out
    assert "would copy grym.amxd" in out
    assert list(tmp_path.iterdir()) == []


def test_a_different_installed_device_is_replaced_only_with_force(tmp_path: Path) -> None:
    other = tmp_path / DEVICE
    other.parent.mkdir(parents=True)
    other.write_bytes(b"ampf\x04\x00\x00\x00aaaa-an-older-build")
    code, out = grym("install", "live", "--user-library", str(tmp_path))
    assert code == 1 and "add --force to replace it" in out
    assert other.read_bytes().endswith(b"older-build")
    code, out = grym("install", "live", "--user-library", str(tmp_path), "--force")
    assert code == 0, out
    assert b"mx@c" in other.read_bytes()[:64]


def test_bad_folders_and_files_are_refused_plainly(tmp_path: Path) -> None:
    code, out = grym("install", "live", "--user-library", str(tmp_path / "missing"))
    assert code == 1 and "Live's User Library is not at" in out and "--user-library" in out
    assert "Traceback" not in out
    bogus = tmp_path / "not-a-device.amxd"
    bogus.write_bytes(b"hello")
    code, out = grym("install", "live", "--user-library", str(tmp_path), "--device", str(bogus))
    assert code == 1 and "is not a Max for Live device" in out
    assert not (tmp_path / DEVICE).exists()


def test_default_user_library_per_platform(tmp_path: Path) -> None:
    assert default_user_library("darwin", tmp_path) == tmp_path / "Music" / "Ableton" / "User Library"
    assert default_user_library("win32", tmp_path) == tmp_path / "Documents" / "Ableton" / "User Library"
    assert default_user_library("linux", tmp_path) == tmp_path / "Ableton" / "User Library"
