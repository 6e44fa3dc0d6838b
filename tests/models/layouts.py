"""The shapes weights arrive in, built from a tiny pipeline folder: a Hugging Face cache entry and archives.

`hub_cache_entry` lays a diffusers folder out the way huggingface_hub's cache
does (`models--org--name/blobs/<etag>`, `refs/main`, `snapshots/<rev>/...` as
relative symlinks into blobs/): large files named by their SHA-256 as the Hub
does for LFS files, small ones by their git blob SHA-1. `tar_of` and `zip_of`
pack a folder (symlinks kept as symlinks) under one top folder, as a person
would before carrying it to another machine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

REVISION = "0123456789abcdef0123456789abcdef01234567"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def hub_cache_entry(pipeline: Path, cache: Path, repo_id: str) -> Path:
    """Lay `pipeline` out as the cache entry of `repo_id` under `cache`; the entry folder (models--org--name)."""
    entry = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = entry / "snapshots" / REVISION
    (entry / "blobs").mkdir(parents=True)
    (entry / "refs").mkdir()
    (entry / "refs" / "main").write_text(REVISION)
    for path in sorted(pipeline.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        data = path.read_bytes()
        etag = hashlib.sha256(data).hexdigest() if path.suffix == ".safetensors" else git_blob_sha1(data)
        blob = entry / "blobs" / etag
        if not blob.exists():
            shutil.copyfile(path, blob)
        link = snapshot / path.relative_to(pipeline)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, link.parent), link)
    return entry


def tar_of(folder: Path, archive: Path) -> Path:
    with tarfile.open(archive, "w:gz" if archive.name.endswith(".gz") else "w") as tf:
        tf.add(folder, arcname=folder.name)
    return archive


def zip_of(folder: Path, archive: Path) -> Path:
    """A zip of `folder` whose symlinks are stored as links (what `zip -y` does)."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            name = f"{folder.name}/{path.relative_to(folder).as_posix()}"
            if path.is_symlink():
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, os.readlink(path))
            elif path.is_file():
                zf.write(path, name)
    return archive
