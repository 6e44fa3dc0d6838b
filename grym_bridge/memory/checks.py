"""Checking what callers hand the memory: tags, feedback, session names, spaces, audio files.

Each check raises `BadRequest` (or `AudioFileError`) naming the bad value and what is accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

from grym_bridge.errors import AudioFileError, BadRequest
from grym_bridge.files import hash_file
from grym_bridge.memory.types import SPACES


def content_hash_of(path: Path) -> str:
    """SHA-256 of a file's bytes: the identity of a clip (a renamed or moved file is the same clip).

    Only a regular file is read (a FIFO or device is refused, never waited on), in chunks with a
    cancellation point between them.
    """
    return hash_file(path, "sha256", what="audio file")


def normalize_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    for tag in tags:
        text = str(tag).strip().lower()
        if not text or len(text) > 100:
            raise BadRequest(f"tag {tag!r} must be 1 to 100 characters")
        if text not in out:
            out.append(text)
    return out


def check_space(space: str) -> str:
    if space not in SPACES:
        raise BadRequest(f"unknown vector space {space!r}; use one of: {', '.join(SPACES)}")
    return space


def probe_audio(file: Path) -> tuple[float | None, int | None]:
    import soundfile

    try:
        info = soundfile.info(str(file))
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise AudioFileError(f"{file} is not an audio file that can be read ({exc}); use WAV, FLAC, AIFF, OGG or MP3") from None
    return float(info.duration), int(info.samplerate)


def parse_feedback(value: Any) -> tuple[float | None, bool, bool]:
    """(rating, kept, rejected) from a rating 0..5 or one of kept/keep, rejected/reject, clear."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("kept", "keep"):
            return None, True, False
        if word in ("rejected", "reject"):
            return None, False, True
        if word == "clear":
            return None, False, False
        try:
            value = float(word)
        except ValueError:
            raise BadRequest(f"feedback must be a rating from 0 to 5, or kept, rejected or clear; got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 <= float(value) <= 5:
        raise BadRequest(f"feedback must be a rating from 0 to 5, or kept, rejected or clear; got {value!r}")
    return float(value), False, False


def session_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise BadRequest(f"session name must be 1 to 200 characters, got {name!r}")
    return name.strip()
