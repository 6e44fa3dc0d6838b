"""`grym models fetch` on loopback: a real bridge shares a tiny model over RPC, another config fetches it.

What the exporting side serves is checked here file by file (only the listed
files of a model it has; no pickles, no path that climbs out); the same fetch
between two bridges on a private network, with and without the token, is in
tests/network/test_models_fetch.py.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from grym_bridge.config import Config, load_config
from grym_bridge.errors import GrymError
from grym_bridge.models.fetch import fetch_model
from grym_bridge.models.registry import MemoryBudget, ModelRegistry
from grym_bridge.models.verify import WeightsRefused, hash_file, verify_folder
from grym_bridge.transports.rpc.client import RpcClient
from tests.models.tiny import AUDIOLDM
from tests.osc_client import RunningServer, start_server


@pytest.fixture
def sharing(tmp_path: Path, tiny_models_dir: Path) -> Iterator[tuple[RunningServer, Path]]:
    """A real bridge on loopback whose models folder holds a copy of the tiny AudioLDM (and a stray pickle)."""
    shared = tmp_path / "shared-models"
    shutil.copytree(tiny_models_dir / AUDIOLDM, shared / AUDIOLDM)
    (shared / AUDIOLDM / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"not for anyone")
    config = load_config(None, {"data_dir": str(tmp_path / "lender"), "paths.allowed_roots": [str(tmp_path)],
                                "models.dirs": [str(shared)], "models.hf_cache": str(tmp_path / "no-hf"),
                                "network.rpc_port": 0, "network.oscquery_port": 0}, environ={})
    server = start_server(config)
    try:
        yield server, shared / AUDIOLDM
    finally:
        server.stop()


def _borrower(tmp_path: Path) -> ModelRegistry:
    config: Config = load_config(None, {"data_dir": str(tmp_path / "borrower"),
                                        "models.hf_cache": str(tmp_path / "no-hf")}, environ={})
    return ModelRegistry(config, MemoryBudget(0))


def _run(server: RunningServer, work: Any) -> Any:
    async def main() -> Any:
        client = await RpcClient.connect("127.0.0.1", int(server.services.endpoints["rpc"]))
        try:
            return await work(client)
        finally:
            await client.close()

    return asyncio.run(main())


def test_fetch_copies_the_listed_files_checked(sharing: tuple[RunningServer, Path], tmp_path: Path) -> None:
    server, folder = sharing
    registry = _borrower(tmp_path)
    plan = _run(server, lambda client: fetch_model(registry, client, AUDIOLDM, origin="test"))

    assert plan.destination == tmp_path / "borrower" / "models" / AUDIOLDM
    assert registry.locate(AUDIOLDM) == plan.destination and verify_folder(plan.destination).ok
    sent = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.suffix != ".bin")
    got = sorted(p.relative_to(plan.destination).as_posix() for p in plan.destination.rglob("*")
                 if p.is_file() and not p.name.startswith("."))
    assert got == sent  # every kept file, and not the pickle
    for rel in sent:
        assert (plan.destination / rel).read_bytes() == (folder / rel).read_bytes()
    assert not [p for p in plan.destination.parent.parent.iterdir() if p.name.startswith(".grym")]
    assert registry.status(AUDIOLDM).verified.startswith("verified")


def test_the_lender_lists_and_serves_only_its_model_files(sharing: tuple[RunningServer, Path]) -> None:
    server, folder = sharing

    async def probe(client: RpcClient) -> dict[str, Any]:
        out: dict[str, Any] = {"manifest": await client.model_manifest(AUDIOLDM)}
        for name, (model, rel) in {
            "climbing": (AUDIOLDM, "../../../lender/network_token"),
            "pickle": (AUDIOLDM, "unet/diffusion_pytorch_model.bin"),
            "absent model": ("cvssp/audioldm2", "model_index.json"),
            "unknown model": ("someone/else", "model_index.json"),
        }.items():
            try:
                await client.download_model_file(model, rel, folder.parent / "never")
                out[name] = "served"
            except GrymError as exc:
                out[name] = exc.code
        return out

    out = _run(server, probe)
    listed = {f["path"]: f for f in out["manifest"]["files"]}
    assert "unet/diffusion_pytorch_model.bin" not in listed and "model_index.json" in listed
    weights = listed["unet/diffusion_pytorch_model.safetensors"]
    assert weights["blake3"] == hash_file(folder / "unet" / "diffusion_pytorch_model.safetensors")[0]
    assert out["climbing"] == "path_not_allowed" and out["pickle"] == "path_not_allowed"
    assert out["absent model"] == "model_unavailable" and out["unknown model"] == "not_found"
    assert not (folder.parent / "never").exists()


def test_a_listing_that_would_not_fit_is_refused_before_any_download(tmp_path: Path) -> None:
    registry = _borrower(tmp_path)

    class Greedy:
        """Stands in for a bridge whose listing is far larger than the model it names."""

        downloads = 0

        async def model_manifest(self, model_id: str) -> dict[str, Any]:
            return {"model": model_id, "files": [{"path": "unet/huge.safetensors", "size": 50 * 1024**3,
                                                  "blake3": "0" * 64}]}

        async def download_model_file(self, *_args: Any) -> Any:
            Greedy.downloads += 1

    with pytest.raises(WeightsRefused, match="offers 50.0 GB for cvssp/audioldm-s-full-v2, more than"):
        asyncio.run(fetch_model(registry, Greedy(), AUDIOLDM, origin="greedy"))
    assert Greedy.downloads == 0 and registry.locate(AUDIOLDM) is None
