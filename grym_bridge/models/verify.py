"""Checking model weights on disk: safetensors headers, file hashes, manifests.

A model folder grym imported or fetched carries `.grym-manifest.json`: every
file's relative path, size and BLAKE3, written when the files were checked.
A Hugging Face cache snapshot carries its own proof: each large (LFS) file is
a symlink to a blob named by the SHA-256 of its content. `verify_folder`
re-hashes a folder against whichever it has.

Whether a folder passed its last check is remembered per folder in the data
directory (`models/checks.json`) with each file's size and modification time,
so `grym models list` can say "verified" without hashing gigabytes: a file
touched since makes it "changed since the check".

No torch here: a safetensors file is checked by reading its JSON header and
comparing the byte ranges it declares with the file's size.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import blake3

from grym_bridge.errors import GrymError

MANIFEST_NAME = ".grym-manifest.json"
#: What a model folder may hold and what is copied or served: weights, configs, tokenizer files.
KEPT_SUFFIXES = (".safetensors", ".json", ".txt", ".model")
#: Pickled checkpoints: never loaded, never copied, never served.
PICKLE_SUFFIXES = (".bin", ".ckpt", ".pt", ".pth", ".pkl", ".pickle")
_SHA256_NAME = re.compile(r"^[0-9a-f]{64}$")
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
_READ = 8 * 1024 * 1024


class WeightsRefused(GrymError):
    """Weights that grym will not import or load: damaged, pickled, incomplete or for another model."""

    code = "model_refused"


@dataclass(frozen=True)
class FileEntry:
    """One file of a model: its path relative to the model folder, size and BLAKE3 (hex)."""

    path: str
    size: int
    blake3: str


@dataclass
class VerifyReport:
    """The outcome of `verify_folder`: which files were checked against what, and what was wrong."""

    folder: str
    checked: int = 0
    against: str = "nothing"  # "manifest", "hub hashes" or "nothing"
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.checked > 0


def safetensors_dtypes(path: Path) -> Counter[str]:
    """Bytes per dtype in a safetensors file, after checking that its header matches its size.

    Raises `WeightsRefused` for a file that is cut short, padded, or not safetensors at all.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise WeightsRefused(f"{path.name} is not a safetensors file (only {size} bytes); get it again")
        (header_len,) = struct.unpack("<Q", head)
        if header_len > min(_MAX_HEADER, size - 8):
            raise WeightsRefused(f"{path.name} is truncated or not a safetensors file (its header claims "
                                 f"{header_len} bytes of {size}); get it again")
        try:
            header = json.loads(fh.read(header_len))
        except ValueError:
            raise WeightsRefused(f"{path.name} has a damaged safetensors header; get it again") from None
    if not isinstance(header, dict):
        raise WeightsRefused(f"{path.name} has a damaged safetensors header; get it again")
    end = 0
    dtypes: Counter[str] = Counter()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            start, stop = (int(x) for x in info["data_offsets"])
            dtypes[str(info["dtype"])] += stop - start
        except (KeyError, TypeError, ValueError):
            raise WeightsRefused(f"{path.name}: tensor {name!r} has no valid data_offsets; "
                                 "get the file again") from None
        end = max(end, stop)
    expected = 8 + header_len + end
    if expected != size:
        state = "truncated" if size < expected else "longer than its header says"
        raise WeightsRefused(f"{path.name} is {state} ({size} bytes, its header says {expected}); "
                             "the copy or download was interrupted: get it again")
    return dtypes


def folder_dtype(folder: Path) -> str | None:
    """The dtype most of a folder's weight bytes are in ("F32", "F16", ...), or None when unreadable."""
    total: Counter[str] = Counter()
    for path in sorted(folder.rglob("*.safetensors")):
        try:
            total += safetensors_dtypes(path)
        except (OSError, WeightsRefused):
            return None
    return total.most_common(1)[0][0] if total else None


def hash_file(path: Path, *, sha256: bool = False) -> tuple[str, str | None]:
    """BLAKE3 of a file (hex), and its SHA-256 too when asked (the Hub names LFS blobs by it)."""
    # BLAKE3, the hash RPC transfers use (so a manifest entry checks a fetched file as is); several
    # threads hash one large file, which is what weights are.
    b3 = blake3.blake3(max_threads=blake3.blake3.AUTO)
    sh = hashlib.sha256() if sha256 else None
    with path.open("rb", buffering=0) as fh:
        while chunk := fh.read(_READ):
            b3.update(chunk)
            if sh is not None:
                sh.update(chunk)
    return b3.hexdigest(), (sh.hexdigest() if sh is not None else None)


def model_files(folder: Path) -> list[Path]:
    """The files of a model folder that grym keeps (weights, configs, tokenizers), sorted; symlinks followed."""
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue  # the manifest, editor and download leftovers
        if path.suffix in KEPT_SUFFIXES and path.is_file():
            out.append(path)
    return out


def hub_sha256(path: Path) -> str | None:
    """The SHA-256 a Hugging Face cache file promises: the name of the blob its symlink points to."""
    if not path.is_symlink():
        return None
    name = Path(os.readlink(path)).name
    return name if _SHA256_NAME.match(name) else None


def write_manifest(folder: Path, entries: Iterable[FileEntry], **about: Any) -> Path:
    """Write `.grym-manifest.json` into `folder` (about: model, source, ...)."""
    doc = {"version": 1, **about, "checked_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "files": [{"path": e.path, "size": e.size, "blake3": e.blake3} for e in entries]}
    path = folder / MANIFEST_NAME
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    os.replace(tmp, path)
    return path


def read_manifest(folder: Path) -> dict[str, FileEntry] | None:
    """The manifest's entries by relative path, or None when the folder has none (or it is unreadable)."""
    try:
        doc = json.loads((folder / MANIFEST_NAME).read_text())
        return {f["path"]: FileEntry(str(f["path"]), int(f["size"]), str(f["blake3"])) for f in doc["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def verify_folder(folder: Path) -> VerifyReport:
    """Re-hash every file of `folder` against its manifest, else against the Hub's SHA-256 blob names."""
    report = VerifyReport(str(folder))
    manifest = read_manifest(folder)
    present = {p.relative_to(folder).as_posix(): p for p in model_files(folder)}
    if manifest is not None:
        report.against = "manifest"
        for rel, entry in manifest.items():
            path = present.get(rel)
            if path is None:
                report.problems.append(f"{rel} is missing")
                continue
            if path.stat().st_size != entry.size:
                report.problems.append(f"{rel} is {path.stat().st_size} bytes, the manifest says {entry.size}")
                continue
            if hash_file(path)[0] != entry.blake3:
                report.problems.append(f"{rel} has changed (its BLAKE3 differs from the manifest)")
            report.checked += 1
    else:
        promised = {rel: sha for rel, p in present.items() if (sha := hub_sha256(p))}
        report.against = "hub hashes" if promised else "nothing"
        for rel, sha in promised.items():
            if hash_file(present[rel], sha256=True)[1] != sha:
                report.problems.append(f"{rel} has changed (its SHA-256 differs from the Hub's)")
            report.checked += 1
    for rel, path in present.items():
        if path.suffix == ".safetensors":
            try:
                safetensors_dtypes(path)
            except WeightsRefused as exc:
                report.problems.append(exc.message)
    if report.checked == 0 and not report.problems:
        report.problems.append("no hashes to check against (no manifest, not a Hub snapshot); "
                               "import the folder with `grym models import` to record them")
    return report


def _stats(folder: Path) -> dict[str, list[int]]:
    out = {}
    for p in model_files(folder):
        st = p.stat()
        out[p.relative_to(folder).as_posix()] = [st.st_size, st.st_mtime_ns]
    return out


class CheckRecords:
    """Which folders passed `verify_folder`, and when: `<data dir>/models/checks.json`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def record(self, report: VerifyReport) -> None:
        """Remember a passed check (a failed one forgets the folder)."""
        data = self._load()
        if report.ok:
            data[report.folder] = {"at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "against": report.against,
                                   "files": _stats(Path(report.folder))}
        else:
            data.pop(report.folder, None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.path)

    def state(self, folder: Path) -> str:
        """"verified <time>", "changed since the check of <time>" or "not verified"."""
        entry = self._load().get(str(folder))
        if not entry:
            return "not verified"
        if entry.get("files") != _stats(folder):
            return f"changed since the check of {entry.get('at')}"
        return f"verified {entry.get('at')}"
