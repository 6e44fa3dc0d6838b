"""Issue 14, item 3: a render never overwrites what it was not asked to, and never makes folders outside renders/.

The attack: `/grym/fx/render` with `out` naming an existing wav, the source
clip itself, a FIFO, and a file in a folder that does not exist. Each is
refused as the job's error, and the target is left exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Iterator

import pytest

from tests.osc_client import JobFailed
from tests.security.serve import Serve, start, write_clip

CHAIN = json.dumps([{"plugin": "Gain", "params": {"gain_db": -3.0}}])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    s = start(tmp_path_factory.mktemp("renders"))
    yield s
    s.stop()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def render(server: Serve, source: Path, *options: object) -> dict:
    with server.client() as c:
        job = c.start_job("/grym/fx/render", str(source), CHAIN, *options)
        return c.wait_job(job, 60)


def refused(server: Serve, source: Path, *options: object) -> JobFailed:
    with pytest.raises(JobFailed) as info:
        render(server, source, *options)
    return info.value


def test_existing_file_and_source_are_never_replaced_unasked(server: Serve) -> None:
    source = write_clip(server.root / "loop.wav")
    victim = write_clip(server.root / "mix.wav", seconds=0.5)
    before_src, before_victim = digest(source), digest(victim)

    err = refused(server, source, "out", str(victim))
    assert err.code == "bad_output" and "already exists" in err.message and "overwrite" in err.message
    assert digest(victim) == before_victim
    assert not (server.root / "mix.wav.json").exists()

    for options in (("out", str(source)), ("out", str(source), "overwrite", 1)):
        err = refused(server, source, *options)
        assert err.code == "bad_output" and "source" in err.message
        assert digest(source) == before_src

    # asked for: the existing file is replaced, and only then
    result = render(server, source, "out", str(victim), "overwrite", 1)
    assert result["path"] == str(victim) and digest(victim) != before_victim


def test_fifo_and_missing_folders_are_refused(server: Serve) -> None:
    source = write_clip(server.root / "clip.wav")
    fifo = server.root / "pipe.wav"
    os.mkfifo(fifo)
    for options in (("out", str(fifo)), ("out", str(fifo), "overwrite", 1)):
        err = refused(server, source, *options)
        assert err.code == "bad_output" and "not a regular file" in err.message
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the FIFO, not replaced by a file

    missing = server.root / "new" / "deeper" / "out.wav"
    err = refused(server, source, "out", str(missing))
    assert err.code == "bad_output" and "does not exist" in err.message
    assert not (server.root / "new").exists()


def test_default_renders_get_new_names_under_renders(server: Serve) -> None:
    source = write_clip(server.root / "same.wav")
    first, second = render(server, source), render(server, source)
    renders = (server.data / "renders").resolve()
    assert first["path"] != second["path"]
    for result in (first, second):
        path = Path(result["path"])
        assert path.parent == renders and path.is_file() and Path(result["sidecar"]).is_file()


def test_composed_midi_never_replaces_a_file_unasked(server: Serve) -> None:
    target = server.root / "song.mid"
    target.write_bytes(b"not yours to replace")
    with server.client() as c:
        address, args = c.request("/grym/compose/chords", "out", str(target))
        assert address == "/grym/error" and args[2] == "bad_output" and "already exists" in args[3]
        address, args = c.request("/grym/compose/chords", "out", str(server.root / "nowhere" / "x.mid"))
        assert address == "/grym/error" and args[2] == "bad_output"
        assert target.read_bytes() == b"not yours to replace" and not (server.root / "nowhere").exists()
        c.wait_job(c.start_job("/grym/compose/chords", "out", str(target), "overwrite", 1), 30)
    assert target.read_bytes().startswith(b"MThd")
