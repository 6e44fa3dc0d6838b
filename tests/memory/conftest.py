"""Fixtures for the memory tests: a real SQLite store in the test's data directory, real WAV files."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
import soundfile as sf

from grym_bridge.config import Config
from grym_bridge.memory.sqlite_store import SqliteMemory


@pytest.fixture
def memory(config: Config) -> Iterator[SqliteMemory]:
    """The configured store (SQLite file under the test's data directory), closed after the test."""
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
