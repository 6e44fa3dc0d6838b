"""Where things live, and which client-supplied paths may be opened.

Every path that arrives from a client (OSC, MIDI mapping, RPC) goes through
`PathPolicy.check` before anything opens it: it is resolved (symlinks and
`..` included) and must lie under one of the allowed roots.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, ConfigError, PathNotAllowed


@dataclass(frozen=True)
class PathPolicy:
    """The allowed roots, resolved once."""

    roots: tuple[Path, ...]

    @classmethod
    def from_config(cls, config: Config) -> "PathPolicy":
        roots = [Path(os.path.expanduser(r)) for r in config.paths.allowed_roots]
        roots.append(config.data_dir)
        resolved: list[Path] = []
        for r in roots:
            p = r.resolve()
            if p not in resolved:
                resolved.append(p)
        return cls(tuple(resolved))

    def check(self, path: str | os.PathLike[str]) -> Path:
        """Return the resolved `path` if it lies under an allowed root, else raise `PathNotAllowed`."""
        text = os.fspath(path)
        if not text or "\x00" in text:
            raise BadRequest(f"invalid path {text!r}: give an absolute path to a file")
        resolved = Path(text).expanduser().resolve()
        for root in self.roots:
            if resolved == root or resolved.is_relative_to(root):
                return resolved
        allowed = ", ".join(str(r) for r in self.roots)
        if not Path(text).expanduser().is_absolute():  # a client's relative path means the server's folder: say so
            raise PathNotAllowed(f"{text} is not a full path (here it names {resolved}, outside the allowed folders "
                                 f"{allowed}); send the file's absolute path")
        raise PathNotAllowed(
            f"{text} is outside the allowed folders ({allowed}); "
            "add its folder to paths.allowed_roots in the config file"
        )


def check_output(path: Path, *, overwrite: bool = False, companions: tuple[Path, ...] = ()) -> Path:
    """A client-named output (already checked against the roots): its folder must exist, and neither it nor
    its `companions` (sidecars) may replace an existing file unless `overwrite`, nor ever a non-regular one.

    Raises `BadRequest` with code `bad_output`. The server never creates folders outside renders/ for a client.
    """
    if not path.parent.is_dir():
        raise BadRequest(f"the output folder {path.parent} does not exist; create it first, or leave the output "
                         "out (a new name under renders/)", code="bad_output")
    for target in (path, *companions):
        try:
            mode = os.stat(target).st_mode  # stat never blocks, even on a FIFO
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            raise BadRequest(f"the output {target} exists and is not a regular file; choose another name",
                             code="bad_output")
        if not overwrite:
            raise BadRequest(f"the output {target} already exists; choose another name, leave the output out, or "
                             "ask to overwrite it", code="bad_output")
    return path


def ensure_data_dir(config: Config) -> Path:
    """Create the data directory and its `renders/` folder; return the data directory.

    A folder that cannot be made (read-only disk, unmounted drive, a file in the way) is a ConfigError naming it.
    """
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        config.renders_dir().mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot use {config.data_dir} as the data folder ({exc.strerror or exc}); set data_dir "
                          "in the config file, GRYM_DATA_DIR or --data-dir to a folder you can write to") from None
    return config.data_dir


def download_roots(config: "Config") -> list[Path]:
    """The folders clients may fetch files from: what requests make (renders, large results, uploads)."""
    return [p.resolve() for p in (config.renders_dir(), config.data_dir / "results", config.data_dir / "uploads")]
