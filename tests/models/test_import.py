"""`grym models import`: tiny pipelines as a folder, a Hub cache entry and archives, imported and generated
from; damaged, incomplete, pickled, foreign and escaping sources refused without leaving anything behind."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grym_bridge.config import Config, load_config
from grym_bridge.models.importer import import_model
from grym_bridge.models.registry import MemoryBudget, ModelRegistry
from grym_bridge.models.verify import MANIFEST_NAME, WeightsRefused, verify_folder
from tests.models.layouts import hub_cache_entry, tar_of, zip_of
from tests.models.tiny import AUDIOLDM, AUDIOLDM2


def _config(tmp_path: Path, models_dirs: list[Path]) -> Config:
    return load_config(None, {"data_dir": str(tmp_path / "data"), "models.dirs": [str(d) for d in models_dirs],
                              "models.hf_cache": str(tmp_path / "no-hf-cache"), "models.device": "cpu"},
                       environ={})


def _generate(config: Config, model_id: str, budget: MemoryBudget) -> Any:
    """One short clip through the path requests take: registry, loader, pipeline call."""
    from grym_bridge.generate.options import GenerateOptions, resolve
    from grym_bridge.generate.runner import TextToAudio, run_pipeline

    loaded = TextToAudio(config, budget=budget).load(model_id)
    opts = resolve(GenerateOptions(prompt="soft pad", duration_s=0.5, seed=3, model=model_id, steps=2), config)
    return run_pipeline(loaded, opts, seed=3)


def _leftovers(base: Path) -> list[str]:
    """What a refused import left in the models folder (checks.json is the verify records, not weights)."""
    if not base.exists():
        return []
    return sorted(p.relative_to(base).as_posix() for p in base.rglob("*") if p.name != "checks.json")


@pytest.fixture
def target(tmp_path: Path) -> tuple[Config, ModelRegistry]:
    """A config whose only models folder is empty: everything there came from the import."""
    config = _config(tmp_path, [tmp_path / "models"])
    return config, ModelRegistry(config, MemoryBudget(0))


@pytest.mark.parametrize("shape", ["folder", "hub-cache", "tar.gz", "zip-of-hub-cache"])
def test_import_each_shape_then_generate_the_same_audio(shape: str, tmp_path: Path, tiny_models_dir: Path,
                                                        target: tuple[Config, ModelRegistry],
                                                        shared_budget: MemoryBudget) -> None:
    config, registry = target
    model_id = AUDIOLDM2 if "hub" in shape else AUDIOLDM
    pipeline = tiny_models_dir / model_id
    staged = tmp_path / "carried"
    staged.mkdir()
    if shape == "folder":
        source = pipeline
    elif shape == "tar.gz":
        source = tar_of(pipeline, staged / "audioldm.tar.gz")
    else:
        entry = hub_cache_entry(pipeline, staged / "hub", model_id)
        source = entry if shape == "hub-cache" else zip_of(entry, staged / "hub.zip")

    plan = import_model(registry, source)  # the id comes from the Hub folder name or the folder name

    assert plan.model_id == model_id and plan.destination == tmp_path / "models" / model_id
    assert registry.locate(model_id) == plan.destination
    weights = sorted(p.relative_to(pipeline) for p in pipeline.rglob("*.safetensors"))
    assert sorted(p.relative_to(plan.destination) for p in plan.destination.rglob("*.safetensors")) == weights
    # The Hub's SHA-256 names were checked for every weight file; a plain folder carries no hashes.
    assert plan.hashes_carried == (len(weights) if "hub" in shape else 0)
    assert verify_folder(plan.destination).ok
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".grym")]
    status = registry.status(model_id)
    assert status.present and status.dtype == "F32" and status.verified.startswith("verified")

    imported = _generate(config, model_id, shared_budget)
    original = _generate(_config(tmp_path, [tiny_models_dir]), model_id, shared_budget)
    assert imported.size > 0 and np.isfinite(imported).all()
    np.testing.assert_array_equal(imported, original)  # the same weights: the same audio, sample for sample


def _copy(tiny_models_dir: Path, tmp_path: Path, model_id: str = AUDIOLDM) -> Path:
    folder = tmp_path / "broken" / model_id.split("/")[-1]
    shutil.copytree(tiny_models_dir / model_id, folder)
    return folder


def _missing_component(folder: Path) -> Path:
    shutil.rmtree(folder / "vae")
    return folder


def _truncated(folder: Path) -> Path:
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return folder


def _pickle_only(folder: Path) -> Path:
    # The bytes do not matter: the importer refuses by kind and never opens a pickle.
    (folder / "vocoder" / "model.safetensors").rename(folder / "vocoder" / "pytorch_model.bin")
    return folder


def _foreign_config(folder: Path) -> Path:
    config = json.loads((folder / "unet" / "config.json").read_text())
    config["_class_name"] = "AudioLDM2UNet2DConditionModel"
    (folder / "unet" / "config.json").write_text(json.dumps(config))
    return folder


def _foreign_text_encoder(folder: Path) -> Path:
    config = json.loads((folder / "text_encoder" / "config.json").read_text())
    config.update(architectures=["BertModel"], model_type="bert")
    (folder / "text_encoder" / "config.json").write_text(json.dumps(config))
    return folder


def _sibling_architecture(folder: Path) -> Path:
    """Not broken: a transformers config may name a sibling class of the same model type."""
    config = json.loads((folder / "text_encoder" / "config.json").read_text())
    config["architectures"] = ["ClapTextModel"]
    (folder / "text_encoder" / "config.json").write_text(json.dumps(config))
    return folder


def _foreign_pipeline(folder: Path) -> Path:
    index = json.loads((folder / "model_index.json").read_text())
    index["_class_name"] = "StableDiffusionPipeline"
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def _tar_escaping(folder: Path) -> Path:
    archive = folder.parent / "escaping.tar"
    tar_of(folder, archive)
    with tarfile.open(archive, "a") as tf:
        data = b'{"owned": true}'
        info = tarfile.TarInfo("../escaped.json")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return archive


def _zip_escaping(folder: Path) -> Path:
    archive = zip_of(folder, folder.parent / "escaping.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(f"{folder.name}/../../escaped.json", b'{"owned": true}')
    return archive


@pytest.mark.parametrize("breaks, says", [
    (_missing_component, "component 'vae' is missing"),
    (_truncated, "diffusion_pytorch_model.safetensors is truncated"),
    (_pickle_only, "component 'vocoder' has only pickled weights (pytorch_model.bin)"),
    (_foreign_config, "component 'unet' is a AudioLDM2UNet2DConditionModel, but model_index.json expects"),
    (_foreign_text_encoder, "component 'text_encoder' is a BertModel, but model_index.json expects"),
    (_foreign_pipeline, "is a StableDiffusionPipeline pipeline; grym runs"),
    (_tar_escaping, "has an entry that points outside its folder ('../escaped.json')"),
    (_zip_escaping, "has an entry that points outside its folder"),
])
def test_bad_sources_are_refused_and_leave_nothing(breaks: Any, says: str, tmp_path: Path, tiny_models_dir: Path,
                                                   target: tuple[Config, ModelRegistry]) -> None:
    _config_, registry = target
    source = breaks(_copy(tiny_models_dir, tmp_path))
    with pytest.raises(WeightsRefused) as refused:
        import_model(registry, source)
    assert says in refused.value.message
    assert _leftovers(tmp_path / "models") == []
    assert not list(tmp_path.rglob("escaped.json"))
    assert registry.locate(AUDIOLDM) is None


def test_a_damaged_hub_blob_is_caught_by_its_sha256(tmp_path: Path, tiny_models_dir: Path,
                                                    target: tuple[Config, ModelRegistry]) -> None:
    _config_, registry = target
    entry = hub_cache_entry(tiny_models_dir / AUDIOLDM, tmp_path / "hub", AUDIOLDM)
    blob = (next(entry.glob("snapshots/*/vae/*.safetensors"))).resolve()
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF  # same size, header intact: only the hash can tell
    blob.write_bytes(bytes(data))
    with pytest.raises(WeightsRefused, match="does not match the SHA-256 the Hub recorded"):
        import_model(registry, entry)
    assert _leftovers(tmp_path / "models") == []


def test_dry_run_writes_nothing_and_an_existing_copy_needs_replace(tmp_path: Path, tiny_models_dir: Path,
                                                                   target: tuple[Config, ModelRegistry]) -> None:
    _config_, registry = target
    source = tiny_models_dir / AUDIOLDM
    plan = import_model(registry, source, dry_run=True)
    assert plan.model_id == AUDIOLDM and plan.files and _leftovers(tmp_path / "models") == []
    import_model(registry, source)
    with pytest.raises(WeightsRefused, match="already at .*add --replace"):
        import_model(registry, source)
    manifest = plan.destination / MANIFEST_NAME
    before = manifest.read_text()
    assert import_model(registry, source, replace=True, link=True).replaces
    assert json.loads(manifest.read_text())["files"] == json.loads(before)["files"]
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".grym")]


def test_the_family_decides_and_model_must_match_it(tmp_path: Path, tiny_models_dir: Path,
                                                    target: tuple[Config, ModelRegistry]) -> None:
    _config_, registry = target
    anonymous = tmp_path / "weights-from-a-friend"
    shutil.copytree(tiny_models_dir / AUDIOLDM2, anonymous)
    with pytest.raises(WeightsRefused, match="could be cvssp/audioldm2-music or cvssp/audioldm2; say which"):
        import_model(registry, anonymous)
    with pytest.raises(WeightsRefused, match="but cvssp/audioldm-s-full-v2 is an audioldm model"):
        import_model(registry, anonymous, model=AUDIOLDM)
    assert import_model(registry, anonymous, model="cvssp/audioldm2").model_id == "cvssp/audioldm2"


def test_verify_finds_a_changed_file_and_list_says_so(tmp_path: Path, tiny_models_dir: Path,
                                                      target: tuple[Config, ModelRegistry]) -> None:
    _config_, registry = target
    plan = import_model(registry, tiny_models_dir / AUDIOLDM)
    weights = plan.destination / "text_encoder" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-4] ^= 0x55
    weights.write_bytes(bytes(data))
    assert registry.status(AUDIOLDM).verified.startswith("changed since the check")
    report = verify_folder(plan.destination)
    assert not report.ok and report.problems == ["text_encoder/model.safetensors has changed (its BLAKE3 differs "
                                                 "from the manifest)"]
    registry.check_records().record(report)
    assert registry.status(AUDIOLDM).verified == "not verified"


def test_the_addresses_that_need_a_model_are_registered(config: Config) -> None:
    from grym_bridge.app import build_services
    from grym_bridge.models.registry import USED_BY
    from grym_bridge.api import build_router

    routes = build_router(build_services(config)).routes
    addresses = [a for users in USED_BY.values() for a in users if a.startswith("/")]
    assert addresses and all(a in routes for a in addresses), [a for a in addresses if a not in routes]


def test_a_folder_copied_into_place_by_hand_is_checked_where_it_is(tmp_path: Path, tiny_models_dir: Path,
                                                                   target: tuple[Config, ModelRegistry]) -> None:
    _config_, registry = target
    by_hand = tmp_path / "models" / AUDIOLDM
    shutil.copytree(tiny_models_dir / AUDIOLDM, by_hand)
    assert "no hashes to check against" in verify_folder(by_hand).problems[0]
    plan = import_model(registry, by_hand)
    assert plan.destination == by_hand and (by_hand / MANIFEST_NAME).is_file()
    assert verify_folder(by_hand).ok and registry.status(AUDIOLDM).verified.startswith("verified")


def test_a_sibling_architecture_of_the_same_model_type_is_accepted(tmp_path: Path, tiny_models_dir: Path,
                                                                    target: tuple[Config, ModelRegistry]) -> None:
    _config_, registry = target
    plan = import_model(registry, _sibling_architecture(_copy(tiny_models_dir, tmp_path)), dry_run=True)
    assert plan.model_id == AUDIOLDM
