"""The exporting side of `grym models fetch`: which model files this bridge lets other bridges copy.

The RPC server asks a `ModelShare` for a model's manifest (every file's
relative path, size and BLAKE3) and, per requested file, for the one path it
may send. Only the files of a known model found by the registry are served,
each resolved (symlinks of the Hugging Face cache followed) and checked to lie
under that model's own folder (or its Hub cache entry), to be a regular file of
a kept kind (safetensors, JSON, tokenizer text; never a pickle) and to still
have the size the manifest gave. The token check is the RPC server's, as for
every other request.

Hashing a model of several GB takes seconds, so manifests are kept in memory
per file (size and modification time); a folder imported by grym already
carries its manifest, which is used when it still matches the files.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, ModelUnavailable, PathNotAllowed
from grym_bridge.models.registry import MemoryBudget, ModelRegistry, check_model_id, get_spec
from grym_bridge.models.verify import KEPT_SUFFIXES, FileEntry, hash_file, model_files, read_manifest


class ModelShare:
    """Model manifests and checked file paths for the RPC server's `manifest` and `get {model, file}` frames."""

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry
        self._hashes: dict[tuple[str, int, int], str] = {}  # (real path, size, mtime_ns) -> BLAKE3
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> "ModelShare":
        """A share over the registry's folders; its registry never loads a model, so it gets an empty budget
        rather than claiming the process budget (which the first loader sizes)."""
        return cls(ModelRegistry(config, MemoryBudget(0)))

    def _folder(self, model_id: Any) -> tuple[str, Path]:
        spec = get_spec(check_model_id(model_id))
        folder = self.registry.locate(spec.id)
        if folder is None:
            raise ModelUnavailable(f"this bridge does not have {spec.id}; `grym models list` there shows what it has")
        return spec.id, folder

    @staticmethod
    def _roots(folder: Path) -> list[Path]:
        """The folders a model's files may resolve into: its own, and for a Hub snapshot its cache entry."""
        roots = [folder.resolve()]
        if folder.parent.name == "snapshots":
            roots.append(folder.parent.parent.resolve())  # models--org--name, holding blobs/
        return roots

    def manifest(self, model_id: Any) -> dict[str, Any]:
        """`{model, files: [{path, size, blake3}], size}` of a model this bridge has (blocking: hashes files)."""
        mid, folder = self._folder(model_id)
        recorded = read_manifest(folder) or {}
        entries: list[FileEntry] = []
        for path in model_files(folder):
            rel = path.relative_to(folder).as_posix()
            real = self._checked(folder, path)
            st = real.stat()
            known = recorded.get(rel)
            if known is not None and known.size == st.st_size:
                entries.append(known)
                continue
            key = (str(real), st.st_size, st.st_mtime_ns)
            with self._lock:
                digest = self._hashes.get(key)
            if digest is None:
                digest = hash_file(real)[0]
                with self._lock:
                    self._hashes[key] = digest
            entries.append(FileEntry(rel, st.st_size, digest))
        return {"model": mid, "files": [e.__dict__ for e in entries], "size": sum(e.size for e in entries)}

    def _checked(self, folder: Path, path: Path) -> Path:
        real = path.resolve()
        if not any(real.is_relative_to(root) for root in self._roots(folder)):
            raise PathNotAllowed(f"{path.name} of this model points outside its folder; it is not shared")
        if not real.is_file() or path.suffix not in KEPT_SUFFIXES:
            raise PathNotAllowed(f"{path.name} is not a model file this bridge shares")
        return real

    def resolve(self, model_id: Any, rel: Any) -> Path:
        """The real path of file `rel` of `model_id`, if it is one the manifest lists; else an error."""
        if not isinstance(rel, str) or not rel or "\x00" in rel:
            raise BadRequest("a model get frame needs 'file': a path from the model's manifest")
        _mid, folder = self._folder(model_id)
        listed = {p.relative_to(folder).as_posix(): p for p in model_files(folder)}
        path = listed.get(rel)
        if path is None:
            raise PathNotAllowed(f"{rel} is not a file of this model; ask for the manifest and fetch what it lists")
        return self._checked(folder, path)
