"""`grym models fetch` between two bridges on a private network (namespaces): the offline GPU box gets a
model from the laptop that has it, with the studio token; without it, or with a wrong one, nothing comes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.models.tiny import AUDIOLDM, tiny_models_dir  # noqa: F401 - the fixture
from tests.network.netns import NetnsHost
from tests.network.test_lan import Output, token_of

OSC_PORT = 9130
RPC_PORT = 9131


def _fetch(host: NetnsHost, data: Path, lender: NetnsHost, *extra: str) -> subprocess.CompletedProcess[str]:
    proc = host.python("-m", "grym_bridge", "--data-dir", str(data), "models", "fetch", AUDIOLDM,
                       "--from", f"{lender.address}:{RPC_PORT}", *extra, env={"GRYM_CONFIG": ""})
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_fetch_across_the_lan_needs_the_token(lan: list[NetnsHost], tmp_path: Path, tiny_models_dir: Path) -> None:
    laptop, gpu_box = lan[0], lan[1]
    lender_data = tmp_path / laptop.ns
    out = Output(laptop.python("-m", "grym_bridge", "--data-dir", str(lender_data), "serve", "--host",
                               laptop.address, "--osc-port", str(OSC_PORT), "--log-level", "warning",
                               env={"GRYM_MODELS_DIRS": str(tiny_models_dir), "GRYM_NETWORK_RPC_PORT": str(RPC_PORT),
                                    "GRYM_PATHS_ALLOWED_ROOTS": str(lender_data), "GRYM_CONFIG": ""}))
    out.expect(lambda line: line == "Ready. Press Ctrl-C to stop.", timeout=60)
    data = tmp_path / gpu_box.ns
    imported = data / "models" / AUDIOLDM

    refused = _fetch(gpu_box, data, laptop)
    assert refused.returncode == 1 and "token" in refused.stderr.lower(), refused.stderr
    wrong = _fetch(gpu_box, data, laptop, "--token", "x" * 32)
    assert wrong.returncode == 1 and "token" in wrong.stderr.lower(), wrong.stderr
    assert not imported.exists()

    done = _fetch(gpu_box, data, laptop, "--token", token_of(tmp_path, laptop))
    assert done.returncode == 0, done.stderr
    assert f"fetched {AUDIOLDM} from" in done.stdout and "[12/12]" in done.stderr
    for path in (tiny_models_dir / AUDIOLDM).rglob("*"):
        if path.is_file():
            assert (imported / path.relative_to(tiny_models_dir / AUDIOLDM)).read_bytes() == path.read_bytes()
    verified = subprocess.run([sys.executable, "-m", "grym_bridge", "--data-dir", str(data), "models", "verify",
                               AUDIOLDM], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "GRYM_CONFIG": ""})
    assert verified.returncode == 0 and "ok, 12 files checked against the manifest" in verified.stdout, verified
