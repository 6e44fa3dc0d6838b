"""Checking what callers hand the memory: tags, feedback, session names, spaces, audio files.

Each check raises `BadRequest` (or `AudioFileError`) naming the bad value and what is accepted.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from grym_bridge.errors import AudioFileError, BadRequest
from grym_bridge.cancel import checkpoint
from grym_bridge.files import hash_file, open_regular
from grym_bridge.memory.types import SPACES


#: The first bytes hashed: names this identity scheme, so a later change of it cannot collide.
_SAMPLES_TAG = b"grym-samples-v1\0"
_BLOCK_FRAMES = 65536  # 256 KiB per channel as float32: bounded memory for any length of file


def content_hash_of(path: Path) -> str:
    """The identity of a clip: SHA-256 (hex) of its decoded samples, sample rate and channel count.

    Two files holding the same audio are one clip whatever their headers say (a WAV header's
    timestamp, the same PCM16 samples in WAV and FLAC); a renamed or moved file is the same clip.
    Hashed: a version tag, the rate and channels (little-endian uint32), then the frames as
    little-endian float32. Only a regular file is opened (a FIFO or device is refused, never
    waited on); it is decoded in blocks with a cancellation point between them.
    """
    import soundfile

    digest = hashlib.sha256(_SAMPLES_TAG)
    with open_regular(path, "audio file") as fh:
        try:
            with soundfile.SoundFile(fh) as audio:
                digest.update(struct.pack("<II", audio.samplerate, audio.channels))
                for block in audio.blocks(blocksize=_BLOCK_FRAMES, dtype="float32", always_2d=True):
                    checkpoint()
                    digest.update(np.ascontiguousarray(block, dtype="<f4").tobytes())
        except (RuntimeError, soundfile.LibsndfileError) as exc:
            raise AudioFileError(f"{path} is not an audio file that can be read ({exc}); "
                                 "use WAV, FLAC, AIFF, OGG or MP3") from None
    return digest.hexdigest()


def legacy_hash_of(path: Path) -> str:
    """SHA-256 of a file's bytes: a clip's identity before samples were hashed (stores made then).

    Used only to find such a clip and re-key it to `content_hash_of` (`MemoryStore.adopt_legacy`).
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


def parse_tags(value: Any, *, max_tags: int = 32, max_chars: int = 100) -> list[str]:
    """Tags as clients and plans send them: "dark,pad", a JSON list as text, or a list; bounded.

    Text is split at commas, never into letters; at most `max_tags` tags of
    at most `max_chars` characters each (`memory.max_tags`, `memory.max_tag_chars`).
    """
    import json

    items: Any = value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except (json.JSONDecodeError, RecursionError):
                raise BadRequest("tags must be words separated by commas, or a JSON list of words") from None
        else:
            items = [part.strip() for part in text.split(",")]
    if not isinstance(items, (list, tuple)) or any(isinstance(t, (list, dict)) for t in items):
        raise BadRequest("tags must be words separated by commas, or a JSON list of words")
    tags = normalize_tags(str(t) for t in items if str(t).strip())
    if len(tags) > max_tags:
        raise BadRequest(f"{len(tags)} tags; at most {max_tags} at once (memory.max_tags)")
    long = next((t for t in tags if len(t) > max_chars), None)
    if long is not None:
        raise BadRequest(f"tag {long[:40]!r}... has {len(long)} characters; at most {max_chars} (memory.max_tag_chars)")
    return tags


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
