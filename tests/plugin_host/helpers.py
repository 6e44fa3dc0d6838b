"""Test audio for plugin_host, built with numpy only (plugin_host knows nothing of grym_bridge)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100


def noise(seconds: float, *, level: float = 0.1, channels: int = 2, seed: int = 0) -> np.ndarray:
    """White noise of RMS `level`, shape (channels, samples)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((channels, int(seconds * SR))) * level).astype(np.float32)


def write(path: Path, samples: np.ndarray, subtype: str = "FLOAT") -> Path:
    sf.write(str(path), samples.T, SR, subtype=subtype)
    return path


def read(path: Path) -> np.ndarray:
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    assert sr == SR
    return np.ascontiguousarray(data.T)
