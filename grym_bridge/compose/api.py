"""The composition capability: one request in, one .mid file and a compact note list out.

Every kind draws its harmony from the same seeded stream, so chords, melody
and bass composed separately with one seed fit together.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from grym_bridge.files import atomic_write_json
from grym_bridge.compose.clip import Clip, Note, apply_feel
from grym_bridge.compose.continuation import continue_notes, source_key
from grym_bridge.compose.harmony import plan_harmony, render_chords
from grym_bridge.compose.melody import compose_melody
from grym_bridge.compose.midifile import read_clip, write_clip
from grym_bridge.compose.rhythm_section import compose_bass, compose_drums
from grym_bridge.compose.styles import get_style
from grym_bridge.compose.theory import parse_key, parse_progression, parse_time_signature
from grym_bridge.errors import BadRequest

KINDS = ("chords", "melody", "bass", "drums", "continue")
_STREAMS = {"harmony": 1, "chords": 2, "melody": 3, "bass": 4, "drums": 5, "continue": 6}
Progress = Callable[[float, str], None]


@dataclass
class ComposeRequest:
    """What to compose. `key` None means C major, or the source's key for `continue`; `tempo` None the style's."""

    kind: str
    key: str | None = None
    style: str = "pop"
    bars: int = 8
    tempo: float | None = None
    time_signature: str | None = None  # None: 4/4, or the source's meter for `continue`
    seed: int | None = None
    progression: str | None = None
    swing: float | None = None
    humanize: float | None = None
    source: str | None = None  # the clip to continue (a .mid path already checked by the caller)
    learn_from: list[str] = field(default_factory=list)  # more .mid clips `continue` learns from (checked paths)


@dataclass
class ComposeResult:
    """The written file and the notes in it: [pitch, start_beat, duration_beats, velocity] each."""

    path: str
    kind: str
    key: str | None
    style: str
    tempo: float
    time_signature: str
    bars: int
    seed: int
    chords: list[str]
    note_count: int
    notes: list[list[float | int]] = field(repr=False)


def check_request(req: ComposeRequest) -> None:
    """Name the first bad argument, and what would be right (cheap: transports call it before queueing)."""
    if req.kind not in KINDS:
        raise BadRequest(f"unknown composition kind {req.kind!r}: use one of {', '.join(KINDS)}")
    if isinstance(req.bars, bool) or not isinstance(req.bars, int) or not 1 <= req.bars <= 256:
        raise BadRequest(f"bars must be a whole number from 1 to 256, got {req.bars!r}")
    if req.tempo is not None and not (isinstance(req.tempo, (int, float)) and 20 <= req.tempo <= 400):
        raise BadRequest(f"tempo must be 20-400 BPM, got {req.tempo!r}")
    if req.seed is not None and (isinstance(req.seed, bool) or not isinstance(req.seed, int) or req.seed < 0):
        raise BadRequest(f"seed must be a whole number of 0 or more, got {req.seed!r}")
    for name in ("swing", "humanize"):
        value = getattr(req, name)
        if value is not None and not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
            raise BadRequest(f"{name} must be between 0 and 1, got {value!r}")
    if req.kind == "continue" and not req.source:
        raise BadRequest("continue needs a source clip: give the path of a .mid file to continue")
    get_style(req.style)
    if req.key:
        parse_key(req.key)
    if req.time_signature:
        parse_time_signature(req.time_signature)
    if req.progression:
        parse_progression(req.progression)


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([seed, _STREAMS[stream]])


def default_output(renders_dir: Path, req: ComposeRequest, key_name: str | None, seed: int) -> Path:
    """Where a composition goes when the client names no file: renders/midi/<kind>-<style>-<key>-<seed>.mid."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{req.kind}-{req.style}-{key_name or 'nokey'}-{seed}".lower()).strip("-")
    return Path(renders_dir) / "midi" / f"{slug}.mid"


def compose(
    req: ComposeRequest,
    out: Path | None = None,
    *,
    renders_dir: Path | None = None,
    extra: list[list[Note]] | None = None,
    progress: Progress | None = None,
) -> ComposeResult:
    """Compose `req` and write it to `out` (or under `renders_dir`, with a provenance sidecar).

    `extra` are note sequences remembered elsewhere (feature memory) that
    `continue` learns from besides its source clip.
    """
    report = progress or (lambda _f, _m: None)
    # 1. Check and resolve the inputs.
    check_request(req)
    style = get_style(req.style)
    ts = parse_time_signature(req.time_signature or "4/4")
    seed = req.seed if req.seed is not None else random.SystemRandom().randrange(2**31)
    swing = style.swing if req.swing is None else float(req.swing)
    humanize = style.humanize if req.humanize is None else float(req.humanize)
    report(0.1, f"composing {req.kind}")

    # 2. Compose the notes.
    timeline: list[tuple[float, str]] = []
    if req.kind == "continue":
        source = read_clip(Path(req.source))  # type: ignore[arg-type]
        key = parse_key(req.key) if req.key else source_key(source.notes, source.key)
        ts = ts if req.time_signature else source.time_signature
        tempo = float(req.tempo or source.tempo)
        extra = [*(extra or []), *(read_clip(Path(p)).notes for p in req.learn_from)]
        notes = continue_notes(source.notes, key, ts, source.length_beats, req.bars, _rng(seed, "continue"), extra)
        clip_key = key if any(n.channel != 9 for n in source.notes) else None
    else:
        key = parse_key(req.key or "C major")
        progression = parse_progression(req.progression) if req.progression else None
        harmony = plan_harmony(key, style, ts, req.bars, _rng(seed, "harmony"), progression)
        timeline = [(ev.start, ev.chord.symbol) for ev in harmony] if req.kind != "drums" else []
        rng = _rng(seed, req.kind)
        if req.kind == "chords":
            notes = render_chords(harmony, style, ts, req.bars)
            humanize *= 0.5  # chords drift less than drums
        elif req.kind == "melody":
            notes = compose_melody(key, style, ts, req.bars, harmony, rng)
        elif req.kind == "bass":
            notes = compose_bass(key, style, ts, req.bars, harmony, rng)
        else:
            notes = compose_drums(style, ts, req.bars, rng)
        tempo = float(req.tempo or style.tempo)
        total = float(req.bars * ts.bar_beats)
        notes = apply_feel(notes, total, rng, swing=swing, swing_unit=style.swing_unit, humanize=humanize)
        clip_key = None if req.kind == "drums" else key
    report(0.7, "writing the MIDI file")

    # 3. Write the file (and, in the renders folder, its provenance).
    key_name = clip_key.name if clip_key else None
    clip = Clip(notes, tempo, ts, req.bars, clip_key, name=f"grym {req.kind} {style.name}", chords=timeline)
    path = Path(out) if out is not None else default_output(renders_dir or Path("."), req, key_name, seed)
    write_clip(clip, path)
    if out is None:
        sidecar = {"kind": req.kind, "request": asdict(req), "seed": seed, "key": key_name, "tempo": tempo,
                   "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "tool": "grym compose"}
        atomic_write_json(path.with_suffix(".json"), sidecar)  # readers never see half a sidecar
    report(1.0, "done")
    ordered = clip.sorted_notes()
    return ComposeResult(
        path=str(path), kind=req.kind, key=key_name, style="learned" if req.kind == "continue" else style.name,
        tempo=tempo, time_signature=str(ts), bars=req.bars, seed=seed, chords=[symbol for _beat, symbol in timeline],
        note_count=len(ordered), notes=[n.compact() for n in ordered],
    )

