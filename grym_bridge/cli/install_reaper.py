"""`grym install reaper`: the grym ReaScripts into REAPER's resource folder, their actions registered.

Copies `reaper/grym/` (the action scripts and their `lib/`) to
`<resource>/Scripts/grym/`, writes `grym_config.lua` there with the absolute
command that starts `grym` and the bridge's host and port, and registers one
action per script in `reaper-kb.ini` (a backup first). REAPER rewrites
`reaper-kb.ini` when it quits, so the file is only edited while REAPER is not
running; otherwise the command says how to load the scripts from the action
list. `--uninstall` takes away exactly what an install put there.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click

from grym_bridge.cli.common import pass_config
from grym_bridge.config import Config

#: Where the scripts live in this checkout (the ReaPack index points at the same files).
SOURCE_DIR = Path(__file__).resolve().parents[2] / "reaper" / "grym"
INSTALL_SUBDIR = "grym"
CONFIG_NAME = "grym_config.lua"
KB_FILE = "reaper-kb.ini"
REAPER_PROCESS_NAMES = {"reaper", "reaper.exe"}
_DESCRIPTION = re.compile(r"^--\s*@description\s+(.+?)\s*$", re.MULTILINE)


def default_resource_path() -> Path:
    """REAPER's resource folder on this platform (what Options > Show REAPER resource path opens)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "REAPER"
    if sys.platform.startswith("win"):
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "REAPER"
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "REAPER"


@dataclass(frozen=True)
class Action:
    """One script to install and the action it registers."""

    file: str  # relative to the source folder, "/" separated
    description: str  # shown in REAPER's action list

    @property
    def kb_path(self) -> str:
        """The script as reaper-kb.ini names it: relative to the resource folder's Scripts/."""
        return f"{INSTALL_SUBDIR}/{self.file}"

    @property
    def command_id(self) -> str:
        """A stable `RS...` command id (REAPER's own are "RS" and 40 hex digits)."""
        return "RS" + hashlib.sha1(f"grym-bridge:{self.kb_path}".encode()).hexdigest()

    def kb_line(self) -> str:
        return f'SCR 4 0 {self.command_id} "Custom: {self.description}" "{self.kb_path}"'


def source_files(source: Path = SOURCE_DIR) -> list[Path]:
    """Every file an install copies: the action scripts and the shared library."""
    if not source.is_dir():
        raise click.ClickException(
            f"the grym ReaScripts are not at {source}: install grym-bridge from its source checkout "
            "(`pip install -e .`), or add the ReaPack repository (README, REAPER section)")
    return sorted(p for p in source.rglob("*.lua")
                  if p.is_file() and "@metapackage" not in p.read_text(encoding="utf-8")[:2000])


def actions(source: Path = SOURCE_DIR) -> list[Action]:
    """The action scripts (files with a @description that are not the ReaPack metapackage or the library)."""
    found = []
    for path in source_files(source):
        text = path.read_text(encoding="utf-8")
        match = _DESCRIPTION.search(text)
        if match and path.parent == source:
            found.append(Action(path.relative_to(source).as_posix(), match.group(1)))
    return found


def reaper_running() -> list[int]:
    """Process ids of running REAPER instances (a running REAPER would overwrite reaper-kb.ini on exit)."""
    import psutil

    pids = []
    for proc in psutil.process_iter(["name", "pid"]):
        name = (proc.info.get("name") or "").lower()
        if name in REAPER_PROCESS_NAMES:
            pids.append(proc.info["pid"])
    return pids


def grym_command() -> list[str]:
    """The absolute command that starts this grym: its console script, else this Python with -m."""
    scripts = Path(sys.executable).parent
    for name in ("grym", "grym.exe"):
        candidate = scripts / name
        if candidate.is_file():
            return [str(candidate.absolute())]
    found = shutil.which("grym")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "grym_bridge"]


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def config_text(command: list[str], host: str, port: int) -> str:
    words = ", ".join(_lua_string(w) for w in command)
    return ("-- Written by `grym install reaper`: how the grym actions start `grym call`.\n"
            "-- Run the command again after moving grym-bridge; Settings can override host and port.\n"
            f"return {{\n  command = {{ {words} }},\n  host = {_lua_string(host)},\n  port = {port},\n}}\n")


def _kb_without_ours(lines: list[str], ours: set[str]) -> list[str]:
    """reaper-kb.ini lines with our SCR entries, and shortcuts bound to them, taken out."""
    kept = []
    for line in lines:
        words = line.split()
        if words[:1] == ["SCR"] and len(words) > 3 and words[3] in ours:
            continue
        if words[:1] == ["KEY"] and len(words) > 3 and words[3].lstrip("_") in ours:
            continue
        kept.append(line)
    return kept


class Installer:
    """Plans and performs an install or uninstall; with `dry_run` it only says what it would do."""

    def __init__(self, resource: Path, dry_run: bool, echo: Callable[[str], None] = click.echo) -> None:
        self.resource = resource
        self.target = resource / "Scripts" / INSTALL_SUBDIR
        self.kb = resource / KB_FILE
        self.dry_run = dry_run
        self.echo = echo

    def _say(self, text: str) -> None:
        self.echo(("would " if self.dry_run else "") + text)

    def install(self, command: list[str], host: str, port: int) -> None:
        source = SOURCE_DIR
        for path in source_files(source):
            dest = self.target / path.relative_to(source)
            self._say(f"copy {path.relative_to(source).as_posix()} to {dest}")
            if not self.dry_run:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)
        config = self.target / CONFIG_NAME
        self._say(f"write {config} (grym: {' '.join(command)}; {host}:{port})")
        if not self.dry_run:
            tmp = config.with_suffix(".lua.tmp")
            tmp.write_text(config_text(command, host, port), encoding="utf-8")
            tmp.replace(config)
        self._register(actions(source))

    def uninstall(self) -> None:
        source = SOURCE_DIR
        leftovers = sorted((self.target / "runs").glob("run_*.json*"))  # events of requests REAPER left behind
        for dest in [*(self.target / p.relative_to(source) for p in source_files(source)), self.target / CONFIG_NAME,
                     *leftovers]:
            if dest.is_file():
                self._say(f"remove {dest}")
                if not self.dry_run:
                    dest.unlink()
        for folder in sorted({p for p in self.target.rglob("*") if p.is_dir()}, reverse=True) + [self.target]:
            if folder.is_dir() and not any(folder.iterdir()):
                self._say(f"remove the empty folder {folder}")
                if not self.dry_run:
                    folder.rmdir()
        self._register([])

    def _register(self, wanted: list[Action]) -> None:
        """Make reaper-kb.ini list exactly `wanted` of our actions (none: uninstall)."""
        ours = {a.command_id for a in actions(SOURCE_DIR)}
        running = reaper_running()
        if running:
            how = ("Actions > Show action list > New action > Load ReaScript, and pick the scripts in "
                   f"{self.target}" if wanted else "Actions > Show action list, select the grym actions, Remove")
            self.echo(f"REAPER is running (pid {', '.join(map(str, running))}), so {self.kb} was left alone "
                      f"(REAPER rewrites it when it quits). {'Load' if wanted else 'Remove'} the actions by hand: "
                      f"{how}; or quit REAPER and run this command again.")
            return
        old = self.kb.read_text(encoding="utf-8", errors="surrogateescape") if self.kb.is_file() else ""
        lines = _kb_without_ours(old.splitlines(), ours) + [a.kb_line() for a in wanted]
        new = "".join(line + "\n" for line in lines)
        if new == old:
            self.echo(f"{self.kb} already lists the grym actions" if wanted else f"{self.kb} lists no grym actions")
            return
        if self.kb.is_file():
            backup = self.kb.with_name(f"{KB_FILE}.grym-backup-{time.strftime('%Y%m%d-%H%M%S')}")
            n = 1
            while backup.exists():
                backup = backup.with_name(f"{KB_FILE}.grym-backup-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
                n += 1
            self._say(f"back up {self.kb} to {backup}")
            if not self.dry_run:
                shutil.copy2(self.kb, backup)
        verb = f"register {len(wanted)} actions in" if wanted else "remove the grym actions from"
        self._say(f"{verb} {self.kb}")
        if not self.dry_run:
            tmp = self.kb.with_name(KB_FILE + ".grym-tmp")
            tmp.write_text(new, encoding="utf-8", errors="surrogateescape")
            tmp.replace(self.kb)


@click.command()
@click.option("--dry-run", is_flag=True, help="Say what would be copied, written and registered; change nothing.")
@click.option("--uninstall", is_flag=True, help="Remove the scripts, their config and their actions.")
@click.option("--resource-path", type=click.Path(file_okay=False, path_type=Path),
              help="REAPER's resource folder (Options > Show REAPER resource path). Default: the platform's.")
@pass_config
def reaper(config: Config, dry_run: bool, uninstall: bool, resource_path: Path | None) -> None:
    """Install the grym ReaScripts into REAPER and register them in its action list.

    Copies the scripts to <resource>/Scripts/grym/, writes grym_config.lua (the absolute path of this
    grym, the bridge's host and port) and, while REAPER is not running, adds one action per script to
    reaper-kb.ini after backing it up. Run it again after an update; --uninstall undoes it.
    """
    resource = resource_path or default_resource_path()
    if not resource.is_dir():
        raise click.ClickException(
            f"REAPER's resource folder {resource} does not exist: start REAPER once, or pass --resource-path "
            "(REAPER shows it under Options > Show REAPER resource path in explorer/finder)")
    installer = Installer(resource, dry_run)
    if uninstall:
        installer.uninstall()
        return
    host = "127.0.0.1" if config.server.host in ("0.0.0.0", "::", "") else config.server.host
    installer.install(grym_command(), host, config.server.osc_port)
    if not dry_run:
        click.echo(f"installed {len(actions())} grym actions; start the bridge with `grym serve`, then run "
                   "'grym: Sync project to grym' from REAPER's action list")
