"""Feature memory: every clip the bridge analyzed, generated or rendered, searchable by similarity.

`open_memory(config)` gives the configured `MemoryStore`: the embedded SQLite
backend, or a PostgreSQL database a studio's bridges share (`memory.backend`;
psycopg is imported only then); `PatternRecognizer` works on top of any store. Nothing here imports
torch, and opening the store imports no vector library until a large
collection needs its HNSW index.
"""

from __future__ import annotations

from grym_bridge.config import Config
from grym_bridge.memory.schema import MemoryCorrupt, MemoryUnavailable
from grym_bridge.memory.store import MemoryStore
from grym_bridge.memory.types import SOURCES, Clip, ClipSummary, Feedback, Match, MemoryStats

__all__ = [
    "Clip", "ClipSummary", "Feedback", "Match", "MemoryCorrupt", "MemoryStats", "MemoryStore", "MemoryUnavailable",
    "SOURCES",
    "open_memory", "open_memory_at",
]


def open_memory(config: Config) -> MemoryStore:
    """The memory the config names, opened (and migrated) now."""
    if config.memory.backend == "postgresql":
        from grym_bridge.memory.pg_store import PostgresMemory

        return PostgresMemory.from_config(config)
    from grym_bridge.memory.sqlite_store import SqliteMemory

    return SqliteMemory.from_config(config)


def is_dsn(spec: str) -> bool:
    """Whether `spec` names a PostgreSQL database (a URL or `key=value` DSN) rather than an SQLite file."""
    return spec.startswith(("postgresql://", "postgres://")) or ("=" in spec and ("host=" in spec or "dbname=" in spec))


def open_memory_at(spec: str, config: Config) -> MemoryStore:
    """The memory at `spec`: a PostgreSQL DSN, or an SQLite file path (created if missing)."""
    if is_dsn(spec):
        from grym_bridge.memory.pg_store import PostgresMemory

        m = config.memory
        return PostgresMemory(spec, machine=m.machine or None, pgvector=m.pgvector, listen=False,
                              exact_below=m.exact_below, ef_search=m.ef_search,
                              index_dir=config.data_dir / "memory-shared-index")
    from pathlib import Path

    from grym_bridge.memory.sqlite_store import SqliteMemory

    return SqliteMemory(Path(spec).expanduser(), synchronous=config.memory.synchronous,
                        exact_below=config.memory.exact_below, ef_search=config.memory.ef_search)
