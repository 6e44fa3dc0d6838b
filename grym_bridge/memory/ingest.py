"""Adding files and folders to the memory: find the audio, analyze what is new, remember it.

A file whose content is already remembered with features from the current
analyzer is not analyzed again, so re-adding a whole sample library only
analyzes what changed. One bad file is reported and skipped; it never stops the rest.

A server passes `check` (the path policy): every file a folder scan finds is
resolved (symlinks followed) and checked against the allowed roots after
resolution, and only regular files are opened (a FIFO or a link to
`/dev/zero` named `x.wav` is reported, never read). The walk and the hashing
reach a cancellation point per folder and per chunk.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from grym_bridge.cancel import checkpoint
from grym_bridge.errors import BadRequest, Cancelled, GrymError, NotFound, error_message, is_disk_full
from grym_bridge.memory.analyzer import Analyzer
from grym_bridge.memory.checks import content_hash_of
from grym_bridge.memory.features import detect_patterns
from grym_bridge.memory.store import MemoryStore
from grym_bridge.memory.types import PATTERN_KINDS
from grym_bridge.results import to_jsonable

AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".aif", ".aiff", ".flac", ".ogg", ".mp3"})
Progress = Callable[[float, str], None]
#: The path policy's check: returns the resolved path or raises `PathNotAllowed`.
PathCheck = Callable[[Path], Path]


@dataclass
class AddReport:
    """What `add_paths` did: new clip ids, ids that were already known, and files that failed."""

    added: list[int] = field(default_factory=list)
    known: list[int] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)


def audio_files(paths: Iterable[str | os.PathLike[str]], *, check: PathCheck | None = None,
                rejected: list[dict[str, str]] | None = None) -> list[Path]:
    """The audio files named, and those inside named folders (recursively, sorted, hidden ones skipped).

    With `check`, every file found is resolved and checked after resolution; one outside the
    roots, or not a regular file, is left out and described in `rejected` (when given).
    Folder links are never followed (`os.walk`'s default), so a scan stays in its tree.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                checkpoint()
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root, f) for f in sorted(files)
                             if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_EXTENSIONS)
        elif path.exists():
            found.append(path)
        else:
            raise NotFound(f"no file or folder at {path}; check the path")
    safe: list[Path] = []
    for file in dict.fromkeys(found):
        try:
            safe.append(_usable(file, check))
        except GrymError as exc:
            if rejected is not None:
                rejected.append({"path": str(file), "code": exc.code, "message": exc.message})
    return list(dict.fromkeys(safe))


def _usable(file: Path, check: PathCheck | None) -> Path:
    """`file` resolved (and checked against the roots); a FIFO, device or dangling link is refused."""
    resolved = check(file) if check is not None else file.resolve()
    try:
        mode = os.stat(resolved).st_mode  # stat never blocks on a FIFO; opening it would
    except OSError as exc:
        raise NotFound(f"{file} cannot be read ({exc.strerror}); a dangling link?") from None
    if not stat.S_ISREG(mode):
        raise BadRequest(f"{file} is not a regular file (a FIFO, device or folder named like audio); it was skipped")
    return resolved


def add_paths(store: MemoryStore, paths: Iterable[str | os.PathLike[str]], *, analyzer: Analyzer | None,
              source: str = "analyzed", tags: Iterable[str] = (), provenance: dict[str, Any] | None = None,
              progress: Progress | None = None, check: PathCheck | None = None) -> AddReport:
    """Analyze (when an analyzer is installed) and remember every audio file under `paths`.

    `check` (a server's path policy) is applied to every file found, after resolving it.
    """
    report = AddReport()
    files = audio_files(paths, check=check, rejected=report.failed)
    if not files and not report.failed:
        raise BadRequest("no audio files found; give files or folders holding .wav, .aiff, .flac, .ogg or .mp3")
    tags = list(tags)
    for n, file in enumerate(files):
        if progress:
            progress(n / max(1, len(files)), f"{file.name} ({n + 1} of {len(files)})")
        try:
            content_hash = content_hash_of(file)
            known = store.adopt_legacy(file, content_hash)
            analysis = None
            if analyzer is not None and (known is None or known.analyzer_version != analyzer.version):
                analysis = analyzer.analyze(file)
            clip = store.add_clip(file, analysis=analysis, source=source, tags=tags, provenance=provenance,
                                  content_hash=content_hash if analysis is not None else None)
        except Cancelled:
            raise  # the job stops here; it is not one bad file
        except GrymError as exc:
            report.failed.append({"path": str(file), "code": exc.code, "message": exc.message})
            continue
        except OSError as exc:
            report.failed.append({"path": str(file), "code": "disk_full" if is_disk_full(exc) else "bad_audio",
                                  "message": error_message(exc) if is_disk_full(exc) else f"{file}: {exc.strerror}"})
            continue
        (report.known if known is not None else report.added).append(clip.id)
    if progress:
        progress(1.0, f"{len(report.added)} added, {len(report.known)} known, {len(report.failed)} failed")
    return report


def query_for(store: MemoryStore, analyzer: Analyzer | None, file_or_id: str | int,
              space: str = "features") -> int | list[float]:
    """What to search `space` (a vector space or a pattern kind) with, for a clip id or an audio
    file: a remembered clip's id, or a new file's analyzed vector or pattern."""
    text = str(file_or_id).strip()
    if isinstance(file_or_id, int) or (text.isdigit() and not Path(text).exists()):
        return store.get(int(text)).id
    file = Path(text).expanduser()
    if not file.is_file():
        raise NotFound(f"{text} is neither a clip id nor a file; `grym memory list` shows the ids")
    known = store.adopt_legacy(file, content_hash_of(file))
    if known is not None and (space in known.spaces or space in PATTERN_KINDS):
        return known.id
    if analyzer is None:
        raise BadRequest(f"{file} is not in the memory and no analyzer is installed to compare it; add it first")
    analysis = analyzer.analyze(file)
    if space in PATTERN_KINDS:
        vector: Any = detect_patterns(to_jsonable(analysis)).get(space)
    else:
        vector = getattr(analysis, "embedding" if space == "embedding" else "feature_vector", None)
    if vector is None:
        raise BadRequest(f"the analysis of {file} has no {space} vector or pattern; "
                         "for embeddings, add the clip with one first")
    return [float(v) for v in vector]
