"""Offline rendering of a file of any length through a chain, in blocks.

The source is read block by block with soundfile, processed by pedalboard with
`reset=False` (plugin state carries across blocks, so the result equals one
call on the whole array) and written block by block. After the last block the
chain is fed silence until its tail (reverb, echoes) has decayed below a
threshold for longer than the longest echo time, or a maximum tail length is
reached. Dry/wet is mixed in step by `plugin_host.processor`; reading and
writing run in threads beside the processing (`plugin_host.pipeline`).

Every file (render, A/B copy, provenance sidecar) is written to a temporary
name in the destination folder and renamed only when everything succeeded:
a failed render leaves no partial file.

Output rules: a render never replaces the source, never replaces anything
but a regular file, and replaces an existing file only with
`RenderOptions.overwrite`; without it the finished file is linked into place
(`os.link` fails if the name was taken meanwhile), so two renders never
clobber each other. A missing output folder is created only with
`RenderOptions.create_parents`.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import platform
import secrets
import stat
import tempfile
import time
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pedalboard
import soundfile as sf

from plugin_host.chain import parse_chain
from plugin_host.errors import AudioError, OutputError, PluginHostError
from plugin_host.loudness import MeterFactory, StreamingLoudness
from plugin_host.pipeline import Consumer, prefetch
from plugin_host.processor import Processor

Progress = Callable[[float, str], None]
_TRUNCATION_MARKERS = ("(should be ", "> file length", "lacks an end-of-stream", "Junk after the last page")


@dataclass
class RenderOptions:
    """How to render. The tail stops after `tail_hold_s` (at least the longest echo) below the threshold."""

    block_size: int = 65536
    keep_tail: bool = True
    tail_threshold_db: float = -90.0
    tail_hold_s: float = 0.5
    max_tail_s: float = 30.0
    #: soundfile subtype; None follows the source (PCM_16 -> PCM_16 dithered, PCM_24 -> PCM_24, FLOAT -> FLOAT)
    #: where the output format can hold it, else FLOAT for WAV/AIFF and PCM_24 for FLAC
    subtype: str | None = None
    ab: bool = False
    measure_loudness: bool = True
    #: Refuse a source longer than this (seconds) or with more channels than `max_channels`; None: no limit.
    max_duration_s: float | None = None
    max_channels: int | None = None
    #: Replace an existing regular file at the output (and its .B and .json companions).
    overwrite: bool = False
    #: Create the output's missing folders (the CLI on the user's own disk); servers pass False.
    create_parents: bool = True


@dataclass
class ABPair:
    """A fair comparison: `a_path` is the original, `b_path` the render matched to its loudness."""

    a_path: str
    b_path: str
    a_lufs: float
    b_lufs: float
    gain_db: float
    #: Why B is not exactly at A's loudness (it would have peaked over full scale), else "".
    note: str = ""


@dataclass
class RenderResult:
    path: str
    sidecar: str
    source: str
    sample_rate: int
    channels: int
    input_frames: int
    output_frames: int
    tail_s: float
    input_lufs: float | None
    output_lufs: float | None
    seconds: float
    ab: ABPair | None = None
    chain: dict[str, Any] = field(default_factory=dict)
    subtype: str = ""
    #: Samples that were over full scale and had to be clipped to fit a PCM file (0 for float files).
    clipped_samples: int = 0


_FOLLOWED = ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")
_DITHERED = {"PCM_16": 16, "PCM_24": 24}


def _format_for(path: Path, subtype: str | None, source_subtype: str | None = None) -> tuple[str, str]:
    """The output's container and sample format: as asked, else the source's where the container holds it."""
    fmt = {".wav": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF", ".ogg": "OGG"}.get(path.suffix.lower())
    if fmt is None:
        raise AudioError(f"cannot write {path.name}: use a .wav, .flac, .aiff or .ogg output name")
    if subtype is None and source_subtype in _FOLLOWED and sf.check_format(fmt, source_subtype):
        subtype = source_subtype
    sub = subtype or {"WAV": "FLOAT", "AIFF": "FLOAT", "FLAC": "PCM_24"}.get(fmt, sf.default_subtype(fmt))
    if not sf.check_format(fmt, sub):
        raise AudioError(f"{fmt} files cannot hold {sub} samples; valid: {', '.join(sf.available_subtypes(fmt))}")
    return fmt, sub


def _temp_name(final: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent)
    os.close(fd)
    os.chmod(name, 0o644)  # mkstemp makes it private; a render is an ordinary file
    return Path(name)


def _open_source(source: Path) -> sf.SoundFile:
    try:
        f = sf.SoundFile(str(source))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"cannot read {source}: it cannot be decoded ({exc}); give a WAV, FLAC, AIFF, OGG or MP3 "
                         "file") from None
    if f.frames == 0:
        f.close()
        raise AudioError(f"{source} holds no audio (0 frames); give a file with sound in it")
    # libsndfile clamps a truncated file's length silently; its header notes are the only trace
    info = f.extra_info or ""
    if any(marker in info for marker in _TRUNCATION_MARKERS):
        f.close()
        raise AudioError(f"{source} is truncated (its header promises more audio than the file holds); "
                         "copy or export it again")
    return f


def _check_limits(source: Path, src: sf.SoundFile, opts: RenderOptions) -> None:
    """The caller's duration and channel limits, checked on the file already open (it is opened once)."""
    duration = src.frames / src.samplerate
    if opts.max_duration_s is not None and duration > opts.max_duration_s:
        raise AudioError(f"{source}: is {duration:.0f} s long, more than the limit of {opts.max_duration_s:g} s; "
                         "trim it or raise the limit")
    if opts.max_channels is not None and src.channels > opts.max_channels:
        raise AudioError(f"{source}: has {src.channels} channels, more than the limit of {opts.max_channels}; "
                         "mix it down or raise the limit")


_ABSURD_PEAK = 1e6  # +120 dBFS: no working chain gets there; a runaway gain or unstable filter does


def _check_output(block: np.ndarray, offset: int, sample_rate: float) -> None:
    _check_finite(block, "the chain's output", offset, sample_rate)
    if block.size and max(float(block.max()), -float(block.min())) > _ABSURD_PEAK:
        raise AudioError(f"the chain's output exceeds +120 dBFS at {offset / sample_rate:.1f} s: a gain or filter "
                         "in the chain runs away; lower its gain or check its settings")


def _check_finite(block: np.ndarray, where: str, offset: int, sample_rate: float) -> None:
    if not math.isfinite(float(block.sum(dtype=np.float64))):
        bad = int(np.argmin(np.isfinite(block).all(axis=0)))
        raise AudioError(f"{where} has NaN or infinite samples at {(offset + bad) / sample_rate:.3f} s; "
                         "repair or re-export it")


class _Quantizer:
    """Writes float blocks to a PCM file with TPDF dither at its word length, clipping (and counting)
    what lies over full scale; float files get the samples as they are."""

    def __init__(self, dst: sf.SoundFile, subtype: str, seed: int = 0) -> None:
        self.dst, self.bits = dst, _DITHERED.get(subtype)
        self.int_file = subtype.startswith("PCM")
        self.rng = np.random.default_rng(seed)
        self.clipped = 0

    def write(self, block: np.ndarray) -> None:
        """`block` is (channels, frames) float32."""
        if self.int_file:
            top = 1.0 - 2.0 ** -(self.bits - 1) if self.bits else 1.0 - 2.0**-31
            if self.bits:
                # TPDF dither of one LSB each way, then rounding to the word's grid here: libsndfile
                # truncates floats towards minus infinity, which would add half an LSB of offset.
                lsb = np.float32(2.0 ** -(self.bits - 1))
                noise = self.rng.random(block.shape, np.float32) - self.rng.random(block.shape, np.float32)
                block = np.round(block / lsb + noise) * lsb
            over = np.abs(block) > top
            if over.any():
                self.clipped += int(np.count_nonzero(over))
                block = np.clip(block, -1.0, top)
        self.dst.write(np.ascontiguousarray(block.T))


def _file_lufs(path: Path, meter: MeterFactory, block_size: int) -> float:
    """Integrated loudness of the file as written (read back from disk)."""
    with sf.SoundFile(str(path)) as f:
        m = meter(f.samplerate, f.channels)
        for block in f.blocks(block_size, dtype="float32", always_2d=True):
            m.add(np.ascontiguousarray(block.T))
    return m.integrated_lufs()


def versions() -> dict[str, str]:
    """Versions that decide what a render sounds like, for the provenance sidecar."""
    return {"pedalboard": pedalboard.__version__, "numpy": np.__version__, "soundfile": sf.__version__,
            "libsndfile": sf.__libsndfile_version__, "python": platform.python_version()}


def default_output_path(renders_dir: str | os.PathLike[str], source: str | os.PathLike[str], chain: Any) -> Path:
    """`renders/<source stem>.<8 hex of source + chain>.<6 random hex>.wav`: a new name for every render.

    The first hex groups the renders of one request; the random part keeps an earlier render of it
    (which a client may still be listening to) from being replaced.
    """
    spec = parse_chain(chain)
    digest = hashlib.sha256(json.dumps([str(source), spec.to_json()], sort_keys=True).encode()).hexdigest()[:8]
    stem = Path(source).stem[:80] or "render"
    return Path(renders_dir) / f"{stem}.{digest}.{secrets.token_hex(3)}.wav"


def _check_target(final: Path, source: Path, opts: RenderOptions) -> None:
    """A name the render may take: not the source, not a non-regular file, not an existing file unasked."""
    if final.resolve() == source.resolve():
        raise OutputError(f"the output {final} would overwrite its source; choose another name")
    try:
        st = os.stat(final)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"the output {final} exists and is not a regular file (a folder, FIFO or device); "
                          "choose another name")
    if not opts.overwrite:
        raise OutputError(f"the output {final} already exists; choose another name, leave the output out (a new "
                          "name under renders/), or ask to overwrite it")


def _no_space(folder: Path) -> bool:
    """Whether the filesystem of `folder` has (next to) no room left for an ordinary user."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def _commit(temp: Path, final: Path, opts: RenderOptions) -> None:
    """Move a finished temporary file to its name: a no-clobber link unless overwriting was asked."""
    if opts.overwrite:
        os.replace(temp, final)
        return
    try:
        os.link(temp, final)
    except FileExistsError:
        raise OutputError(f"the output {final} was created by something else during the render; "
                          "choose another name") from None
    except OSError:  # a filesystem without hard links: the name was checked just before
        if os.path.lexists(final):
            raise OutputError(f"the output {final} already exists; choose another name") from None
        os.replace(temp, final)
        return
    temp.unlink(missing_ok=True)


def render_file(source: str | os.PathLike[str], chain: Any, output: str | os.PathLike[str], *,
                options: RenderOptions | None = None, meter: MeterFactory = StreamingLoudness,
                provenance: dict[str, Any] | None = None, progress: Progress | None = None) -> RenderResult:
    """Render `source` through `chain` into `output` (+ `<output>.json` provenance, + A/B copy if asked).

    `meter` measures loudness block by block (inject another BS.1770 meter if you have one);
    `progress(fraction, message)` may raise to cancel: nothing is left behind then.
    """
    opts = options or RenderOptions()
    started = time.perf_counter()
    source, output = Path(source), Path(output)
    _format_for(output, opts.subtype)  # a bad output name fails before anything is read
    if not output.parent.is_dir():
        if not opts.create_parents:
            raise OutputError(f"the output folder {output.parent} does not exist; create it first or leave the "
                              "output out (renders/)")
        output.parent.mkdir(parents=True, exist_ok=True)
    finals = [output, Path(str(output) + ".json")]
    if opts.ab:
        finals.append(output.with_name(f"{output.stem}.B{output.suffix}"))
    for final in finals:
        _check_target(final, source, opts)
    with ExitStack() as stack:
        src = stack.enter_context(_open_source(source))
        sr, channels, total = src.samplerate, src.channels, src.frames
        _check_limits(source, src, opts)
        fmt, subtype = _format_for(output, opts.subtype, src.subtype)
        processor = Processor(chain, sr)
        hold = max(opts.tail_hold_s, processor.spec.longest_delay_s() + 0.1)
        temps: list[Path] = []
        try:
            temps.append(_temp_name(output))
            dst = stack.enter_context(sf.SoundFile(str(temps[0]), "w", sr, channels, subtype, format=fmt))
            quantizer = _Quantizer(dst, subtype)
            meters = (meter(sr, channels),) if opts.measure_loudness or opts.ab else None
            written = _stream(src, quantizer, processor, total, opts, hold, meters, progress)
            dst.close()
            in_lufs = meters[0].integrated_lufs() if meters else None
            # Every loudness reported is the written file's: dither, clipping and word length included.
            out_lufs = _file_lufs(temps[0], meter, opts.block_size) if meters else None
            ab = None
            if opts.ab:
                b_final = output.with_name(f"{output.stem}.B{output.suffix}")
                temps.append(_temp_name(b_final))
                ab = _write_matched(temps[0], temps[1], fmt, subtype, in_lufs, out_lufs, str(source), str(b_final),
                                    opts.block_size, meter)
            result = RenderResult(str(output), str(output) + ".json", str(source), sr, channels, total, written,
                                  round((written - total) / sr, 4), in_lufs, out_lufs,
                                  round(time.perf_counter() - started, 4), ab, processor.spec.to_json(), subtype,
                                  quantizer.clipped)
            temps.append(_temp_name(Path(result.sidecar)))
            _write_sidecar(temps[-1], result, opts, provenance)
            committed: list[Path] = []
            try:
                for temp, final in [(temps[0], output), *([(temps[1], Path(ab.b_path))] if ab else []),
                                    (temps[-1], Path(result.sidecar))]:
                    _commit(temp, final, opts)
                    committed.append(final)
            except OutputError:
                if not opts.overwrite:  # what this render linked in is its own: take it back
                    for final in committed:
                        final.unlink(missing_ok=True)
                raise
            if progress:
                progress(1.0, "rendered")
            return result
        except BaseException as exc:
            for tmp in temps:
                tmp.unlink(missing_ok=True)
            if isinstance(exc, (OSError, RuntimeError)) and not isinstance(exc, PluginHostError) \
                    and _no_space(output.parent):
                # libsndfile reports a full disk as "System error.": say what it was
                raise OSError(errno.ENOSPC, "No space left on device", str(output)) from exc
            raise


def _stream(src: sf.SoundFile, dst: _Quantizer, processor: Processor, total: int, opts: RenderOptions,
            hold_s: float, meters: tuple[Any, Any] | None, progress: Progress | None) -> int:
    """The block loop: returns the frames written (source length plus the kept tail)."""
    sr, channels = src.samplerate, src.channels
    threshold = 10 ** (opts.tail_threshold_db / 20)
    hold, max_tail = int(hold_s * sr), int(opts.max_tail_s * sr) if opts.keep_tail else 0
    written = read = 0
    pending: list[np.ndarray] = []  # quiet tail blocks not yet known to be needed
    pending_frames = 0
    tail_block = min(opts.block_size, 8192)

    def write(part: np.ndarray) -> None:
        nonlocal written
        dst.write(part)
        written += part.shape[1]

    def emit(out: np.ndarray) -> bool:
        """Write what belongs to the file; False once the tail has ended."""
        nonlocal pending_frames
        _check_output(out, written + pending_frames, sr)
        body = max(0, min(out.shape[1], total - written))
        if body:
            write(out[:, :body])
        rest = out[:, body:]
        room = max_tail - (written - total) - pending_frames
        ended = rest.shape[1] >= room
        rest = rest[:, : max(0, room)]
        if rest.shape[1] == 0:
            return not ended
        loud = np.flatnonzero(np.max(np.abs(rest), axis=0) >= threshold)
        if loud.size:  # still ringing: the quiet stretch before it belongs to the tail
            for part in pending:
                write(part)
            write(rest[:, : loud[-1] + 1])
            pending[:] = [rest[:, loud[-1] + 1:]]
        else:
            pending.append(rest)
        pending_frames = sum(p.shape[1] for p in pending)
        return not ended and pending_frames < hold

    def read_block() -> np.ndarray | None:
        """Runs ahead in the reading thread: read, check and meter the next source block."""
        nonlocal read
        if read >= total:
            return None
        block = src.read(min(opts.block_size, total - read), dtype="float32", always_2d=True)
        if block.shape[0] == 0:
            raise AudioError(f"{src.name} ends after {read / sr:.3f} s although its header says "
                             f"{total / sr:.3f} s; the file is truncated, re-export it")
        x = np.ascontiguousarray(block.T)
        _check_finite(x, src.name, read, sr)
        if meters:
            meters[0].add(x)
        read += x.shape[1]
        return x

    done = 0
    # The writing thread writes and meters while the next block is processed; closing the reader
    # explicitly stops its thread before the source file is closed, even when this loop fails.
    with Consumer(emit) as writer, closing(prefetch(read_block)) as blocks:
        for x in blocks:
            writer.put(processor(x))
            done += x.shape[1]
            if progress:
                progress(0.9 * done / total, f"rendering {done / sr:.1f} of {total / sr:.1f} s")
    silence = np.zeros((channels, tail_block), np.float32)
    more = True
    while written < total:  # pedalboard holds back its latency: feed silence until the body is out
        more = emit(processor(silence)) and more
    while more and opts.keep_tail:
        more = emit(processor(silence))
    return written


def _write_matched(rendered: Path, temp: Path, fmt: str, subtype: str, a_lufs: float | None,
                   b_lufs: float | None, a_path: str, b_path: str, block_size: int,
                   meter: MeterFactory = StreamingLoudness) -> ABPair:
    """The B side of the A/B pair: the render, gained to the original's integrated loudness.

    Never clipped: when matching would lift its peaks over -0.1 dBFS, B stops there and the pair's
    `note` says how far short of the original's loudness it is. `b_lufs` is measured on the B file.
    """
    if a_lufs is None or b_lufs is None or not (math.isfinite(a_lufs) and math.isfinite(b_lufs)):
        gain_db = 0.0  # silence on either side: nothing to match
    else:
        gain_db = a_lufs - b_lufs
    with sf.SoundFile(str(rendered)) as src:
        peak = max((float(np.abs(b).max()) for b in src.blocks(block_size, dtype="float32", always_2d=True)),
                   default=0.0)
    note = ""
    room = -0.1 - 20 * math.log10(peak) if peak > 0 else math.inf
    if gain_db > room:
        note = (f"B is {gain_db - room:.1f} dB short of the original's loudness: matching it would peak over full "
                "scale, so it stops at -0.1 dBFS")
        gain_db = room
    gain = np.float32(10 ** (gain_db / 20))
    with sf.SoundFile(str(rendered)) as src, sf.SoundFile(str(temp), "w", src.samplerate, src.channels,
                                                          subtype, format=fmt) as dst:
        quantizer = _Quantizer(dst, subtype, seed=1)
        for block in src.blocks(block_size, dtype="float32", always_2d=True):
            quantizer.write(np.ascontiguousarray((block * gain).T))
    matched = _file_lufs(temp, meter, block_size)
    return ABPair(a_path, b_path, a_lufs if a_lufs is not None else -math.inf,
                  matched if math.isfinite(matched) else -math.inf, round(gain_db, 3), note)


def _write_sidecar(temp: Path, result: RenderResult, opts: RenderOptions, extra: dict[str, Any] | None) -> None:
    src = Path(result.source)
    doc = {
        "kind": "render",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {"path": result.source, "bytes": src.stat().st_size,
                   "modified": datetime.fromtimestamp(src.stat().st_mtime, timezone.utc).isoformat()},
        "chain": result.chain,
        "options": asdict(opts),
        "result": {k: v for k, v in asdict(result).items() if k != "chain"},
        "versions": versions(),
        **(extra or {}),
    }
    temp.write_text(json.dumps(_finite(doc), indent=2, default=str), encoding="utf-8")


def _finite(obj: Any) -> Any:
    """JSON has no NaN or infinity: those become null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
