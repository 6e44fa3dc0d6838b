"""The shared PostgreSQL memory with real servers: two bridges, races, faults, locations, search, migration.

"Bridges" here are two `PostgresMemory` objects with their own data folders (their own local
indexes) on one database, as two machines of a studio would be.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
from click.testing import CliRunner

from grym_bridge.cli import cli
from grym_bridge.memory import MemoryUnavailable
from grym_bridge.memory.checks import content_hash_of, legacy_hash_of
from grym_bridge.memory.pg_store import PostgresMemory
from grym_bridge.memory.sqlite_store import SqliteMemory
from tests.memory.conftest import clustered_vectors
from tests.memory.pg_servers import DEBIAN_BIN, PgCluster, free_port


def _bridge(dsn: str, tmp: Path, name: str, **kw) -> PostgresMemory:
    return PostgresMemory(dsn, machine=name, index_dir=tmp / name / "index", exact_below=kw.pop("exact_below", 100),
                          **kw)


@pytest.fixture(params=["local", "pgvector"])
def shared_dsn(request: pytest.FixtureRequest) -> str:
    """A fresh database: on Debian's server (local indexes) or the pgvector one."""
    cluster: PgCluster = request.getfixturevalue("pgvector_cluster" if request.param == "pgvector" else "pg_cluster")
    return cluster.dsn(cluster.new_database())


def test_two_bridges_share_clips_tags_ratings_and_say_where_each_clip_is(shared_dsn: str, tmp_path: Path) -> None:
    vectors, _ = clustered_vectors(300, dim=12, seed=3)
    a, b = _bridge(shared_dsn, tmp_path, "gpu-box"), _bridge(shared_dsn, tmp_path, "laptop")
    try:
        ids = [a.add_clip(f"/gpu/{i}.wav", content_hash=f"h{i}", vector=v).id for i, v in enumerate(vectors[:200])]
        ids += [b.add_clip(f"/laptop/{i}.wav", content_hash=f"h{i}", vector=v).id
                for i, v in enumerate(vectors[200:], start=200)]
        b.tag(ids[5], add=["kick"])
        a.rate(ids[5], "kept")
        a.rate(ids[6], 4)
        # The same content from the laptop is the same clip, now known at both places.
        same = b.add_clip("/laptop/copy-of-5.wav", content_hash="h5")
        assert same.id == ids[5] and same.tags == ("kick",) and same.feedback.kept
        assert b.locations(ids[5]) == {"gpu-box": "/gpu/5.wav", "laptop": "/laptop/copy-of-5.wav"}
        assert a.get(ids[6]).feedback.rating == 4.0 and b.feedback_ids()["kept"] == [(ids[5], None)]
        # Each bridge finds what the other added, and each match says where it is.
        deadline = time.monotonic() + 5
        while True:  # a local index hears of the other bridge's writes within moments (LISTEN/NOTIFY)
            found = a.similar(vectors[250], k=1)
            if found[0].id == ids[250] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert found[0].id == ids[250] and found[0].locations == {"laptop": "/laptop/250.wav"}
        truth = np.argsort(-(vectors @ vectors[7]))[1:11]
        got = [m.id for m in b.similar(ids[7], k=10)]
        assert len(set(got) & {ids[i] for i in truth}) >= 9
        b.forget(ids[7])
        assert ids[7] not in [m.id for m in a.similar(vectors[7], k=5)]
    finally:
        a.close()
        b.close()


def test_two_bridges_adding_the_same_clip_at_once_end_with_one_clip(pg_cluster: PgCluster, tmp_path: Path) -> None:
    dsn = pg_cluster.dsn(pg_cluster.new_database())
    a, b = _bridge(dsn, tmp_path, "a", listen=False), _bridge(dsn, tmp_path, "b", listen=False)
    rng = np.random.default_rng(0)
    results: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def run(store: PostgresMemory, name: str) -> None:
        start.wait()
        for i in range(40):
            clip = store.add_clip(f"/{name}/{i}.wav", content_hash=f"race-{i}", vector=rng.normal(size=8),
                                  tags=[name])
            results[name].append(clip.id)

    try:
        threads = [threading.Thread(target=run, args=(s, n)) for s, n in ((a, "a"), (b, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results["a"] == results["b"]  # each bridge was told the same id for the same content
        assert a.stats().clips == 40 and a.stats().vectors == {"features": 40}
        assert set(a.get(results["a"][0]).tags) == {"a", "b"}
        assert len(a.locations(results["a"][0])) == 2
    finally:
        a.close()
        b.close()


def test_an_unreachable_database_at_start_names_its_host_not_its_password(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(MemoryUnavailable) as info:
        PostgresMemory(f"postgresql://grym:hunter2@127.0.0.1:{port}/studio", index_dir=tmp_path)
    message = str(info.value)
    assert f"127.0.0.1:{port}/studio" in message and "unreachable" in message and "hunter2" not in message


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A server of this test's own, to stop and restart."""
    from tests.conftest import require

    require((DEBIAN_BIN / "initdb").exists(), "Debian's postgresql package (initdb)")
    cluster = PgCluster(DEBIAN_BIN)
    yield cluster
    cluster.close()


def _eventually(check: Callable[[], object], timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except MemoryUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_database_stopped_and_restarted_mid_session(own_cluster: PgCluster, tmp_path: Path) -> None:
    dsn = own_cluster.dsn(own_cluster.new_database())
    a, b = _bridge(dsn, tmp_path, "a"), _bridge(dsn, tmp_path, "b")
    try:
        first = a.add_clip("/a/1.wav", content_hash="one", vector=[1.0, 0.0, 0.0])
        assert b.similar([1.0, 0.0, 0.0], k=1)[0].id == first.id
        own_cluster.stop()
        with pytest.raises(MemoryUnavailable) as info:
            a.add_clip("/a/2.wav", content_hash="refused", vector=[0.0, 1.0, 0.0])
        assert f"127.0.0.1:{own_cluster.port}" in str(info.value) and "refused" in str(info.value)
        with pytest.raises(MemoryUnavailable):
            b.get(first.id)
        own_cluster.start()
        # Both reconnect by themselves; the refused write was refused, not kept for later.
        assert _eventually(lambda: a.find_by_hash("refused")) is None
        second = _eventually(lambda: a.add_clip("/a/3.wav", content_hash="three", vector=[0.0, 0.0, 1.0]))
        # b's listener reconnects and its index catches up with what was written meanwhile.
        deadline = time.monotonic() + 10
        while _eventually(lambda: b.similar([0.0, 0.0, 1.0], k=1))[0].id != second.id:
            assert time.monotonic() < deadline, "b's index never caught up after the restart"
            time.sleep(0.1)
        assert b.stats().clips == 2
    finally:
        a.close()
        b.close()


def test_the_server_keeps_serving_while_the_memory_is_down(own_cluster: PgCluster, config, wav) -> None:
    from tests.osc_client import start_server

    config.memory.backend, config.memory.dsn = "postgresql", own_cluster.dsn(own_cluster.new_database())
    own_cluster.stop()
    server = start_server(config)
    try:
        with server.client() as c:
            addr, args = c.request("/grym/memory/get", 1)
            assert addr == "/grym/error" and args[2] == "store_unavailable" and f"127.0.0.1:{own_cluster.port}" in args[3]
            assert "not-a-secret" not in args[3]
            assert c.request("/grym/system/ping")[0] == "/grym/system/ping"
            own_cluster.start()
            addr, args = c.request("/grym/memory/get", 1)
            assert addr == "/grym/error" and args[2] == "not_found"  # reachable again: an ordinary answer
    finally:
        server.stop()


def test_config_show_hides_the_dsn_password(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "config", "show", "--json"],
                                env={"GRYM_MEMORY_DSN": "postgresql://grym:hunter2@db.studio:5432/grym"},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)["memory.dsn"]
    assert shown["value"] == "postgresql://grym:***@db.studio:5432/grym" and "hunter2" not in result.output


def test_migrate_sqlite_to_postgresql_and_back_resumes_and_verifies(pg_cluster: PgCluster, tmp_path: Path, wav) -> None:
    from grym_bridge.memory.migrate import migrate_memory

    data = tmp_path / "data"
    for i, freq in enumerate((220, 330, 440, 550)):
        wav(f"lib/{i}.wav", freq, seconds=0.5)

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli, ["--data-dir", str(data), "memory", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("add", str(tmp_path / "lib"), "--tag", "tones")
    run("rate", "2", "kept")
    run("rate", "3", "4.5")
    sqlite_store = SqliteMemory(data / "memory.sqlite3")
    sqlite_store.save_session("set-1", {"tempo": 124})
    dsn = pg_cluster.dsn(pg_cluster.new_database())
    # An interrupted first attempt: two clips in, then the copy is cut short.
    target = _bridge(dsn, tmp_path, "studio", listen=False)
    try:
        def stop_early(done: float, _message: str) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            migrate_memory(sqlite_store, target, stop_early)
        assert target.stats().clips >= 1
    finally:
        target.close()
        sqlite_store.close()
    out = run("migrate", "--to", dsn)
    assert "already there" in out and "verified: 4 clips" in out and "not-a-secret" not in out
    copied = int(out.split("copied ")[1].split(" ")[0])
    assert copied == 3  # resumed: the clip the first attempt copied was not copied again
    back = tmp_path / "back.sqlite3"
    out = run("migrate", "--from", dsn, "--to", str(back))
    assert "copied 4 clips" in out and "verified: 4 clips" in out
    again = SqliteMemory(back)
    try:
        assert again.stats().clips == 4 and again.stats().kept == 1 and again.load_session("set-1") == {"tempo": 124}
        assert {c.tags for c in again.list_clips()} == {("tones",)}
    finally:
        again.close()


@pytest.mark.parametrize("keyed_by", ["samples", "bytes"])
def test_a_bridge_fetches_a_clip_it_lacks_from_the_bridge_that_has_it(pg_cluster: PgCluster, config, tmp_path: Path,
                                                                        wav, keyed_by: str) -> None:
    """The GPU box (a real server) made a clip in its renders folder; the laptop fetches it over RPC.

    `bytes`: the clip was remembered by an older grym-bridge (keyed by its file's byte hash); the
    fetched copy is checked against that and the clip re-keyed to its samples' hash."""
    import asyncio
    import shutil

    from grym_bridge.memory.fetch import fetch_clip
    from grym_bridge.transports.rpc.client import RpcClient
    from tests.osc_client import start_server

    dsn = pg_cluster.dsn(pg_cluster.new_database())
    config.memory.backend, config.memory.dsn, config.memory.machine = "postgresql", dsn, "gpu-box"
    config.network.rpc_port = config.network.oscquery_port = 0
    renders = config.renders_dir()
    renders.mkdir(parents=True, exist_ok=True)
    made = renders / "pad.wav"
    shutil.copy(wav("pad.wav", 330.0), made)
    server = start_server(config)
    laptop = _bridge(dsn, tmp_path, "laptop", listen=False)
    try:
        legacy = legacy_hash_of(made) if keyed_by == "bytes" else None
        clip = server.services.capabilities.memory().add_clip(made, source="generated", tags=["pad"],
                                                              content_hash=legacy)

        async def fetch() -> object:
            client = await RpcClient.connect("127.0.0.1", int(server.services.endpoints["rpc"]))
            try:
                return await fetch_clip(laptop, clip.id, client, tmp_path / "laptop-audio")
            finally:
                await client.close()

        got = asyncio.run(fetch())
        assert got.id == clip.id and Path(got.path).read_bytes() == made.read_bytes()
        assert got.content_hash == content_hash_of(made) and laptop.stats().clips == 1
        assert laptop.locations(clip.id) == {"gpu-box": str(made), "laptop": got.path}
    finally:
        laptop.close()
        server.stop()


def test_serving_on_sqlite_never_imports_psycopg(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from grym_bridge.config import load_config\n"
        "from grym_bridge.app import build_services\n"
        "from grym_bridge.api import build_router\n"
        "cfg = load_config(None, {'data_dir': sys.argv[1]}, environ={})\n"
        "s = build_services(cfg); build_router(s); s.capabilities.memory().stats(); s.capabilities.close()\n"
        "print([m for m in sys.modules if m.startswith('psycopg')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
