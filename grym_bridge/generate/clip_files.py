"""Writing generated clips: the audio file and its provenance sidecar, both atomically.

Every generated file lands under `renders/generated/` (or a folder the user
named) as `<time>_<prompt slug>_s<seed>.wav`, next to `<same name>.json`,
its provenance: model, prompt, seed, steps, scheduler, guidance, duration,
tempo and bars, the conforming applied, device and memory mode, and the time.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grym_bridge.files import atomic_write_json
from grym_bridge import __version__
from grym_bridge.audio_io import Audio, write_audio, write_wav_pcm24
from grym_bridge.results import to_jsonable

_SLUG_RE = re.compile(r"[^a-z0-9]+")


@dataclass
class GeneratedFile:
    """One generated, conformed and written clip."""

    path: str
    sidecar: str
    seed: int
    variation: int
    duration_s: float
    frames: int
    sample_rate: int
    channels: int
    lufs: float
    true_peak_dbtp: float
    clip_id: int | None = None


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe short form of a prompt: `Dusty lo-fi drums!` -> `dusty-lo-fi-drums`."""
    s = _SLUG_RE.sub("-", text.lower()).strip("-")
    return (s[:limit].rstrip("-") or "clip")


def output_path(folder: Path, prompt: str, seed: int, variation: int, when: float | None = None) -> Path:
    """A new, unused file path for one generated clip."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    base = f"{stamp}_{slug(prompt)}_s{seed}"
    if variation:
        base += f"_v{variation + 1}"
    path = folder / f"{base}.wav"
    n = 2
    while path.exists() or path.with_suffix(".json").exists():
        path = folder / f"{base}-{n}.wav"
        n += 1
    return path


def write_clip(path: Path, samples: np.ndarray, sample_rate: int, provenance: dict[str, Any],
               pcm24: bytes | None = None) -> Path:
    """Write the audio, then its sidecar; if the sidecar fails the audio is removed (no orphan files).

    `pcm24`: the file's samples already quantized (interleaved 24-bit), written as they are.
    """
    if pcm24 is not None:
        write_wav_pcm24(path, pcm24, samples.shape[0], sample_rate)
    else:
        write_audio(path, Audio(samples, sample_rate))
    sidecar = path.with_suffix(".json")
    try:
        atomic_write_json(sidecar, to_jsonable({"grym_version": __version__, **provenance}))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return sidecar
