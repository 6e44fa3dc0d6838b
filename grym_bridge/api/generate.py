"""`/grym/generate/*`: text to audio (AudioLDM / AudioLDM 2) as gpu-class jobs whose result lists the files.

Options are checked before the job is queued (a bad one is an immediate
`/grym/error` naming it); the session's tempo, time signature and sample rate
fill what the request leaves out. The runner is the orchestrator's, so chains
and direct requests share one loaded model; generated clips are analyzed and
remembered in the feature memory unless `remember 0`.
"""

from __future__ import annotations

from typing import Any

from grym_bridge.errors import BadRequest
from grym_bridge.api.routes import Arg, Request, Route

_LOOP = {"auto": None, "loop": True, "oneshot": False, "one-shot": False}

_OPTIONS = [
    Arg("duration", float, 0.0, min=0.0, help="seconds of audio (0: 8 s, or the bars)"),
    Arg("bars", int, 0, min=0, max=256, help="whole bars at the tempo; makes a seamless loop (0: use duration)"),
    Arg("tempo", float, 0.0, min=0.0, max=400.0, help="BPM for bars (0: the session's, else generate.tempo_bpm)"),
    Arg("seed", int, -1, min=-1, help="same seed, same audio (-1: random; the result says which)"),
    Arg("n", int, 1, min=1, max=16, help="variations, with seeds seed, seed+1, ..."),
    Arg("model", str, "", help="model id (empty: models.default_model)"),
    Arg("steps", int, -1, min=-1, max=1000, help="denoising steps (-1: the model's fast default)"),
    Arg("guidance", float, -1.0, min=-1.0, max=30.0, help="prompt adherence (-1: the model's default)"),
    Arg("negative", str, "", help="what to avoid (empty: 'low quality, distorted, noise')"),
    Arg("scheduler", str, "dpm++", choices=("dpm++", "ddim", "euler", "pndm", "model"), help="the sampler"),
    Arg("loop", str, "auto", choices=tuple(_LOOP), help="auto (loop when bars are given), loop or oneshot"),
    Arg("mono", bool, False, help="mono files (default: generate.channels)"),
    Arg("remember", bool, True, help="analyze the clips and store them in the feature memory"),
    Arg("session", str, "default", help="the DAW session whose tempo, meter and sample rate apply"),
]


def _caps(req: Request) -> Any:
    return req.services.capabilities


def _options(req: Request, prompt: str, opts: dict[str, Any]) -> Any:
    """GenerateOptions from OSC options, the session filling tempo, meter and rate; checked now."""
    from grym_bridge.generate.options import GenerateOptions, resolve

    session = req.services.orchestrator.sessions.get(opts["session"])
    options = GenerateOptions(
        prompt=prompt, negative_prompt=opts["negative"] or None, duration_s=opts["duration"] or None,
        bars=opts["bars"] or None, tempo_bpm=opts["tempo"] or session.tempo, beats_per_bar=session.beats_per_bar(),
        seed=None if opts["seed"] < 0 else opts["seed"], steps=None if opts["steps"] < 0 else opts["steps"],
        guidance=None if opts["guidance"] < 0 else opts["guidance"], scheduler=opts["scheduler"],
        variations=opts["n"], model=opts["model"] or None, loop=_LOOP[opts["loop"]],
        sample_rate=session.sample_rate, channels=1 if opts["mono"] else None,
    )
    options.seed = resolve(options, req.services.config).seed  # a bad option fails here, not in the job
    return options


def _remember(req: Request, enabled: bool) -> Any:
    if not enabled:
        return None
    from grym_bridge.generate.memory_link import rememberer

    caps = _caps(req)
    return rememberer(caps.memory(), req.services.config)


def generate_text(req: Request, prompt: str, **opts: Any) -> None:
    caps = _caps(req)
    options = _options(req, prompt, opts)
    remember = _remember(req, opts["remember"])
    req.start_job("generate.text",
                  lambda job: caps.text_to_audio().generate(options, job.progress, remember=remember,
                                                            source={"kind": "text"}),
                  resource="gpu")


def generate_like(req: Request, source: str, **opts: Any) -> None:
    from dataclasses import replace

    from grym_bridge.generate.memory_link import like_request

    caps = _caps(req)
    text = source.strip()
    if not text:
        raise BadRequest("source: give an audio file path or a memory clip id")
    if not text.isdigit():
        text = str(req.services.paths.check(text))
    subject = opts["prompt"]
    # Checked with a stand-in prompt now; the real one is built from the analysis in the job.
    options = _options(req, subject or "music loop", opts)
    remember = _remember(req, opts["remember"])
    config = req.services.config
    use_kept = opts["kept"]

    def work(job: Any) -> Any:
        job.progress(0.0, "analyzing the source clip")
        memory = caps.memory() if (use_kept or text.isdigit()) else None
        like, described = like_request(text, replace(options, prompt=subject), config, memory, use_kept=use_kept)

        def progress(fraction: float, message: str) -> None:
            job.progress(0.1 + 0.9 * fraction, message)

        return caps.text_to_audio().generate(like, progress, remember=remember, source=described)

    req.start_job("generate.like", work, resource="gpu")


def list_models(req: Request) -> None:
    from grym_bridge.models.registry import ModelRegistry

    tta = _caps(req).loaded_text_to_audio
    registry = tta.registry if tta is not None else ModelRegistry(req.services.config)
    req.reply_json([{"id": s.id, "present": s.present, "loaded": s.loaded, "size_on_disk_gb": s.size_on_disk_gb,
                     "sample_rate": s.sample_rate, "license": s.license} for s in registry.list()])


_REPLY = ("job: result is {files: [{path, sidecar, seed, duration_s, frames, sample_rate, channels, lufs, "
          "clip_id}], model, prompt, seed, steps, scheduler, guidance, device, memory_mode, seconds}")

ROUTES = [
    Route("/grym/generate/text", generate_text, args=[Arg("prompt", str, help="what to generate")],
          options=_OPTIONS, reply=_REPLY, resource="gpu",
          doc="Generate audio from a text prompt, cut to whole bars at the session tempo, loudness-normalized."),
    Route("/grym/generate/like", generate_like,
          args=[Arg("source", str, help="an audio file path or a feature-memory clip id")],
          options=[Arg("prompt", str, "", help="what to generate (the analysis adds the rest)"),
                   Arg("kept", bool, True, help="add the tags and prompts of clips you kept"), *_OPTIONS],
          reply=_REPLY, resource="gpu",
          doc="Generate audio like a clip: the prompt comes from its analysis (tempo, key, brightness, density) "
              "and the clips you kept."),
    Route("/grym/generate/models", list_models, reply="JSON list of {id, present, loaded, size_on_disk_gb, "
          "sample_rate, license}", doc="The text-to-audio models and whether their weights are on this machine."),
]
