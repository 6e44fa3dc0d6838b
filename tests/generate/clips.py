"""Small audio files the generation tests analyze."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def bright_ticks(path: Path, seconds: float = 6.0, sr: int = 22050) -> Path:
    """Short 6 kHz ticks every half second (120 BPM): bright, sparse, with a clear tempo."""
    t = np.arange(int(sr * seconds)) / sr
    ticks = (np.sin(2 * np.pi * 6000 * t) * (np.mod(t, 0.5) < 0.02)).astype(np.float32)
    sf.write(path, ticks, sr)
    return path
