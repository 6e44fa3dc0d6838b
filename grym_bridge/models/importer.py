"""`grym models import`: weights from a folder or an archive into the models folder, checked.

A source is a diffusers folder (`model_index.json` and one sub-folder per
component), a Hugging Face cache entry (`models--org--name`, or one of its
`snapshots/<rev>` folders), or a `.tar`/`.tar.gz`/`.zip` of either. Steps:

1. find the pipeline folder in the source (archives are unpacked first into a
   staging folder next to the destination, after every entry name is checked);
2. identify the model: the pipeline class in `model_index.json` gives the
   family, the Hub folder name, a manifest or the folder name gives the id;
3. check every component the pipeline needs: weights in safetensors (a
   pickle-only component is refused with how to convert it) whose headers
   match their sizes, and configs of the class `model_index.json` declares;
4. copy (or hard-link) the files into the staging folder, hashing each, and
   check them against the hashes the source carries (the Hub's SHA-256 blob
   names, a grym manifest);
5. write `.grym-manifest.json` and rename the staging folder into place.

Any refusal or failure deletes the staging folder: nothing half-imported stays.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from grym_bridge.errors import NotFound
from grym_bridge.models.registry import KNOWN_MODELS, ModelRegistry, get_spec
from grym_bridge.models.verify import (MANIFEST_NAME, PICKLE_SUFFIXES, FileEntry, VerifyReport, WeightsRefused,
                                       hash_file, hub_sha256, model_files, read_manifest, safetensors_dtypes,
                                       write_manifest)

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".zip")
#: The diffusers pipeline class of each family, and the UNet class that tells the two apart.
PIPELINES = {"AudioLDMPipeline": ("audioldm", "UNet2DConditionModel"),
             "AudioLDM2Pipeline": ("audioldm2", "AudioLDM2UNet2DConditionModel")}
#: Components holding no weights: they need their files, not safetensors.
NO_WEIGHTS = {"tokenizer", "tokenizer_2", "scheduler", "feature_extractor"}
#: Room left on the disk after an import.
FREE_MARGIN_BYTES = 512 * 1024**2
Progress = Callable[[str], None]


@dataclass
class ImportPlan:
    """What an import does (all of it is known before anything is written)."""

    model_id: str
    family: str
    root: Path  # the pipeline folder inside the source
    destination: Path
    files: list[tuple[str, Path]]  # (relative path, source file)
    size_bytes: int
    dtype: str | None
    hashes_carried: int  # files the source carries a hash for
    replaces: bool
    skipped: list[str] = field(default_factory=list)  # pickles and stray files not copied

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_id, "family": self.family, "from": str(self.root), "to": str(self.destination),
                "files": len(self.files), "size_gb": round(self.size_bytes / 1024**3, 3), "dtype": self.dtype,
                "hashes_carried": self.hashes_carried, "replaces": self.replaces, "skipped": self.skipped}


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _check_member(name: str, archive: Path) -> None:
    """Refuse an entry that could land outside the folder it is unpacked into."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts:
        raise WeightsRefused(f"{archive.name} has an entry that points outside its folder ({name!r}); nothing was "
                             "imported. Unpack it yourself, check it, and import the folder")


def unpack(archive: Path, into: Path) -> None:
    """Unpack a tar or zip into `into`, after checking every entry name (no `..`, no absolute paths)."""
    into.mkdir(parents=True)
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:
                _check_member(info.filename, archive)
            check_room(into, sum(i.file_size for i in infos), archive.name)
            for info in infos:
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):  # a zipped Hub cache keeps its blob symlinks (../../blobs/<sha>)
                    link = into / info.filename
                    target = zf.read(info).decode()
                    if not (link.parent / target).resolve().is_relative_to(into.resolve()):
                        raise WeightsRefused(f"{archive.name}: link {info.filename!r} points outside the archive "
                                             f"({target!r}); nothing was imported")
                    link.parent.mkdir(parents=True, exist_ok=True)
                    os.symlink(target, link)
                else:
                    zf.extract(info, into)
        return
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for member in members:
                _check_member(member.name, archive)
            check_room(into, sum(m.size for m in members), archive.name)
            # The data filter also refuses links leaving the folder, devices and odd permissions.
            tf.extractall(into, filter="data")
    except tarfile.FilterError as exc:
        raise WeightsRefused(f"{archive.name}: {exc}; nothing was imported") from None
    except tarfile.TarError as exc:
        raise WeightsRefused(f"{archive.name} is not a readable archive ({exc})") from None


def check_room(folder: Path, size: int, what: str) -> None:
    """Refuse before writing when `size` bytes (and a margin) would not fit on `folder`'s disk."""
    free = shutil.disk_usage(folder).free
    if size + FREE_MARGIN_BYTES > free:
        raise WeightsRefused(f"{what} needs {size / 1024**3:.2f} GB and {folder} has {free / 1024**3:.2f} GB free; "
                             "make room, or point models.dirs at a bigger disk")


def find_pipeline(folder: Path) -> Path:
    """The pipeline folder (holding model_index.json) inside `folder`, which may be a Hub cache entry."""
    if (folder / "model_index.json").is_file():
        return folder
    found = sorted(p.parent for p in folder.glob("**/model_index.json")
                   if not any(part.startswith(".") for part in p.relative_to(folder).parts)
                   and len(p.relative_to(folder).parts) <= 5)
    if len(found) > 1:  # a Hub cache entry with several revisions: the one refs/main names
        mains = [p for p in found if p.parent.name == "snapshots" and
                 (p.parent.parent / "refs" / "main").is_file() and
                 (p.parent.parent / "refs" / "main").read_text().strip() == p.name]
        found = mains or found
    if not found:
        raise WeightsRefused(f"{folder} holds no diffusers pipeline (no model_index.json); import the folder that a "
                             "pipeline's save_pretrained wrote, or a Hugging Face cache folder models--org--name")
    if len(found) > 1:
        listed = ", ".join(str(p) for p in found[:4])
        raise WeightsRefused(f"{folder} holds several pipelines ({listed}); import one of them")
    return found[0]


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WeightsRefused(f"{path.name} of {path.parent.name} cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise WeightsRefused(f"{path.name} of {path.parent.name} is not a JSON object")
    return data


def identify(root: Path, model_index: dict[str, Any], wanted: str | None) -> tuple[str, str]:
    """The (model id, family) of the pipeline at `root`; `wanted` is the user's --model."""
    pipeline = model_index.get("_class_name")
    if pipeline not in PIPELINES:
        known = ", ".join(PIPELINES)
        raise WeightsRefused(f"{root} is a {pipeline or 'unnamed'} pipeline; grym runs {known} "
                             f"(models: {', '.join(KNOWN_MODELS)})")
    family = PIPELINES[pipeline][0]
    if wanted:
        spec = get_spec(wanted)
        if spec.family != family:
            raise WeightsRefused(f"{root} holds an {pipeline}, but {wanted} is an {spec.family} model; "
                                 "check the folder, or leave out --model")
        return spec.id, family
    hints = [p.name for p in (root, *root.parents) if p.name.startswith("models--")]
    hints = [h[len("models--"):].replace("--", "/") for h in hints[:1]]
    manifest_model = _manifest_model(root)
    hints += [manifest_model] if manifest_model else []
    hints += [f"{root.parent.name}/{root.name}", f"cvssp/{root.name}"]
    for hint in hints:
        spec = KNOWN_MODELS.get(hint)
        if spec is not None and spec.family == family:
            return spec.id, family
    same = [s.id for s in KNOWN_MODELS.values() if s.family == family]
    if len(same) == 1:
        return same[0], family
    raise WeightsRefused(f"{root} holds an {pipeline}, which could be {' or '.join(same)}; "
                         "say which with --model")


def _manifest_model(root: Path) -> str | None:
    try:
        return str(json.loads((root / MANIFEST_NAME).read_text()).get("model") or "") or None
    except (OSError, ValueError, AttributeError):
        return None


def _foreign_class(config: dict[str, Any], declared: str) -> str | None:
    """The class a component's config names when it is not `declared` (None when it fits).

    diffusers configs name their exact class. A transformers config names the architectures it was
    trained as, which may be a sibling of the class the pipeline loads (T5ForConditionalGeneration for
    a T5EncoderModel, GPT2LMHeadModel for a GPT2Model): its `model_type` must match instead.
    """
    if "_class_name" in config:
        return None if config["_class_name"] == declared else str(config["_class_name"])
    found = (config.get("architectures") or [None])[0]
    if found is None or found == declared:
        return None
    model_type = str(config.get("model_type", "")).replace("_", "").lower()
    return None if model_type and model_type in declared.lower() else str(found)


def check_components(root: Path, model_index: dict[str, Any], family: str) -> str | None:
    """Every component the pipeline needs is present, in safetensors, of the declared class.

    Returns the dtype most weight bytes are in; raises `WeightsRefused` naming the component.
    """
    unet_class = next(u for f, u in PIPELINES.values() if f == family)
    dtypes: dict[str, int] = {}
    for name, declared in sorted(model_index.items()):
        if name.startswith("_") or not isinstance(declared, list) or declared[1] is None:
            continue
        folder = root / name
        if not folder.is_dir() or not any(folder.iterdir()):
            raise WeightsRefused(f"component '{name}' is missing ({folder} is absent or empty); the copy is "
                                 "incomplete: copy the whole pipeline folder again")
        if name in NO_WEIGHTS:
            continue
        config_path = folder / "config.json"
        if not config_path.is_file():
            raise WeightsRefused(f"component '{name}' has no config.json; copy the whole pipeline folder again")
        found_class = _foreign_class(_json(config_path), declared[1])
        if found_class:
            raise WeightsRefused(f"component '{name}' is a {found_class}, but model_index.json expects a "
                                 f"{declared[1]}: its config comes from another model; copy it from the same pipeline")
        if name == "unet" and declared[1] != unet_class:
            raise WeightsRefused(f"the unet is a {declared[1]}, but a {family} pipeline needs a {unet_class}")
        weights = sorted(folder.glob("*.safetensors"))
        if not weights:
            pickles = [p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES]
            if pickles:
                raise WeightsRefused(
                    f"component '{name}' has only pickled weights ({', '.join(pickles)}); grym never loads pickles "
                    "(loading one can run any code). Convert the pipeline on a machine you trust: "
                    "`from_pretrained(folder).save_pretrained(out, safe_serialization=True)`, then import `out`")
            raise WeightsRefused(f"component '{name}' has no weights (*.safetensors); copy it again")
        for path in weights:
            for dtype, nbytes in safetensors_dtypes(path).items():
                dtypes[dtype] = dtypes.get(dtype, 0) + nbytes
    return max(dtypes, key=dtypes.__getitem__) if dtypes else None


def plan_import(registry: ModelRegistry, root: Path, *, model: str | None = None,
                replace: bool = False) -> ImportPlan:
    """Check the pipeline at `root` and say what importing it does; nothing is written."""
    model_index = _json(root / "model_index.json")
    model_id, family = identify(root, model_index, model)
    dtype = check_components(root, model_index, family)
    destination = registry.import_dir() / model_id
    in_place = destination.exists() and destination.resolve() == root.resolve()
    if destination.exists() and not replace and not in_place:
        raise WeightsRefused(f"{model_id} is already at {destination}; add --replace to replace it")
    components = {name for name, v in model_index.items() if isinstance(v, list) and v[1] is not None}
    files, skipped, carried, size = [], [], 0, 0
    for path in model_files(root):
        rel = path.relative_to(root).as_posix()
        if "/" in rel and rel.split("/")[0] not in components:
            skipped.append(rel)
            continue
        files.append((rel, path))
        size += path.stat().st_size
        carried += hub_sha256(path) is not None
    skipped += [p.relative_to(root).as_posix() for p in root.rglob("*") if p.suffix in PICKLE_SUFFIXES]
    manifest = read_manifest(root)
    if manifest is not None:
        carried = sum(rel in manifest for rel, _ in files)
    return ImportPlan(model_id, family, root, destination, files, size, dtype, carried,
                      destination.exists(), sorted(skipped))


def _place(src: Path, dst: Path, link: bool) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    real = src.resolve()
    if link:
        try:
            os.link(real, dst)
            return
        except OSError:
            pass  # another file system, or one without hard links: copy instead
    shutil.copyfile(real, dst)


def _copy_checked(plan: ImportPlan, into: Path, link: bool, progress: Progress) -> list[FileEntry]:
    """Place every file under `into`, hash it, and check it against what the source promised."""
    promised = read_manifest(plan.root) or {}
    entries = []
    for i, (rel, src) in enumerate(plan.files, 1):
        dst = into / rel
        _place(src, dst, link)
        sha = hub_sha256(src)
        b3, sha_found = hash_file(dst, sha256=sha is not None)
        if sha is not None and sha_found != sha:
            raise WeightsRefused(f"{rel} does not match the SHA-256 the Hub recorded for it; the cache is damaged: "
                                 "download it again")
        expected = promised.get(rel)
        size = dst.stat().st_size
        if expected is not None and (expected.size != size or expected.blake3 != b3):
            raise WeightsRefused(f"{rel} does not match the manifest that came with it; copy it again")
        entries.append(FileEntry(rel, size, b3))
        progress(f"[{i}/{len(plan.files)}] {rel}")
    return entries


def import_model(registry: ModelRegistry, source: Path, *, model: str | None = None, replace: bool = False,
                 link: bool = False, dry_run: bool = False, progress: Progress = lambda _m: None) -> ImportPlan:
    """Import the pipeline in `source` (folder or archive) into the models folder; the plan carried out.

    With `dry_run` everything is checked (archives are unpacked into a staging folder and removed again) and
    nothing is kept.
    """
    source = Path(os.path.expanduser(str(source)))
    if not source.exists():
        raise NotFound(f"{source} does not exist; give a pipeline folder, a Hugging Face cache folder or an archive")
    base = registry.import_dir()
    base.mkdir(parents=True, exist_ok=True)
    staging = base / f".grym-import-{secrets.token_hex(4)}"
    try:
        if is_archive(source):
            progress(f"unpacking {source.name}")
            unpack(source, staging / "source")
            root, link = find_pipeline(staging / "source"), True  # our own unpacked copy: link, never copy twice
        elif source.is_dir():
            root = find_pipeline(source)
        else:
            raise WeightsRefused(f"{source} is neither a folder nor an archive ({', '.join(ARCHIVE_SUFFIXES)})")
        plan = plan_import(registry, root, model=model, replace=replace)
        if dry_run:
            return plan
        if plan.destination.exists() and plan.destination.resolve() == root.resolve():
            # A folder already in place (copied there by hand): checked and given its manifest where it is.
            entries = [FileEntry(rel, path.stat().st_size, hash_file(path)[0]) for rel, path in plan.files]
            write_manifest(plan.destination, entries, model=plan.model_id, source="in place")
            registry.check_records().record(VerifyReport(str(plan.destination), len(entries), "import"))
            return plan
        if not link:
            check_room(base, plan.size_bytes, plan.model_id)
        entries = _copy_checked(plan, staging / "model", link, progress)
        write_manifest(staging / "model", entries, model=plan.model_id, source=source.name)
        plan.destination.parent.mkdir(parents=True, exist_ok=True)
        if plan.destination.exists():
            os.replace(plan.destination, staging / "old")
        os.replace(staging / "model", plan.destination)
        # Every file was just hashed against what the source promised: the import counts as a check.
        registry.check_records().record(VerifyReport(str(plan.destination), checked=len(entries), against="import"))
        return plan
    finally:
        shutil.rmtree(staging, ignore_errors=True)
