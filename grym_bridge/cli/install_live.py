"""`grym install live`: copy the grym Max for Live device into Live's User Library.

The device is built from the repository's `max_for_live/` sources (frozen: its
scripts travel inside it), or taken from `--device`. It lands in
`<User Library>/Presets/Audio Effects/Max Audio Effect/grym.amxd`, where Live's
browser lists it under Audio Effects > Max Audio Effect.
"""

from __future__ import annotations

import filecmp
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import click

from grym_bridge.cli.common import pass_config
from grym_bridge.config import Config
from grym_bridge.errors import BadRequest

DEVICE_NAME = "grym.amxd"
DEVICE_FOLDER = Path("Presets", "Audio Effects", "Max Audio Effect")
SOURCES = Path(__file__).resolve().parents[2] / "max_for_live"
REQUIREMENTS = ("The grym device needs Ableton Live 11 or later with Max for Live: Live Suite, or Live Standard "
                "with the Max for Live add-on (Live 12.0.5 or later also places generated clips in clip slots).")


def default_user_library(platform: str = sys.platform, home: Path | None = None) -> Path:
    """Where Live keeps its User Library unless the user moved it (Live: Settings > Library)."""
    home = home or Path.home()
    if platform == "darwin":
        return home / "Music" / "Ableton" / "User Library"
    if platform.startswith("win"):
        return home / "Documents" / "Ableton" / "User Library"
    return home / "Ableton" / "User Library"  # Live does not run on Linux: a place to test the installer


def build_device(out: Path) -> Path:
    """Build the frozen device from the repository's max_for_live/ sources into `out`."""
    builder = SOURCES / "build.py"
    if not builder.is_file():
        raise BadRequest(f"the device sources are not at {SOURCES} (grym was installed without its repository): "
                         "run `python max_for_live/build.py` in a checkout and pass the result with --device")
    spec = importlib.util.spec_from_file_location("grym_device_build", builder)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(out, frozen=True, folder=SOURCES)


@click.command("live")
@click.option("--dry-run", is_flag=True, help="Say what would be copied or removed; change nothing.")
@click.option("--uninstall", is_flag=True, help="Remove the device from the User Library.")
@click.option("--user-library", type=click.Path(file_okay=False, path_type=Path),
              help="Live's User Library folder (default: the platform's; Live shows it under Settings > Library).")
@click.option("--device", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Install this .amxd instead of building one from max_for_live/.")
@click.option("--force", is_flag=True, help="Replace an installed grym device that differs from this one.")
@pass_config
def live(config: Config, dry_run: bool, uninstall: bool, user_library: Path | None, device: Path | None,
         force: bool) -> None:
    """Install the grym Max for Live device into Ableton Live's User Library (or --uninstall it)."""
    click.echo(REQUIREMENTS)
    library = (user_library or default_user_library()).expanduser()
    if not library.is_dir():
        raise BadRequest(f"Live's User Library is not at {library}: open Live once (it creates it), or give its "
                         "folder with --user-library (Live: Settings > Library > Location of User Library)")
    target = library / DEVICE_FOLDER / DEVICE_NAME
    prefix = "would " if dry_run else ""
    if uninstall:
        if not target.is_file():
            click.echo(f"nothing to remove: no grym device at {target}")
            return
        if not dry_run:
            target.unlink()
        click.echo(f"{prefix}remove {target}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        source = device or build_device(Path(tmp) / DEVICE_NAME)
        if source.read_bytes()[:4] != b"ampf":
            raise BadRequest(f"{source} is not a Max for Live device (.amxd files start with 'ampf')")
        if target.is_file():
            if filecmp.cmp(source, target, shallow=False):
                click.echo(f"already installed: {target}")
                return
            if not force:
                raise BadRequest(f"a different grym device is installed at {target}: add --force to replace it")
        if not dry_run:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp_target = target.with_name(f".{DEVICE_NAME}.{os.getpid()}.tmp")
            tmp_target.write_bytes(source.read_bytes())
            tmp_target.replace(target)
        click.echo(f"{prefix}copy {source.name} ({source.stat().st_size} bytes) to {target}")
    click.echo("In Live: Browser > Audio Effects > Max Audio Effect > grym; drop it on any audio track.")
    click.echo(f"Start the bridge first: grym serve. Generated clips are in {config.renders_dir()}: add that "
               "folder to Live's browser once (Places > Add Folder…) to drag them in.")
