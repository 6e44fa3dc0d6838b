"""Vectors at the store's boundary: checked, L2-normalized float32, and their BLOB form."""

from __future__ import annotations

from typing import Any

import numpy as np

from grym_bridge.errors import BadRequest


def as_unit_vector(value: Any, what: str = "vector") -> np.ndarray:
    """`value` as a finite, non-zero, L2-normalized 1-D float32 array, else `BadRequest`."""
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise BadRequest(f"{what} must be a list of numbers, got {type(value).__name__}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise BadRequest(f"{what} must be a non-empty flat list of numbers, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise BadRequest(f"{what} contains NaN or infinite values; re-run the analysis of that clip")
    norm = float(np.linalg.norm(arr))
    if norm == 0.0:
        raise BadRequest(f"{what} is all zeros (silent audio?); it cannot be compared by similarity")
    return arr / np.float32(norm)


def to_blob(vector: np.ndarray) -> bytes:
    """Little-endian float32 bytes, the storage form of every vector."""
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def stack_blobs(blobs: list[bytes], dim: int) -> np.ndarray:
    """Many BLOBs of one dimension into an `(n, dim)` float32 matrix, in one copy."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), dim).astype(np.float32)
