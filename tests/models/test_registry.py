"""The model registry: known models, where weights are found, the shared memory budget, removal."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from grym_bridge.config import Config
from grym_bridge.errors import ModelUnavailable, NotFound
from grym_bridge.models.registry import KNOWN_MODELS, MemoryBudget, ModelRegistry, process_budget
from tests.models.tiny import AUDIOLDM, AUDIOLDM2


def test_known_models_cover_audioldm_and_audioldm2() -> None:
    families = {spec.family for spec in KNOWN_MODELS.values()}
    assert families == {"audioldm", "audioldm2"}
    for spec in KNOWN_MODELS.values():
        assert spec.sample_rate == 16000 and spec.params_m > 0 and "non-commercial" in spec.license


def test_missing_weights_name_the_command_that_fetches_them(config: Config, tmp_path: Path) -> None:
    config.models.dirs = [str(tmp_path / "nothing-here")]
    config.models.hf_cache = str(tmp_path / "empty-hf-cache")
    registry = ModelRegistry(config)
    assert not any(s.present for s in registry.list())
    with pytest.raises(ModelUnavailable) as err:
        registry.require(AUDIOLDM2)
    assert f"grym models pull {AUDIOLDM2}" in err.value.message
    assert "models extra" not in err.value.message  # installed here: nothing more to say


def test_missing_weights_without_the_models_extra_say_to_install_it_first(config: Config, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    config.models.hf_cache = str(tmp_path / "empty-hf-cache")
    monkeypatch.setitem(sys.modules, "diffusers", None)  # as after `make serve`: not importable
    with pytest.raises(ModelUnavailable) as err:
        ModelRegistry(config).require(AUDIOLDM2)
    assert "install the models extra first (pip install 'grym-bridge[models]'; diffusers missing), then fetch them " \
           f"with `grym models pull {AUDIOLDM2}`" in err.value.message


def test_unknown_model_lists_the_known_ones(config: Config) -> None:
    with pytest.raises(NotFound) as err:
        ModelRegistry(config).require("cvssp/audioldm3")
    assert AUDIOLDM2 in err.value.message


def test_local_folder_is_found_with_its_size(tiny_config: Config) -> None:
    registry = ModelRegistry(tiny_config)
    status = {s.id: s for s in registry.list()}
    assert status[AUDIOLDM].present and status[AUDIOLDM2].present
    assert status[AUDIOLDM].size_on_disk_gb and status[AUDIOLDM].size_on_disk_gb > 0
    assert not status["cvssp/audioldm2"].present


def test_hugging_face_cache_layout_is_found(config: Config, tiny_models_dir: Path, tmp_path: Path) -> None:
    # The hub cache's own layout: models--org--name/refs/main names the snapshot folder.
    cache = tmp_path / "hf"
    repo = cache / "models--cvssp--audioldm-s-full-v2"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_models_dir / AUDIOLDM, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    config.models.dirs = []
    config.models.hf_cache = str(cache)
    registry = ModelRegistry(config)
    assert registry.locate(AUDIOLDM) == repo / "snapshots" / commit
    assert registry.locate(AUDIOLDM2) is None


def test_budget_unloads_least_recently_used_first() -> None:
    freed: list[str] = []
    budget = MemoryBudget(100)
    budget.acquire("a", lambda: "A", 40, release=freed.append)
    budget.acquire("b", lambda: "B", 40, release=freed.append)
    assert budget.acquire("a", lambda: "A2", 40) == "A"  # already loaded: no reload, now most recent
    budget.acquire("c", lambda: "C", 40, release=freed.append)  # needs room: "b" is least recent
    assert freed == ["B"]
    assert budget.keys() == ["a", "c"] and budget.used_bytes == 80
    budget.acquire("huge", lambda: "H", 500, release=freed.append)  # larger than the budget: loads alone
    assert budget.keys() == ["huge"] and freed == ["B", "A", "C"]


def test_registry_loads_once_per_variant_and_remove_deletes(tiny_config: Config, tmp_path: Path) -> None:
    target = tmp_path / "models"
    shutil.copytree(Path(tiny_config.models.dirs[0]) / AUDIOLDM, target / AUDIOLDM)
    tiny_config.models.dirs = [str(target)]
    registry = ModelRegistry(tiny_config, MemoryBudget(2**30))
    calls: list[Path] = []

    def loader(spec, folder):  # noqa: ANN001 - the registry's loader signature
        calls.append(folder)
        return object()

    first = registry.load(AUDIOLDM, loader, variant="cpu")
    assert registry.load(AUDIOLDM, loader, variant="cpu") is first
    assert registry.load(AUDIOLDM, loader, variant="other") is not first
    assert calls == [target / AUDIOLDM] * 2
    assert registry.status(AUDIOLDM).loaded
    removed = registry.remove(AUDIOLDM)
    assert removed == [str(target / AUDIOLDM)] and not (target / AUDIOLDM).exists()
    assert not registry.status(AUDIOLDM).loaded and not registry.status(AUDIOLDM).present
    with pytest.raises(NotFound):
        registry.remove(AUDIOLDM)


def test_registries_share_the_process_budget(config: Config, tiny_config: Config) -> None:
    assert ModelRegistry(config).budget is ModelRegistry(tiny_config).budget is process_budget(config)
