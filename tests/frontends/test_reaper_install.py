"""`grym install reaper` into a temporary resource folder: files, config, kb entries, backup, uninstall."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from grym_bridge.cli import cli
from grym_bridge.cli.install_reaper import SOURCE_DIR, actions, source_files
from tests.conftest import require_tool

USER_KB = ('SCR 4 0 RSuser0001 "Custom: my own script" "mine/thing.lua"\n'
           "KEY 1 65 _RSuser0001 0\n"
           'ACT 0 0 "abc" "Custom: macro" 40001\n')


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["install", "reaper", *args], catch_exceptions=False)


@pytest.fixture
def resource(tmp_path: Path) -> Path:
    folder = tmp_path / "REAPER"
    folder.mkdir()
    (folder / "reaper-kb.ini").write_text(USER_KB)
    return folder


def _backups(resource: Path) -> list[Path]:
    return sorted(resource.glob("reaper-kb.ini.grym-backup-*"))


def test_install_copies_configures_and_registers(resource: Path) -> None:
    result = run("--resource-path", str(resource))
    assert result.exit_code == 0, result.output
    target = resource / "Scripts" / "grym"
    for path in source_files():
        assert (target / path.relative_to(SOURCE_DIR)).read_bytes() == path.read_bytes()
    assert not (target / "grym_bridge.lua").exists(), "the ReaPack metapackage is not a script to install"
    kb = (resource / "reaper-kb.ini").read_text()
    assert kb.startswith(USER_KB), "the user's own entries must stay as they were"
    ours = [line for line in kb.splitlines() if "grym/grym_" in line]
    assert len(ours) == len(actions()) == 12
    assert 'SCR 4 0 RS' in ours[0] and '"Custom: grym: Analyze selected item" "grym/grym_analyze_selected_item.lua"' \
        in kb
    (backup,) = _backups(resource)
    assert backup.read_text() == USER_KB
    assert f"installed {len(actions())} grym actions" in result.output

    # the config is Lua that names this grym and the bridge's endpoint
    lua = require_tool("lua5.4")
    proc = subprocess.run([lua, "-e", f"local c = dofile({str(target / 'grym_config.lua')!r}); "
                                      "print(c.command[1], c.host, c.port)"], capture_output=True, text=True)
    command, host, port = proc.stdout.split()
    assert Path(command).is_file() and Path(command).name in ("grym", "grym.exe")
    assert (host, port) == ("127.0.0.1", "9130")

    # a second install changes nothing in the kb and makes no second backup
    again = run("--resource-path", str(resource))
    assert "already lists the grym actions" in again.output
    assert len(_backups(resource)) == 1 and (resource / "reaper-kb.ini").read_text() == kb


def test_uninstall_takes_away_exactly_what_install_added(resource: Path) -> None:
    run("--resource-path", str(resource))
    kb = resource / "reaper-kb.ini"
    command_id = actions()[0].command_id
    kb.write_text(kb.read_text() + f"KEY 1 71 _{command_id} 0\n")  # the user bound a shortcut to a grym action
    (resource / "Scripts" / "other.lua").write_text("-- someone else's script\n")
    runs = resource / "Scripts" / "grym" / "runs"
    runs.mkdir()
    (runs / "run_1_2_3.jsonl").write_text('{"event": "sent"}\n')  # REAPER quit while a request ran
    time.sleep(1.1)  # backups are named by the second
    result = run("--uninstall", "--resource-path", str(resource))
    assert result.exit_code == 0, result.output
    assert not (resource / "Scripts" / "grym").exists()
    assert (resource / "Scripts" / "other.lua").is_file()
    assert kb.read_text() == USER_KB
    assert len(_backups(resource)) == 2


def test_dry_run_changes_nothing(resource: Path) -> None:
    before = sorted(p.relative_to(resource) for p in resource.rglob("*"))
    result = run("--dry-run", "--resource-path", str(resource))
    assert result.exit_code == 0
    assert "would copy grym_analyze_selected_item.lua" in result.output
    assert "would register 12 actions in" in result.output and "would back up" in result.output
    assert sorted(p.relative_to(resource) for p in resource.rglob("*")) == before
    assert (resource / "reaper-kb.ini").read_text() == USER_KB


def test_a_running_reaper_leaves_the_kb_alone(resource: Path, tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "reaper"  # a process named "reaper", as REAPER's is
    fake.parent.mkdir()
    shutil.copy(shutil.which("sleep") or "/bin/sleep", fake)
    proc = subprocess.Popen([str(fake), "30"])
    try:
        time.sleep(0.2)
        result = run("--resource-path", str(resource))
    finally:
        proc.kill()
        proc.wait()
    assert result.exit_code == 0
    assert "REAPER is running (pid" in result.output and str(proc.pid) in result.output
    assert "Load ReaScript" in result.output
    assert (resource / "reaper-kb.ini").read_text() == USER_KB and not _backups(resource)
    assert (resource / "Scripts" / "grym" / "grym_ask.lua").is_file()


def test_a_missing_resource_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = run("--resource-path", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "does not exist: start REAPER once, or pass --resource-path" in result.output
