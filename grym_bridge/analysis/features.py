"""The fixed-length feature vector used for similarity search.

Each entry is scaled so that typical material spreads over roughly -1..1
(fixed scales, not per-collection statistics, so vectors from different
sessions stay comparable), clipped to -3..3, and the whole vector is
L2-normalised. Bump `ANALYZER_VERSION` in `grym_bridge.analysis` whenever
this layout or its scaling changes: feature memory uses it to find stale rows.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from grym_bridge.analysis.spectrum import BANDS

FEATURE_NAMES: tuple[str, ...] = (
    *(f"band_{name}" for name in BANDS),
    "spectral_centroid",
    "spectral_rolloff",
    "spectral_flatness",
    "spectral_tilt",
    "loudness",
    "loudness_range",
    "crest_factor",
    "stereo_correlation",
    "stereo_width",
    "tempo",
    "tempo_confidence",
    "onset_density",
    *(f"chroma_{i}" for i in range(12)),
    *(f"rhythm_{i}" for i in range(16)),
    "key_confidence",
)
FEATURE_DIM = len(FEATURE_NAMES)


def _finite(x: float, default: float) -> float:
    return x if math.isfinite(x) else default


def feature_vector(
    *,
    bands_db: Mapping[str, float],
    lufs: float,
    loudness_range_lu: float,
    crest_factor_db: float,
    centroid_hz: float,
    rolloff_hz: float,
    flatness: float,
    tilt_db_per_oct: float,
    correlation: float,
    width: float,
    tempo_bpm: float,
    tempo_confidence: float,
    onset_density: float,
    chroma_profile: Sequence[float],
    rhythm_pattern: Sequence[Sequence[float]],
    key_confidence: float,
) -> np.ndarray:
    """A unit-length float32 vector of FEATURE_DIM entries (see FEATURE_NAMES for their order)."""
    loud = _finite(lufs, -70.0)
    # band balance relative to the overall loudness, so the vector says "bright" or "boomy"
    # independently of how loud the clip is
    bands = [(_finite(bands_db[name], -120.0) - loud) / 20.0 for name in BANDS]
    chroma = np.asarray(chroma_profile, dtype=np.float64)
    chroma = (chroma - chroma.mean()) / chroma.std() * 0.5 if chroma.std() > 0 else np.zeros(12)
    pattern = np.asarray(rhythm_pattern, dtype=np.float64)
    if pattern.size and pattern.shape[1] != 16:  # 3/4 and 6/8 bars have 12 steps: spread over 16
        pattern = np.array([np.interp(np.arange(16) / 16, np.arange(row.size) / row.size, row) for row in pattern])
    rhythm = pattern.mean(axis=0) - pattern.mean() if pattern.size else np.zeros(16)
    values = [
        *bands,
        math.log2(max(centroid_hz, 20.0) / 1500.0) / 2.0,
        math.log2(max(rolloff_hz, 20.0) / 4000.0) / 2.0,
        math.sqrt(max(flatness, 0.0)) * 3.0 - 0.5,
        (tilt_db_per_oct + 4.0) / 3.0,
        (loud + 16.0) / 10.0,
        loudness_range_lu / 8.0,
        (crest_factor_db - 14.0) / 6.0,
        correlation,
        width * 2.0,
        math.log2(tempo_bpm / 120.0) if tempo_bpm > 0 else 0.0,
        tempo_confidence,
        math.log2(1.0 + onset_density) / 2.0,
        *chroma,
        *(rhythm * 2.0),
        key_confidence,
    ]
    v = np.clip(np.array(values, dtype=np.float64), -3.0, 3.0)
    norm = np.linalg.norm(v)
    return (v / norm if norm > 0 else v).astype(np.float32)
