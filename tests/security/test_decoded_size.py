"""Issue 14, item 7: memory is limited in decoded size (frames x channels x 4 bytes), refused before decoding.

The attacks: a small FLAC that decodes to far more than the limit (8
channels at 96 kHz, mostly silence so it compresses), several stems whose
sum is over the per-request limit, and a 32-channel file given to
`/grym/fx/render` (which must apply the channel limit analyze applies).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf

from grym_bridge import cancel
from grym_bridge.audio_io import DecodeBudget
from grym_bridge.errors import AudioFileError, Busy
from tests.osc_client import JobFailed
from tests.security.serve import Serve, start, write_clip

LIMIT = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    s = start(tmp_path_factory.mktemp("decoded"),
              {"audio": {"max_decoded_bytes": LIMIT, "max_decoded_total_bytes": 2 * LIMIT, "max_channels": 8}})
    yield s
    s.stop()


def quiet_flac(path: Path, seconds: float, channels: int, rate: int) -> Path:
    frames = int(seconds * rate)
    data = np.zeros((frames, channels), np.float32)
    data[: rate // 10] = 0.1  # a click, then silence: a few kB on disk
    sf.write(str(path), data, rate, format="FLAC", subtype="PCM_16")
    return path


def fails(server: Serve, address: str, *args: object) -> JobFailed:
    with server.client() as c:
        with pytest.raises(JobFailed) as info:
            c.wait_job(c.start_job(address, *args), 30)
    return info.value


def test_a_small_flac_that_decodes_large_is_refused_before_decoding(server: Serve) -> None:
    flac = quiet_flac(server.root / "tiny.flac", 30.0, 8, 96000)  # decodes to 92 MB
    assert flac.stat().st_size < 2 * 1024 * 1024
    before = server.rss_mb()
    err = fails(server, "/grym/analyze/file", str(flac))
    assert err.code == "too_large" and "audio.max_decoded_bytes" in err.message
    assert server.rss_mb() - before < 40  # nothing near the 92 MB it would decode to was allocated


def test_the_limit_counts_every_file_of_one_request(server: Serve) -> None:
    stems = server.root / "stems"
    for name in ("a", "b", "c"):  # 3 x 3.5 MB decoded: each fits, together they do not
        write_clip(stems / f"{name}.wav", seconds=10.0, channels=2)
    err = fails(server, "/grym/mix/suggest", str(stems))
    assert err.code == "too_large" and "MiB taken" in err.message


def test_render_applies_the_channel_limit(server: Serve) -> None:
    wide = server.root / "wide.wav"
    sf.write(str(wide), np.zeros((4410, 32), np.float32), 44100)
    err = fails(server, "/grym/fx/render", str(wide), '[{"plugin": "Gain", "params": {}}]')
    assert err.code == "bad_audio" and "32 channels" in err.message
    assert not list((server.data / "renders").glob("wide.*"))


def test_the_total_budget_is_shared_by_running_jobs_and_given_back() -> None:
    """Two jobs (threads in cancel scopes, as JobQueue runs them): the second is refused while the first holds."""
    budget, path = DecodeBudget(), Path("x.wav")
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with cancel.scope(lambda: None):
            budget.take(path, 6, per_job=8, total=10)
            holding.set()
            release.wait(5)

    worker = threading.Thread(target=first)
    worker.start()
    assert holding.wait(5)
    with cancel.scope(lambda: None):
        with pytest.raises(Busy, match="max_decoded_total_bytes"):
            budget.take(path, 6, per_job=8, total=10)
        with pytest.raises(AudioFileError, match="max_decoded_bytes"):
            budget.take(path, 9, per_job=8, total=100)
    release.set()
    worker.join(5)
    assert budget.in_use == 0
    with cancel.scope(lambda: None):
        budget.take(path, 6, per_job=8, total=10)  # room again once the first job ended
        assert budget.in_use == 6
    assert budget.in_use == 0
