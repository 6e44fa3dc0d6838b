"""`/grym/fx/*` and `/grym/mix/*`: effect suggestions, renders, DAW mapping and mix recommendations, as jobs.

Requests are checked before they are queued (paths against the allowed
roots, an inline chain, the style and target), so a bad one gets
`/grym/error` at once rather than a failed job. A chain *file* is only
checked against the roots here: it is read in the job's worker (a FIFO or a
huge file must never stall the event loop), so its errors come as the job's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grym_bridge.errors import BadRequest
from grym_bridge.api.routes import Arg, Request, Route

_AUDIO_SUFFIXES = {".wav", ".aif", ".aiff", ".flac", ".ogg", ".mp3"}
MAX_STEMS = 32


def _check_choices(req: Request, style: str, target: str) -> None:
    from grym_bridge.fx import STYLES, loudness_target

    if style and style not in STYLES:
        raise BadRequest(f"unknown style {style!r}: use one of {', '.join(STYLES)}")
    if target:
        loudness_target(req.services.config, target)


def fx_suggest(req: Request, path: str, style: str, target: str, reference: str, map: str) -> None:
    fx = req.services.fx()
    source = req.services.paths.check(path)
    ref = str(req.services.paths.check(reference)) if reference else None
    _check_choices(req, style, target)
    if map and map not in ("reaper", "ableton"):
        raise BadRequest(f"map must be reaper or ableton; got {map!r}")

    def work(job: Any) -> Any:
        from grym_bridge.results import to_jsonable

        result = fx.suggest(source, style=style or None, target=target or None, reference=ref, progress=job.progress)
        if not map:
            return result
        doc = to_jsonable(result)
        doc["daw"] = to_jsonable(fx.map(result.chain_spec(), map))
        return doc

    req.start_job("fx.suggest", work, resource="cpu")


def _chain_now_or_later(req: Request, chain: str) -> Any:
    """An inline chain parsed now (answered at once when bad); a chain file's checked path, read in the job."""
    fx = req.services.fx()
    if fx.is_chain_file(chain):
        return str(req.services.paths.check(chain))
    return fx.chain(chain)  # parsed once; a bad chain is answered now, with the valid plugins and ranges


def fx_render(req: Request, path: str, chain: str, out: str, ab: bool, overwrite: bool) -> None:
    fx = req.services.fx()
    source = req.services.paths.check(path)
    spec = _chain_now_or_later(req, chain)
    output = str(req.services.paths.check(out)) if out else None
    req.start_job("fx.render", lambda job: fx.render(source, spec, output=output, ab=ab, overwrite=overwrite,
                                                     progress=job.progress), resource="cpu")


def fx_map(req: Request, chain: str, daw: str) -> None:
    fx = req.services.fx()
    spec = _chain_now_or_later(req, chain)
    req.start_job("fx.map", lambda job: fx.map(spec, daw), resource="cpu")


def _stem_paths(req: Request, stems: str) -> list[Path]:
    text = stems.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(f"stems must be a JSON list of paths or a folder: {exc.msg}") from None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise BadRequest("stems must be a JSON list of path strings, or a folder of audio files")
        paths = [req.services.paths.check(i) for i in items]
    else:
        folder = req.services.paths.check(text)
        if not folder.is_dir():
            raise BadRequest(f"{text} is not a folder; give a folder of stems or a JSON list of paths")
        # each stem checked after resolution: a link in the folder may point out of the roots
        paths = [req.services.paths.check(p) for p in sorted(folder.iterdir()) if p.suffix.lower() in _AUDIO_SUFFIXES]
    if not 2 <= len(paths) <= MAX_STEMS:
        raise BadRequest(f"a mix recommendation needs 2 to {MAX_STEMS} stems; got {len(paths)}")
    return paths


def mix_suggest(req: Request, stems: str, headroom: float) -> None:
    fx = req.services.fx()
    paths = _stem_paths(req, stems)
    req.start_job("mix.suggest", lambda job: fx.mix(paths, headroom_db=headroom if headroom >= 0 else None,
                                                    progress=job.progress), resource="cpu")


_CHAIN_HELP = 'chain JSON ([{"plugin": "Reverb", "params": {...}}, ...] or a suggestion) or a .json file path'

ROUTES = [
    Route("/grym/fx/suggest", fx_suggest, args=[Arg("path", str, help="the clip to suggest effects for")],
          options=[Arg("style", str, "", help="warm, bright, dark, punchy, wide, airy or lofi"),
                   Arg("target", str, "", help="streaming, club, broadcast, podcast, a LUFS number, or none"),
                   Arg("reference", str, "", help="a reference track to match (spectrum and loudness)"),
                   Arg("map", str, "", help="also map the chain to reaper or ableton devices")],
          reply="job: result is {chain, reasons, target, measured, predicted[, daw]}",
          doc="Suggest an effect chain with the measured reason for every move."),
    Route("/grym/fx/render", fx_render, args=[Arg("path", str, help="the clip to render"),
                                              Arg("chain", str, help=_CHAIN_HELP)],
          options=[Arg("out", str, "", help="output file in an existing folder (default: a new name under renders/)"),
                   Arg("ab", bool, False, help="also write the render matched to the original's loudness"),
                   Arg("overwrite", bool, False, help="let `out` replace an existing file (never the source)")],
          reply="job: result is {path, sidecar, tail_s, input_lufs, output_lufs, ab: {a_path, b_path, gain_db}}",
          doc="Render a clip through a chain in blocks, tails kept; a loudness-matched A/B pair on request."),
    Route("/grym/fx/map", fx_map, args=[Arg("chain", str, help=_CHAIN_HELP),
                                        Arg("daw", str, choices=("reaper", "ableton"), help="reaper or ableton")],
          reply="job: result is {daw, devices: [{plugins, device, params: [{name, value, unit}]}], unmapped}",
          doc="Express a chain as the DAW's own devices (ReaEQ, ReaComp, ... / EQ Eight, Compressor, ...)."),
    Route("/grym/mix/suggest", mix_suggest,
          args=[Arg("stems", str, help="a folder of stems, or a JSON list of stem paths")],
          options=[Arg("headroom", float, -1.0, min=-1.0, max=30.0,
                       help="dB below 0 dBTP the summed stems should peak (-1: fx.mix_headroom_db)")],
          reply="job: result is {stems: [{name, role, gain_db, pan, width_percent, chain, reasons}], conflicts, "
                "reasons}",
          doc="Mix recommendations for several stems: gain staging, masking EQ, pan and width."),
]
