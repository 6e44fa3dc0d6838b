"""What a generation request may say, checked once, with every default filled in.

`GenerateOptions` is what the CLI, OSC and the orchestrator hand in (unset
values are `None`); `resolve` checks each value, naming the argument that is
wrong and what to give instead (the diffusers `check_inputs` habit), and
fills the rest from the model's defaults and the config.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields
from typing import Any

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest
from grym_bridge.generate.conform import ConformSpec, bars_to_frames
from grym_bridge.models.audioldm import MEMORY_MODES, SCHEDULERS
from grym_bridge.models.registry import ModelSpec, check_model_id, get_spec

MAX_PROMPT_CHARS = 500
MAX_VARIATIONS = 16
MAX_STEPS = 1000
DEFAULT_NEGATIVE_PROMPT = "low quality, distorted, noise"
#: Length of a one-shot when neither a duration nor bars are given.
DEFAULT_DURATION_S = 8.0


@dataclass
class GenerateOptions:
    """A generation request. `None` means "use the default"."""

    prompt: str = ""
    negative_prompt: str | None = None
    duration_s: float | None = None
    bars: int | None = None
    tempo_bpm: float | None = None
    beats_per_bar: int | None = None
    loop: bool | None = None
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    scheduler: str = "dpm++"
    variations: int = 1
    model: str | None = None
    memory_mode: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    target_lufs: float | None = None

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> "GenerateOptions":
        """Options from a JSON object or OSC key/value pairs; unknown keys are rejected by name."""
        known = {f.name for f in fields(cls)}
        aliases = {"duration": "duration_s", "n": "variations", "negative": "negative_prompt", "tempo": "tempo_bpm",
                   "bpm": "tempo_bpm", "sr": "sample_rate", "lufs": "target_lufs"}
        out: dict[str, Any] = {}
        for key, value in values.items():
            name = aliases.get(key, key)
            if name not in known:
                raise BadRequest(f"{key}: unknown option; known options: {', '.join(sorted(known | set(aliases)))}")
            out[name] = value
        return cls(**out)


@dataclass(frozen=True)
class ResolvedOptions:
    """Options after checking, every value set."""

    prompt: str
    negative_prompt: str
    seconds: float  # the finished clip's length
    bars: int | None
    tempo_bpm: float
    beats_per_bar: int
    seed: int
    steps: int
    guidance: float
    scheduler: str
    variations: int
    model: ModelSpec
    memory_mode: str
    conform: ConformSpec


def _number(name: str, value: Any, kind: type, *, low: float | None = None, high: float | None = None,
            low_open: bool = False, hint: str = "") -> Any:
    """`value` as `kind` (ints may arrive as 3.0 from Max), within limits, or a BadRequest naming `name`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name}: expected a number, got {value!r}{hint}") from None
    if not math.isfinite(number):
        raise BadRequest(f"{name}: expected a finite number, got {value!r}{hint}")
    if kind is int:
        if not number.is_integer():
            raise BadRequest(f"{name}: expected a whole number, got {value!r}{hint}")
        number = int(number)
    if low is not None and (number <= low if low_open else number < low):
        relation = "more than" if low_open else "at least"
        raise BadRequest(f"{name}: must be {relation} {low:g}, got {value!r}{hint}")
    if high is not None and number > high:
        raise BadRequest(f"{name}: must be at most {high:g}, got {value!r}{hint}")
    return number


def resolve(opts: GenerateOptions, config: Config) -> ResolvedOptions:
    """Check `opts` and fill in defaults; raises `BadRequest` naming the first bad argument."""
    gen = config.generate
    prompt = opts.prompt.strip() if isinstance(opts.prompt, str) else ""
    if not prompt:
        raise BadRequest("prompt: empty; describe the sound, e.g. \"dusty lofi drum loop\"")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadRequest(f"prompt: {len(prompt)} characters; keep it under {MAX_PROMPT_CHARS}")
    negative = DEFAULT_NEGATIVE_PROMPT if opts.negative_prompt is None else str(opts.negative_prompt).strip()

    spec = get_spec(check_model_id(opts.model or config.models.default_model))
    tempo = _number("tempo", gen.tempo_bpm if opts.tempo_bpm is None else opts.tempo_bpm, float, low=20, high=400)
    beats = _number("beats_per_bar", gen.beats_per_bar if opts.beats_per_bar is None else opts.beats_per_bar,
                    int, low=1, high=32)
    sample_rate = _number("sample_rate", gen.sample_rate if opts.sample_rate is None else opts.sample_rate,
                          int, low=8000, high=192000)
    channels = _number("channels", gen.channels if opts.channels is None else opts.channels, int, low=1, high=2)

    bars: int | None = None
    if opts.bars is not None:
        bars = _number("bars", opts.bars, int, low=1, high=256)
        if opts.duration_s is not None:
            raise BadRequest("duration: give either bars or a duration, not both")
        frames = bars_to_frames(bars, tempo, beats, sample_rate)
    else:
        duration = DEFAULT_DURATION_S if opts.duration_s is None else opts.duration_s
        duration = _number("duration", duration, float, low=0, low_open=True, high=gen.max_duration_s,
                           hint=" seconds (generate.max_duration_s sets the limit)")
        frames = int(round(duration * sample_rate))
    seconds = frames / sample_rate
    if seconds > gen.max_duration_s:
        raise BadRequest(f"bars: {bars} bars at {tempo:g} BPM last {seconds:.1f} s, more than "
                         f"generate.max_duration_s ({gen.max_duration_s:g} s); ask for fewer bars")

    steps = _number("steps", spec.default_steps if opts.steps is None else opts.steps, int, low=1, high=MAX_STEPS)
    guidance = _number("guidance", spec.default_guidance if opts.guidance is None else opts.guidance,
                       float, low=0, high=30)
    if opts.scheduler not in SCHEDULERS:
        raise BadRequest(f"scheduler: {opts.scheduler!r} is not one of {', '.join(SCHEDULERS)}")
    variations = _number("variations", opts.variations, int, low=1, high=MAX_VARIATIONS)
    seed = random.randrange(2**31) if opts.seed is None else _number("seed", opts.seed, int, low=0, high=2**63 - 1)
    mode = opts.memory_mode or config.models.memory_mode
    if mode not in MEMORY_MODES + ("auto",):
        raise BadRequest(f"memory_mode: {mode!r} is not one of auto, {', '.join(MEMORY_MODES)}")
    target = gen.target_lufs if opts.target_lufs is None else _number("target_lufs", opts.target_lufs, float,
                                                                       low=-60, high=0)
    loop = bars is not None if opts.loop is None else bool(opts.loop)
    return ResolvedOptions(
        prompt=prompt, negative_prompt=negative, seconds=seconds, bars=bars, tempo_bpm=tempo, beats_per_bar=beats,
        seed=seed, steps=steps, guidance=guidance, scheduler=opts.scheduler, variations=variations, model=spec,
        memory_mode=mode,
        conform=ConformSpec(frames=frames, sample_rate=sample_rate, channels=channels, loop=loop, target_lufs=target),
    )
