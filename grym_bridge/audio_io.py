"""Audio in and out: loading with validation, atomic writing, resampling.

Audio in memory is `float32` with shape `(channels, samples)` plus its sample
rate (the pedalboard convention). Files go through soundfile (libsndfile:
wav, aiff, flac, ogg, mp3, ...); resampling goes through soxr.

Every problem with a file is an `AudioFileError` whose message names the file,
says what is wrong with it, and what to do about it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
import soxr

from grym_bridge import cancel
from grym_bridge.errors import AudioFileError, BadRequest, Busy, NotFound
from grym_bridge.files import atomic_path, open_regular

if TYPE_CHECKING:
    from grym_bridge.config import AudioConfig

DEFAULT_MAX_DURATION_S = 1200.0
DEFAULT_MAX_CHANNELS = 8

# Phrases libsndfile writes into `SoundFile.extra_info` when a header promises
# more data than the file holds (WAV/AIFF), or a stream ends without its end
# marker (Ogg). libsndfile clamps the frame count silently, so these are the
# only trace a truncated file leaves.
_TRUNCATION_MARKERS = ("(should be ", "> file length", "lacks an end-of-stream", "Junk after the last page")


@dataclass
class Audio:
    """Samples as float32 `(channels, samples)`, their sample rate, and the file they came from."""

    samples: np.ndarray
    sample_rate: int
    path: Path | None = field(default=None)

    def __post_init__(self) -> None:
        s = np.asarray(self.samples, dtype=np.float32)
        if s.ndim == 1:
            s = s[np.newaxis, :]
        if s.ndim != 2:
            raise BadRequest(f"audio samples must have shape (channels, samples), got {s.shape}")
        self.samples = s
        if int(self.sample_rate) <= 0:
            raise BadRequest(f"sample rate must be positive, got {self.sample_rate}")
        self.sample_rate = int(self.sample_rate)

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.frames / float(self.sample_rate)

    def mono(self) -> np.ndarray:
        """The channel average as a 1-D float32 array (the same array when already mono)."""
        if self.channels == 1:
            return self.samples[0]
        # channel by channel: 4x faster than samples.mean(axis=0) (which strides across the rows),
        # and the same sums in the same order, so the same float32 result
        total = self.samples[0] + self.samples[1]
        for channel in self.samples[2:]:
            total += channel
        total /= np.float32(self.channels)
        return total


def _fail(path: Path, problem: str, action: str) -> AudioFileError:
    return AudioFileError(f"{path}: {problem}; {action}")


#: Frames decoded between two cancellation points (a second of 48 kHz audio).
DECODE_BLOCK = 48000


class DecodeBudget:
    """Decoded audio held by running jobs, against a per-job and a process-wide limit.

    A job's share is taken before a file is decoded and given back when the job
    ends (`cancel.scope`); outside a job only the per-job limit applies.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.in_use = 0

    def take(self, path: Path, nbytes: int, per_job: int | None, total: int | None) -> None:
        """Reserve `nbytes` for the current job, or raise before anything is decoded."""
        scope = cancel.current()
        held = scope.held.get("decoded_bytes", 0) if scope is not None else 0
        if per_job is not None and held + nbytes > per_job:
            raise AudioFileError(
                f"{path}: decodes to {nbytes / 2**20:.0f} MiB (frames x channels x 4 bytes), and this request may "
                f"hold {per_job / 2**20:.0f} MiB of decoded audio ({held / 2**20:.0f} MiB taken); trim it, bounce "
                "it to fewer channels, or raise audio.max_decoded_bytes in the config", code="too_large")
        if scope is None or total is None:
            return
        with self._lock:
            if self.in_use + nbytes > total:
                raise Busy(f"{path}: the running jobs already hold {self.in_use / 2**20:.0f} MiB of decoded audio "
                           f"(audio.max_decoded_total_bytes is {total / 2**20:.0f} MiB); retry when they finish",
                           retry_after_s=2.0)
            self.in_use += nbytes
        scope.held["decoded_bytes"] = held + nbytes
        scope.releases.append(lambda: self._give(nbytes))

    def _give(self, nbytes: int) -> None:
        with self._lock:
            self.in_use -= nbytes


DECODE_BUDGET = DecodeBudget()


def load_limited(path: str | os.PathLike[str], limits: "AudioConfig") -> "Audio":
    """`load_audio` with every limit of the config's `audio` section (duration, channels, decoded size)."""
    return load_audio(path, max_duration_s=limits.max_duration_s, max_channels=limits.max_channels,
                      max_decoded_bytes=limits.max_decoded_bytes,
                      max_total_decoded_bytes=limits.max_decoded_total_bytes)


def load_audio(
    path: str | os.PathLike[str],
    *,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
    max_channels: int = DEFAULT_MAX_CHANNELS,
    max_decoded_bytes: int | None = None,
    max_total_decoded_bytes: int | None = None,
) -> Audio:
    """Read an audio file that libsndfile understands and check that it is usable.

    Raises `AudioFileError` when the file is missing, not audio (or a format
    libsndfile cannot read), empty, truncated, longer than `max_duration_s`,
    has more than `max_channels` channels, decodes to more than
    `max_decoded_bytes` (frames x channels x 4), or contains NaN/inf samples.
    Limits are checked from the header before the samples are read, so a
    three-hour file is refused without reading it; inside a job the decoded
    size is also taken from the process-wide `DECODE_BUDGET`
    (`max_total_decoded_bytes`), and decoding stops at the next block once
    the job is cancelled. Only a regular file is opened (a FIFO or a device
    is refused at once).
    """
    p = Path(path)
    if not p.exists():
        raise _fail(p, "no such file", "check the path (and that the drive is mounted)")
    if p.is_dir():
        raise _fail(p, "is a folder, not an audio file", "give the path of a file inside it")
    with contextlib.ExitStack() as stack:
        try:
            raw = stack.enter_context(open_regular(p, "audio file"))
        except (NotFound, BadRequest) as exc:  # a FIFO, a device, unreadable: the audio file's error
            raise AudioFileError(exc.message) from None
        if os.fstat(raw.fileno()).st_size == 0:
            raise _fail(p, "the file is empty (0 bytes)", "re-export or re-record it")
        return _decode(p, raw, max_duration_s, max_channels, max_decoded_bytes, max_total_decoded_bytes)


def _decode(p: Path, raw: object, max_duration_s: float, max_channels: int, max_decoded_bytes: int | None,
            max_total_decoded_bytes: int | None) -> Audio:
    try:
        with sf.SoundFile(raw) as fh:
            sr, channels, declared = fh.samplerate, fh.channels, fh.frames
            info = fh.extra_info or ""
            # an mp3 without a Xing/LAME header only has an estimated length: allow 2% short
            expected = int(declared * 0.98) if fh.format == "MPEG" else declared
            if declared <= 0:
                raise _fail(p, "holds no samples (zero length)", "re-export it with some audio in it")
            if channels > max_channels:
                raise _fail(
                    p, f"has {channels} channels, more than the limit of {max_channels}",
                    "bounce it to stereo, or raise audio.max_channels in the config",
                )
            duration = declared / float(sr)
            if duration > max_duration_s:
                raise _fail(
                    p, f"is {duration:.1f} s long, more than the limit of {max_duration_s:g} s",
                    "trim it, or raise audio.max_duration_s in the config",
                )
            DECODE_BUDGET.take(p, declared * channels * 4, max_decoded_bytes, max_total_decoded_bytes)
            data = _read_blocks(fh, declared, channels)
    except AudioFileError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise _fail(
            p, f"cannot be decoded ({exc})",
            "make sure it is a complete, uncorrupted wav, aiff, flac, ogg or mp3 file",
        ) from None
    if any(marker in info for marker in _TRUNCATION_MARKERS) or data.shape[0] < expected:
        raise _fail(
            p, f"is truncated (the header promises more audio than the file holds; read {data.shape[0]} frames)",
            "the copy or export was cut short: copy or export it again",
        )
    if data.shape[0] == 0:
        raise _fail(p, "holds no samples (zero length)", "re-export it with some audio in it")
    if not np.isfinite(data).all():
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise _fail(
            p, f"contains {bad} NaN or infinite samples",
            "the file is corrupt or was written by a broken plugin: re-render it",
        )
    return Audio(np.ascontiguousarray(data.T), sr, p)


def _read_blocks(fh: sf.SoundFile, declared: int, channels: int) -> np.ndarray:
    """Decode into one preallocated array a block at a time, with a cancellation point per block."""
    out = np.empty((declared, channels), dtype=np.float32)
    got = 0
    while got < declared:
        cancel.checkpoint()
        n = fh.read(out=out[got:got + DECODE_BLOCK], dtype="float32", always_2d=True).shape[0]
        if n == 0:
            break
        got += n
    return out[:got]


def write_audio(path: str | os.PathLike[str], audio: Audio, subtype: str = "PCM_24") -> Path:
    """Write `audio` to `path` atomically: a temporary file in the same folder, then `os.replace`.

    The format follows the file extension (wav, flac, aiff, ogg). Readers never
    see a partial file, and a failed write leaves nothing behind.
    """
    p = Path(path)
    if not np.isfinite(audio.samples).all():
        raise BadRequest(f"refusing to write {p}: the audio contains NaN or infinite samples")
    fmt = sf.available_formats()
    ext = p.suffix.lstrip(".").upper()
    ext = {"AIF": "AIFF", "OGA": "OGG"}.get(ext, ext)
    if ext not in fmt:
        raise BadRequest(f"cannot write {p}: unknown audio extension; use .wav, .flac, .aiff or .ogg")
    if ext == "OGG":
        subtype = "VORBIS"
    with atomic_path(p) as tmp:
        sf.write(str(tmp), audio.samples.T, audio.sample_rate, subtype=subtype, format=ext)
    return p


def write_wav_pcm24(path: str | os.PathLike[str], pcm24: bytes, channels: int, sample_rate: int) -> Path:
    """Write ready 24-bit PCM (interleaved, little-endian) as a WAV file, atomically like `write_audio`.

    For samples already quantized elsewhere (on a GPU): the standard library's `wave` only adds the
    header, which is several times faster than libsndfile converting float samples.
    """
    p = Path(path)
    if p.suffix.lower() != ".wav":
        raise BadRequest(f"cannot write {p} from 24-bit PCM: only .wav files take it")
    if channels < 1 or len(pcm24) % (3 * channels):
        raise BadRequest(f"cannot write {p}: {len(pcm24)} bytes are no whole number of {channels}-channel frames")
    with atomic_path(p) as tmp:
        with wave.open(str(tmp), "wb") as fh:
            fh.setnchannels(channels)
            fh.setsampwidth(3)
            fh.setframerate(int(sample_rate))
            fh.writeframesraw(pcm24)
    return p


def resample(samples: np.ndarray, sr_from: int, sr_to: int, *, quality: str = "HQ") -> np.ndarray:
    """Resample `(channels, samples)` or 1-D float audio with soxr; returns float32 in the same layout."""
    x = np.asarray(samples, dtype=np.float32)
    if sr_from == sr_to:
        return x
    if x.ndim == 1:
        return soxr.resample(x, sr_from, sr_to, quality=quality).astype(np.float32, copy=False)
    # soxr wants (frames, channels)
    out = soxr.resample(np.ascontiguousarray(x.T), sr_from, sr_to, quality=quality)
    return np.ascontiguousarray(out.T, dtype=np.float32)

