"""`grym models pull` against a loopback stand-in for the Hugging Face Hub (no network here).

`HubStandIn` stands in for huggingface.co: it answers the two requests
huggingface_hub's `snapshot_download` makes (the repo's revision and file list at
`/api/models/<repo>/revision/<rev>` and `.../tree/<rev>`, then HEAD and GET of
`/<repo>/resolve/<rev>/<file>`, honouring `Range`) with the headers the Hub
sends (X-Repo-Commit, ETag and X-Linked-Etag/X-Linked-Size: the SHA-256 for
weight files, as for LFS files). It serves a tiny pipeline's files and can cut
the first download of a file off half way, as a dropped connection would.
`HF_ENDPOINT` points `grym models pull` at it. What it cannot show: the real
Hub's redirects to its CDN and Xet storage, which huggingface_hub handles the
same way for a real pull.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from tests.models.layouts import REVISION, git_blob_sha1
from tests.models.tiny import AUDIOLDM

REPO = Path(__file__).resolve().parents[2]


class HubStandIn(ThreadingHTTPServer):
    """Serves `folder` as the Hub repo `repo_id`; `cut_once` names files whose first GET stops half way."""

    daemon_threads = True

    def __init__(self, folder: Path, repo_id: str, cut_once: set[str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.folder, self.repo_id, self.cut_once = folder, repo_id, set(cut_once)
        self.files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, Range header

    def etag(self, rel: str) -> str:
        data = self.files[rel].read_bytes()
        return hashlib.sha256(data).hexdigest() if rel.endswith(".safetensors") else git_blob_sha1(data)


class _Handler(BaseHTTPRequestHandler):
    server: HubStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: object) -> None:  # quiet: the test reads `requests` instead
        pass

    def _file(self) -> str | None:
        prefix = f"/{self.server.repo_id}/resolve/"
        path = self.path.split("?")[0]
        if not path.startswith(prefix):
            return None
        rel = path[len(prefix):].split("/", 1)[-1]
        return rel if rel in self.server.files else None

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(body=False)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.split("?")[0].startswith(f"/api/models/{self.server.repo_id}/revision/"):
            doc = {"id": self.server.repo_id, "modelId": self.server.repo_id, "sha": REVISION, "private": False,
                   "siblings": [{"rfilename": rel} for rel in self.server.files]}
            self._send(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})
            return
        if self.path.split("?")[0].startswith(f"/api/models/{self.server.repo_id}/tree/"):
            tree = []
            for rel, path in self.server.files.items():
                entry = {"type": "file", "path": rel, "size": path.stat().st_size,
                         "oid": git_blob_sha1(path.read_bytes())}
                if rel.endswith(".safetensors"):
                    entry["lfs"] = {"oid": self.server.etag(rel), "size": path.stat().st_size, "pointerSize": 134}
                tree.append(entry)
            self._send(200, json.dumps(tree).encode(), {"Content-Type": "application/json"})
            return
        self._serve(body=True)

    def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(code)
        for key, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, body: bool) -> None:
        rel = self._file()
        self.server.requests.append((self.command, self.path, self.headers.get("Range")))
        if rel is None:
            self._send(404, b"{}", {"X-Error-Code": "EntryNotFound"})
            return
        data = self.server.files[rel].read_bytes()
        etag = self.server.etag(rel)
        headers = {"X-Repo-Commit": REVISION, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if rel.endswith(".safetensors"):
            headers.update({"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(data))})
        start = 0
        wanted = self.headers.get("Range")
        if body and wanted and wanted.startswith("bytes="):
            start = int(wanted[len("bytes="):].split("-")[0])
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        self.send_response(206 if start else 200)
        for key, value in {**headers, "Content-Length": str(len(data) - start)}.items():
            self.send_header(key, value)
        self.end_headers()
        if not body:
            return
        if rel in self.server.cut_once:
            self.server.cut_once.discard(rel)
            self.wfile.write(data[start:len(data) // 2])  # then the connection drops, as on a flaky line
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(data[start:])


#: huggingface_hub writes a download in 10 MiB chunks, so only a file cut after its first 10 MiB has
#: something to resume from: the stand-in's unet carries an extra (unused) 24 MiB tensor.
PADDING_FLOATS = 6 * 1024 * 1024
UNET = "unet/diffusion_pytorch_model.safetensors"


@pytest.fixture
def hub(tiny_models_dir: Path, tmp_path: Path) -> Iterator[HubStandIn]:
    import numpy as np
    from safetensors.numpy import load_file, save_file

    repo = tmp_path / "hub-repo"
    shutil.copytree(tiny_models_dir / AUDIOLDM, repo)
    tensors = load_file(repo / UNET)
    tensors["padding"] = np.zeros(PADDING_FLOATS, dtype=np.float32)
    save_file(tensors, repo / UNET)
    server = HubStandIn(repo, AUDIOLDM, cut_once={UNET})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _pull(tmp_path: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HUB_DISABLE_TELEMETRY": "1",
           "HF_HUB_OFFLINE": "0", "GRYM_CONFIG": "", "GRYM_MODELS_HF_CACHE": str(tmp_path / "hf"),
           "GRYM_MODELS_DIRS": str(tmp_path / "no-models"), "HF_HUB_DISABLE_PROGRESS_BARS": "0"}
    env.pop("HF_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "grym_bridge", "--data-dir", str(tmp_path / "data"), "models", "pull",
                           AUDIOLDM], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_pull_resumes_a_cut_download_verifies_and_says_where(tmp_path: Path, hub: HubStandIn,
                                                             tiny_models_dir: Path) -> None:
    done = _pull(tmp_path, hub.server_address[1])
    assert done.returncode == 0, done.stderr[-3000:]

    ranges = [r for method, path, r in hub.requests if method == "GET" and path.endswith(UNET)]
    assert len(ranges) == 2 and ranges[0] is None  # cut off half way, then asked again...
    assert ranges[1] == "bytes=10485760-"  # ...for the rest only, after the 10 MiB already on disk
    assert "Trying to resume download" in done.stderr
    snapshot = tmp_path / "hf" / "models--cvssp--audioldm-s-full-v2" / "snapshots" / REVISION
    assert (snapshot / UNET).read_bytes() == hub.files[UNET].read_bytes()
    weights = len(list(hub.folder.rglob("*.safetensors")))
    assert f"{AUDIOLDM} is in {snapshot}" in done.stdout
    assert f"GB on disk); {weights} files verified against the Hub's hashes" in done.stdout
    assert "%|" in done.stderr  # huggingface_hub's progress bars

    listed = subprocess.run([sys.executable, "-m", "grym_bridge", "--data-dir", str(tmp_path / "data"), "models",
                             "list", "--json"], cwd=REPO, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "GRYM_CONFIG": "", "GRYM_MODELS_HF_CACHE": str(tmp_path / "hf"),
                                 "GRYM_MODELS_DIRS": str(tmp_path / "no-models")})
    row = next(m for m in json.loads(listed.stdout) if m["id"] == AUDIOLDM)
    assert row["present"] and row["location"] == str(snapshot) and row["verified"].startswith("verified")


def test_pull_of_a_damaged_file_is_reported(tmp_path: Path, hub: HubStandIn, tiny_models_dir: Path) -> None:
    """The stand-in promises one SHA-256 and sends other bytes: the pull fails naming the file."""
    hub.cut_once.clear()
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    original = tiny_models_dir / AUDIOLDM / "vae" / "diffusion_pytorch_model.safetensors"
    data = bytearray(original.read_bytes())
    data[-1] ^= 0xFF
    (damaged / "vae.safetensors").write_bytes(bytes(data))
    promised = hub.etag("vae/diffusion_pytorch_model.safetensors")
    hub.files["vae/diffusion_pytorch_model.safetensors"] = damaged / "vae.safetensors"
    hub.etag = lambda rel, _real=hub.etag: promised if rel.startswith("vae/") and rel.endswith(".safetensors") \
        else _real(rel)  # type: ignore[method-assign]
    done = _pull(tmp_path, hub.server_address[1])
    assert done.returncode == 1
    assert "vae/diffusion_pytorch_model.safetensors" in done.stderr and "pull again" in done.stderr
