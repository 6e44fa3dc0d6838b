"""The real steps: thin adapters from a chain's context to the services the api handlers use too.

Each adapter reads the current clip and what earlier steps left in the
`ChainContext`, calls one service method (the same one, with the same
checks, that the api's handler for that capability calls: paths against the
allowed roots, duration and channel limits, chain validation), and returns
a compact JSON-able summary (replies travel in datagrams). A step may have a
`prepare` that checks its arguments before the chain starts: a render step's
chain is validated once into a chain object there, so a plan naming a VST3
or impulse response outside the allowed roots is refused before anything is
opened.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest
from grym_bridge.orchestrator.plan import STEP_DESCRIPTIONS
from grym_bridge.orchestrator.services import CapabilityServices, import_capability
from grym_bridge.orchestrator.steps import ChainContext, Progress, StepRegistry

#: The smaller text-to-audio model generation falls back to when the default one fails.
SMALL_TTA_MODEL = "cvssp/audioldm-s-full-v2"


def _need_clip(ctx: ChainContext, step: str) -> Path:
    if ctx.audio is None:
        raise BadRequest(f"step {step} needs a clip: send a file path with the request")
    return ctx.audio


class ChainSteps:
    """The chain steps of `plan.STEP_DESCRIPTIONS`, over the process's shared capability services."""

    def __init__(self, config: Config, services: CapabilityServices) -> None:
        self.config = config
        self.services = services

    # -- the steps ----------------------------------------------------------------------------

    def analyze(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        analysis = import_capability("grym_bridge.analysis", "audio analysis")
        # Bars follow the session's time signature once the DAW has set it (None: the meter is detected).
        result = analysis.analyze_file(_need_clip(ctx, "analyze"), self.config, progress=progress,
                                       time_signature=ctx.session.time_signature)
        ctx.analysis = result
        out = {k: getattr(result, k) for k in ("path", "duration_s", "tempo_bpm", "key", "lufs_integrated",
                                                "true_peak_dbtp", "spectral_centroid_hz", "stereo_width")}
        if args.get("questions"):  # "what key is this?": the answer in words as well
            from grym_bridge.orchestrator.vocabulary import answer
            out["answer"] = answer(list(args["questions"]), out)
        return out

    def _analysis(self, ctx: ChainContext, progress: Progress) -> Any:
        if ctx.analysis is None:
            self.analyze(ctx, {}, progress)
        return ctx.analysis

    def memory_lookup(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        analysis = self._analysis(ctx, progress)
        k = int(args.get("k") or 5)
        here = str(Path(_need_clip(ctx, "memory_lookup")).resolve())
        # Ask for one more: the clip itself may be in memory already and is no match for itself.
        matches = [m for m in self.services.memory().similar(analysis.feature_vector, k + 1)
                   if str(Path(m.path).resolve()) != here][:k]
        return {"matches": [{"id": m.id, "path": m.path, "score": round(float(m.score), 4)} for m in matches]}

    def suggest_fx(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """The fx engine's suggestion for the clip, steered by the goals, named problems and destination.

        The engine checks every move on the clip (`checks`); "louder"/"quieter" move the loudness
        3 LU, a destination (`target`: streaming, club...) sets it, otherwise it is matched to the clip.
        """
        goals = list(args.get("goals") or [])
        analysis = self._analysis(ctx, progress)
        # Through the same service method as /grym/fx/suggest: the same path checks and limits.
        suggestion = self.services.fx().suggest(_need_clip(ctx, "suggest_fx"), target=args.get("target") or "none",
                                                goals=goals, fix=list(args.get("fix") or []), analysis=analysis,
                                                progress=progress)
        return {"chain": suggestion.chain, "reasons": [r.message for r in suggestion.reasons],
                "goals": goals, "checks": suggestion.checks,
                "target": suggestion.target.lufs if suggestion.target is not None else None}

    def prepare_render(self, args: dict[str, Any]) -> dict[str, Any]:
        """Validate a chain the plan names, once, into a chain object (its files checked against the roots)."""
        if args.get("chain"):
            return {**args, "chain": self.services.fx().chain(args["chain"])}
        return args

    def render(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        fx = self.services.fx()
        chain = args.get("chain") or (ctx.results.get("suggest_fx") or {}).get("chain")
        if not chain:
            raise BadRequest("step render needs an effect chain: put suggest_fx before it, or give args.chain")
        # A loop fitted to bars must stay that long in the DAW: no reverb or delay tail then.
        result = fx.render(_need_clip(ctx, "render"), fx.chain(chain), keep_tail="conform" not in ctx.results,
                           provenance={"request": ctx.text, "by": "grym ask"}, progress=progress)
        ctx.new_audio(Path(result.path), "rendered")
        return {"path": result.path, "input_lufs": result.input_lufs, "output_lufs": result.output_lufs}

    def prepare_generate(self, args: dict[str, Any]) -> dict[str, Any]:
        """Check the options as `/grym/generate/text` does (duration within generate.max_duration_s, ...)."""
        options = import_capability("grym_bridge.generate.options", "text-to-audio generation")
        options.resolve(options.GenerateOptions.from_mapping(args), self.config)
        return args

    def generate(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        options = import_capability("grym_bridge.generate.options", "text-to-audio generation")
        opts = options.GenerateOptions.from_mapping(args)
        result = self.services.text_to_audio().generate(opts, progress)
        ctx.new_audio(Path(result.files[0].path), "generated")
        return {"path": result.files[0].path, "model": result.model, "prompt": result.prompt, "seed": result.seed,
                "device": result.device}

    def conform(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """Loop the current clip to whole bars at the tempo (the session's unless args say)."""
        conform = import_capability("grym_bridge.generate.conform", "conforming")
        from grym_bridge.audio_io import Audio, load_limited, write_audio

        tempo = args.get("tempo") or ctx.session.tempo
        if not tempo:
            raise BadRequest("step conform needs a tempo: set the session tempo (/grym/session/set tempo) "
                             "or say it (\"at 120 bpm\")")
        if not 20 <= float(tempo) <= 400:
            raise BadRequest(f"step conform: tempo must be 20-400 BPM, got {tempo!r}")
        audio = load_limited(_need_clip(ctx, "conform"), self.config.audio)
        beats = ctx.session.beats_per_bar()
        bar_s = 60.0 / float(tempo) * beats
        bars = int(args.get("bars") or max(1, round(audio.duration_s / bar_s)))
        _check_conform_length(bars, float(tempo), bar_s, audio.duration_s, self.config.generate.max_duration_s)
        frames = conform.bars_to_frames(bars, float(tempo), beats, audio.sample_rate)
        progress(0.3, f"fitting to {bars} bars at {float(tempo):g} BPM")
        spec = conform.ConformSpec(frames=frames, sample_rate=audio.sample_rate, channels=audio.channels, loop=True,
                                   target_lufs=None)
        done = conform.conform(audio.samples, audio.sample_rate, spec)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", audio.path.stem if audio.path else "clip")
        out = self.config.renders_dir() / "conformed" / f"{name}-{float(tempo):g}bpm-{bars}bars.wav"
        out.parent.mkdir(parents=True, exist_ok=True)
        write_audio(out, Audio(done.samples, done.sample_rate))
        ctx.new_audio(out, "generated" if ctx.audio_source == "generated" else "rendered")
        return {"path": str(out), "tempo": float(tempo), "bars": bars}

    def compose(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        api = import_capability("grym_bridge.compose", "composition")
        key = args.get("key")
        if key == "from_clip":
            # drums and noise have no key (None): the session's key, else compose's default
            key = getattr(self._analysis(ctx, progress), "key", None) or ctx.session.key
        source = None
        if args.get("part") == "continue":
            source = _need_clip(ctx, "compose")
            if source.suffix.lower() not in (".mid", ".midi"):
                raise BadRequest(f"continuing needs a MIDI clip (.mid); {source.name} is audio")
        # Parts of one request share a seed: compose draws every part's harmony from it, so they fit.
        seed = args.get("seed", (ctx.results.get("compose") or {}).get("seed"))
        req = api.ComposeRequest(kind=args.get("part", "chords"), key=key, tempo=args.get("tempo") or ctx.session.tempo,
                                 bars=int(args.get("bars") or 8), style=args.get("style") or "pop",
                                 time_signature=None if source else ctx.session.time_signature,
                                 source=str(source) if source else None, seed=seed)
        result = api.compose(req, renders_dir=self.config.renders_dir(), progress=progress)
        ctx.outputs.append(Path(result.path))
        return {"path": result.path, "kind": result.kind, "key": result.key, "tempo": result.tempo,
                "style": result.style,
                "bars": result.bars, "chords": result.chords, "note_count": result.note_count, "seed": result.seed}

    def prepare_store(self, args: dict[str, Any]) -> dict[str, Any]:
        """Tags parsed and bounded as `/grym/memory/add` does ("dark" is one tag), before the chain starts."""
        from grym_bridge.memory.checks import parse_feedback, parse_tags

        limits = self.config.memory
        if args.get("feedback") is not None:
            parse_feedback(args["feedback"])  # a rating 0..5, kept, rejected or clear: as /grym/memory/rate takes
        return {**args, "tags": parse_tags(args.get("tags") or [], max_tags=limits.max_tags,
                                           max_chars=limits.max_tag_chars)}

    def store(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        clip = _need_clip(ctx, "store")
        analysis = self._analysis(ctx, progress)
        source = ctx.audio_source
        tags = self.prepare_store(args)["tags"]
        stored = self.services.memory().add_clip(clip, analysis=analysis, source=source, tags=tags,
                                        provenance={"request": ctx.text, "from": str(ctx.input_path or "")})
        out = {"clip_id": stored.id, "path": str(clip), "source": source}
        if args.get("feedback") is not None:  # "it's a keeper", "rate it 4": the verdict goes with it
            self.services.memory().rate(stored.id, args["feedback"])
            out["feedback"] = args["feedback"]
        return out


def _check_conform_length(bars: int, tempo: float, bar_s: float, clip_s: float, limit_s: float) -> None:
    """A conformed clip is at most as long as the clip (to the next bar) or generate.max_duration_s."""
    seconds = bars * bar_s
    if seconds > max(limit_s, clip_s + bar_s):
        raise BadRequest(f"step conform: {bars} bars at {tempo:g} BPM last {seconds:.1f} s, longer than the clip "
                         f"({clip_s:.1f} s) and generate.max_duration_s ({limit_s:g} s); ask for fewer bars")


#: Arguments a step takes that no api route has; the plan checks them (plan._check_args).
OWN_ARGS = {"analyze": ("questions",), "suggest_fx": ("goals", "fix", "target"), "compose": ("part",),
            "store": ("feedback",)}


def default_registry(steps: ChainSteps) -> StepRegistry:
    """Every step of `plan.STEP_DESCRIPTIONS`, over the real services."""
    reg = StepRegistry()
    for name in STEP_DESCRIPTIONS:
        resource = "gpu" if name == "generate" else "cpu"
        # A failed generation is tried again with the small model before the chain gives up.
        fallbacks = [{"model": SMALL_TTA_MODEL}] if name == "generate" else []
        reg.register(name, getattr(steps, name), resource=resource, fallbacks=fallbacks,
                     description=STEP_DESCRIPTIONS[name], prepare=getattr(steps, f"prepare_{name}", None),
                     own_args=OWN_ARGS.get(name, ()))
    return reg
