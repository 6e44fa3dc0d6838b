"""The real steps: thin adapters from a chain's context to the capabilities.

Each adapter reads the current clip and what earlier steps left in the
`ChainContext`, calls one capability (analysis, memory, fx + plugin_host,
generate, compose), and returns a compact JSON-able summary (replies travel
in datagrams). Capabilities are imported inside the adapters: building the
registry imports nothing heavy, and a capability that is not installed fails
only the chains that use it, with a message that says so.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, ModelUnavailable
from grym_bridge.orchestrator.plan import STEP_DESCRIPTIONS
from grym_bridge.orchestrator.steps import ChainContext, Progress, StepRegistry

#: The smaller text-to-audio model generation falls back to when the default one fails.
SMALL_TTA_MODEL = "cvssp/audioldm-s-full-v2"


def _capability(module: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelUnavailable(f"{what} is not available in this installation ({exc}); "
                               "reinstall grym-bridge with all its parts") from None


def _need_clip(ctx: ChainContext, step: str) -> Path:
    if ctx.audio is None:
        raise BadRequest(f"step {step} needs a clip: send a file path with the request")
    return ctx.audio


@dataclass
class Capabilities:
    """The capability objects steps share, opened on first use (and shareable with other handlers)."""

    config: Config
    open_memory: Callable[[], Any] | None = None
    make_text_to_audio: Callable[[], Any] | None = None
    _memory: Any = field(default=None, repr=False)
    _tta: Any = field(default=None, repr=False)

    def memory(self) -> Any:
        if self._memory is None:
            opener = self.open_memory or (lambda: _capability("grym_bridge.memory", "feature memory")
                                          .open_memory(self.config))
            self._memory = opener()
        return self._memory

    def close(self) -> None:
        """Close what was opened (the memory store saves its index); safe to call twice."""
        memory, self._memory = self._memory, None
        if memory is not None:
            memory.close()

    @property
    def loaded_text_to_audio(self) -> Any:
        """The text-to-audio runner if one was built already, else None (never builds one)."""
        return self._tta

    def text_to_audio(self) -> Any:
        if self._tta is None:
            if self.make_text_to_audio is not None:
                self._tta = self.make_text_to_audio()
            else:
                runner = _capability("grym_bridge.generate.runner", "text-to-audio generation")
                self._tta = runner.TextToAudio(self.config)
        return self._tta

    # -- the steps ----------------------------------------------------------------------------

    def analyze(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        analysis = _capability("grym_bridge.analysis", "audio analysis")
        result = analysis.analyze_file(_need_clip(ctx, "analyze"), self.config, progress=progress)
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
        matches = [m for m in self.memory().similar(analysis.feature_vector, k + 1)
                   if str(Path(m.path).resolve()) != here][:k]
        return {"matches": [{"id": m.id, "path": m.path, "score": round(float(m.score), 4)} for m in matches]}

    def suggest_fx(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """The fx engine's suggestion for the clip, steered by the goals, named problems and destination.

        The engine checks every move on the clip (`checks`); "louder"/"quieter" move the loudness
        3 LU, a destination (`target`: streaming, club...) sets it, otherwise it is matched to the clip.
        """
        fx = _capability("grym_bridge.fx.suggest", "effect suggestion")
        from grym_bridge.audio_io import load_audio
        from grym_bridge.fx.targets import loudness_target

        goals = list(args.get("goals") or [])
        analysis = self._analysis(ctx, progress)
        audio = load_audio(_need_clip(ctx, "suggest_fx"), max_duration_s=self.config.audio.max_duration_s,
                           max_channels=self.config.audio.max_channels)
        target = loudness_target(self.config, args["target"]) if args.get("target") else None
        suggestion = fx.suggest(audio, target=target, goals=goals, fix=list(args.get("fix") or []),
                                analysis=analysis, progress=progress,
                                ceiling_dbtp=self.config.fx.true_peak_ceiling_dbtp)
        return {"chain": suggestion.chain, "reasons": [r.message for r in suggestion.reasons],
                "goals": goals, "checks": suggestion.checks,
                "target": suggestion.target.lufs if suggestion.target is not None else None}

    def render(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        host = _capability("plugin_host", "effect rendering (plugin_host)")
        chain = args.get("chain") or (ctx.results.get("suggest_fx") or {}).get("chain")
        if not chain:
            raise BadRequest("step render needs an effect chain: put suggest_fx before it, or give args.chain")
        source = _need_clip(ctx, "render")
        out = host.default_output_path(self.config.renders_dir(), source, chain)
        # A loop fitted to bars must stay that long in the DAW: no reverb or delay tail then.
        options = host.RenderOptions(keep_tail="conform" not in ctx.results)
        result = host.render_file(source, chain, out, options=options, progress=progress,
                                  provenance={"request": ctx.text, "by": "grym ask"})
        ctx.new_audio(Path(result.path), "rendered")
        return {"path": result.path, "input_lufs": result.input_lufs, "output_lufs": result.output_lufs}

    def generate(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        options = _capability("grym_bridge.generate.options", "text-to-audio generation")
        opts = options.GenerateOptions.from_mapping(args)
        result = self.text_to_audio().generate(opts, progress)
        ctx.new_audio(Path(result.files[0].path), "generated")
        return {"path": result.files[0].path, "model": result.model, "prompt": result.prompt, "seed": result.seed,
                "device": result.device}

    def conform(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        """Loop the current clip to whole bars at the tempo (the session's unless args say)."""
        conform = _capability("grym_bridge.generate.conform", "conforming")
        from grym_bridge.audio_io import Audio, load_audio, write_audio

        tempo = args.get("tempo") or ctx.session.tempo
        if not tempo:
            raise BadRequest("step conform needs a tempo: set the session tempo (/grym/session/set tempo) "
                             "or say it (\"at 120 bpm\")")
        audio = load_audio(_need_clip(ctx, "conform"))
        beats = ctx.session.beats_per_bar()
        bar_s = 60.0 / float(tempo) * beats
        bars = int(args.get("bars") or max(1, round(audio.duration_s / bar_s)))
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
        api = _capability("grym_bridge.compose", "composition")
        key = args.get("key")
        if key == "from_clip":
            key = getattr(self._analysis(ctx, progress), "key", None)
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

    def store(self, ctx: ChainContext, args: dict[str, Any], progress: Progress) -> dict[str, Any]:
        clip = _need_clip(ctx, "store")
        analysis = self._analysis(ctx, progress)
        source = ctx.audio_source
        tags = [str(t) for t in args.get("tags") or []]
        stored = self.memory().add_clip(clip, analysis=analysis, source=source, tags=tags,
                                        provenance={"request": ctx.text, "from": str(ctx.input_path or "")})
        out = {"clip_id": stored.id, "path": str(clip), "source": source}
        if args.get("feedback") is not None:  # "it's a keeper", "rate it 4": the verdict goes with it
            self.memory().rate(stored.id, args["feedback"])
            out["feedback"] = args["feedback"]
        return out


def default_registry(caps: Capabilities) -> StepRegistry:
    """Every step of `plan.STEP_DESCRIPTIONS`, over the real capabilities."""
    reg = StepRegistry()
    for name in STEP_DESCRIPTIONS:
        resource = "gpu" if name == "generate" else "cpu"
        # A failed generation is tried again with the small model before the chain gives up.
        fallbacks = [{"model": SMALL_TTA_MODEL}] if name == "generate" else []
        reg.register(name, getattr(caps, name), resource=resource, fallbacks=fallbacks,
                     description=STEP_DESCRIPTIONS[name])
    return reg
