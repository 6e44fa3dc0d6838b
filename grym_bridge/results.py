"""Turning results into JSON: every result is a small dataclass.

OSC replies carry JSON strings where a flat argument list would not do (Max
reads them with `dict.deserialize`); the CLI prints the same JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, numpy values, paths and enums into plain JSON types.

    Non-finite floats become `None`: JSON has no NaN, and Max's parser rejects it.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    return obj


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """Compact JSON for replies (or indented for people)."""
    separators = (",", ":") if indent is None else None
    return json.dumps(to_jsonable(obj), indent=indent, separators=separators, ensure_ascii=False)
