"""Reading an analysis result into what the memory stores: features, vectors, patterns.

The analysis capability hands over an `Analysis` dataclass (or its JSON form).
The memory keeps the whole thing as JSON, and pulls out:
- the feature vector and the embedding (searched by cosine similarity);
- three pattern vectors, each centred and scaled to unit length so that their
  cosine similarity is a correlation: a groove compared by its shape, not its level:
  rhythm (the onset strength on a 16th grid, averaged over the bars), harmony
  (a pitch-class profile, or the chord tones of the chords per bar) and spectral
  (the band levels in dB).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from grym_bridge.errors import BadRequest
from grym_bridge.memory.vectors import as_unit_vector
from grym_bridge.results import to_jsonable


@dataclass(frozen=True)
class AnalysisRecord:
    """The parts of one analysis the store keeps apart from its JSON."""

    features: dict[str, Any]
    analyzer_version: str | None
    vector: np.ndarray | None
    embedding: np.ndarray | None
    patterns: dict[str, np.ndarray]
    duration_s: float | None
    sample_rate: int | None


def unpack_analysis(analysis: Any) -> AnalysisRecord:
    """Split an analysis (dataclass or mapping) into features JSON, vectors and patterns."""
    data = to_jsonable(analysis)
    if not isinstance(data, Mapping):
        raise BadRequest(f"analysis must be an analysis result or a JSON object, got {type(analysis).__name__}")
    data = dict(data)
    vector = data.get("feature_vector")
    embedding = data.get("embedding")
    version = data.get("analyzer_version")
    duration = _first(data, "duration_s", "duration")
    sample_rate = _first(data, "sample_rate", "sr")
    return AnalysisRecord(
        features=data,
        analyzer_version=None if version is None else str(version),
        vector=None if vector is None else as_unit_vector(vector, "analysis feature_vector"),
        embedding=None if embedding is None else as_unit_vector(embedding, "analysis embedding"),
        patterns=detect_patterns(data),
        duration_s=None if duration is None else float(duration),
        sample_rate=None if sample_rate is None else int(sample_rate),
    )


def _first(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None


def detect_patterns(features: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Pattern vectors (`rhythm`, `harmony`, `spectral`) found in an analysis; absent ones are left out."""
    found: dict[str, np.ndarray] = {}
    rhythm = _numbers(_first(features, "rhythm_pattern", "onset_pattern"))
    if rhythm is not None:
        found["rhythm"] = rhythm
    harmonic = _first(features, "harmonic_pattern", "chroma", "pitch_class_profile")
    harmony = _numbers(harmonic)
    if harmony is None and isinstance(harmonic, list) and all(isinstance(c, str) for c in harmonic):
        harmony = chord_profile(harmonic)  # chord names per bar
    if harmony is None and isinstance(features.get("chords"), list):
        harmony = chord_profile(features["chords"])
    if harmony is not None:
        found["harmony"] = harmony
    bands = features.get("bands_db")
    if isinstance(bands, Mapping):
        bands = list(bands.values())
    spectral = _numbers(bands)
    if spectral is not None:
        found["spectral"] = spectral
    return {kind: vec for kind, vec in ((k, centred_unit(v)) for k, v in found.items()) if vec is not None}


def _numbers(value: Any) -> np.ndarray | None:
    """A 1-D pattern from a list of numbers, or from a list of per-bar lists (averaged over the bars,
    so clips of any length compare)."""
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) < 1:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.ndim == 2:
        arr = arr.mean(axis=0)
    if arr.ndim != 1 or arr.size < 2 or not np.all(np.isfinite(arr)):
        return None
    return arr


def centred_unit(values: np.ndarray) -> np.ndarray | None:
    """`values` minus their mean, scaled to unit length; None for a flat pattern (nothing to compare)."""
    centred = np.asarray(values, dtype=np.float64) - float(np.mean(values))
    norm = float(np.linalg.norm(centred))
    if norm < 1e-9:
        return None
    return (centred / norm).astype(np.float32)


_NOTE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_CHORD = re.compile(r"^([A-G])([#b]?)(.*)$")


def chord_profile(chords: list[Any]) -> np.ndarray | None:
    """A 12-bin pitch-class histogram of the chord tones of chord names (`Am`, `F#`, `Bbdim`, `G7`)."""
    profile = np.zeros(12)
    for chord in chords:
        name = (chord.get("chord") or chord.get("name")) if isinstance(chord, Mapping) else chord
        match = _CHORD.match(str(name or "").strip())
        if not match:
            continue
        root = (_NOTE[match[1]] + {"#": 1, "b": -1, "": 0}[match[2]]) % 12
        quality = match[3]
        if quality.startswith("dim"):
            intervals = (0, 3, 6)
        elif quality.startswith("m") and not quality.startswith("maj"):
            intervals = (0, 3, 7)
        else:
            intervals = (0, 4, 7)
        for step in intervals:
            profile[(root + step) % 12] += 1
        if "7" in quality:
            profile[(root + (11 if "maj" in quality else 10)) % 12] += 1
    return profile if profile.any() else None
