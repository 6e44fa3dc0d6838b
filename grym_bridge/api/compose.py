"""`/grym/compose/*`: chords, melody, bass, drums and continuation as jobs whose result is the file and notes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grym_bridge.errors import BadRequest
from grym_bridge.api.routes import Arg, Request, Route

MAX_LEARN_FILES = 64


def _options(continuation: bool) -> list[Arg]:
    opts = [
        Arg("key", str, "", help="key and mode, e.g. 'A minor' (default C major; continue: the source's)"),
        Arg("bars", int, 8, min=1, max=256, help="length in bars"),
        Arg("tempo", float, 0.0, min=0.0, max=400.0, help="BPM written to the file (0: the style's or source's)"),
        Arg("time_signature", str, "", help="e.g. 4/4, 6/8 (default 4/4; continue: the source's)"),
        Arg("seed", int, -1, min=-1, help="same seed, same notes (-1: random; the result says which)"),
        Arg("out", str, "", help="the .mid path to write, in an existing folder (default: renders/midi/)"),
        Arg("overwrite", bool, False, help="let `out` (and its .json sidecar) replace existing files"),
        Arg("play", bool, False, help="also play the clip out of the MIDI port when done"),
        Arg("session", str, "default", help="the session whose tempo, key and meter fill what is not given"),
    ]
    if continuation:
        return opts + [Arg("learn_from", str, "", help="a .mid file or a folder of them to learn from too")]
    return opts + [
        Arg("style", str, "pop", help="pop, jazz, lofi, house, cinematic or trap"),
        Arg("progression", str, "", help="degrees or roman numerals, e.g. '1 5 6 4' or 'ii V I'"),
        Arg("swing", float, -1.0, min=-1.0, max=1.0, help="0 straight .. 1 triplet (-1: the style's)"),
        Arg("humanize", float, -1.0, min=-1.0, max=1.0, help="timing/velocity looseness 0..1 (-1: the style's)"),
    ]


def _learn_paths(req: Request, text: str) -> list[str]:
    if not text:
        return []
    path = req.services.paths.check(text)
    files = sorted(path.glob("*.mid"))[:MAX_LEARN_FILES] if path.is_dir() else [path]
    return [str(req.services.paths.check(f)) for f in files]


def _session(req: Request, session_id: str) -> dict[str, Any]:
    """The DAW session's context (tempo, time_signature, key; None when unset)."""
    return req.services.orchestrator.sessions.get(session_id).to_dict()


def _start(req: Request, kind: str, source: str | None, opts: dict[str, Any]) -> None:
    from grym_bridge.compose import ComposeRequest, compose
    from grym_bridge.compose.api import check_request
    from grym_bridge.paths import check_output

    services = req.services
    session = _session(req, opts["session"])
    if source is None:  # a continuation keeps its source's key and meter unless told otherwise
        opts["key"] = opts["key"] or session.get("key") or ""
        opts["time_signature"] = opts["time_signature"] or session.get("time_signature") or ""
    opts["tempo"] = opts["tempo"] or session.get("tempo") or 0.0
    out = services.paths.check(opts["out"]) if opts["out"] else None
    if out is not None and out.suffix.lower() not in (".mid", ".midi"):
        raise BadRequest(f"out must name a .mid file, got {opts['out']!r}")
    if out is not None:
        check_output(out, overwrite=opts["overwrite"], companions=(out.with_suffix(".json"),))
    request = ComposeRequest(
        kind, key=opts["key"] or None, style=opts.get("style", "pop"), bars=opts["bars"], tempo=opts["tempo"] or None,
        time_signature=opts["time_signature"] or None, seed=None if opts["seed"] < 0 else opts["seed"],
        progression=opts.get("progression") or None,
        swing=None if opts.get("swing", -1.0) < 0 else opts["swing"],
        humanize=None if opts.get("humanize", -1.0) < 0 else opts["humanize"],
        source=source, learn_from=_learn_paths(req, opts.get("learn_from", "")),
    )
    check_request(request)  # a bad key or style is an immediate /grym/error, not a failed job
    play = opts["play"]
    midi = services.midi
    if play and midi is None:
        raise BadRequest("play needs the MIDI transport: set [midi] enabled = true in the config and restart")
    renders = services.config.renders_dir()

    def work(job: Any) -> Any:
        result = compose(request, out, renders_dir=renders, progress=job.progress)
        if play:
            from grym_bridge.compose import read_clip

            midi.player.play(read_clip(Path(result.path)))
        return result

    req.start_job(f"compose.{kind}", work, resource="cpu")


def _generator(kind: str):  # noqa: ANN202 - a handler per kind, sharing one body
    def handler(req: Request, **opts: Any) -> None:
        _start(req, kind, None, opts)

    handler.__name__ = f"compose_{kind}"
    return handler


def compose_continue(req: Request, path: str, **opts: Any) -> None:
    _start(req, "continue", str(req.services.paths.check(path)), opts)


_REPLY = "job: result is {path, kind, key, style, tempo, time_signature, bars, seed, chords, note_count, notes}"
_DOCS = {
    "chords": "Compose a voice-led chord progression in a key and style.",
    "melody": "Compose a melody over the style's chords (same seed: the same chords as /grym/compose/chords).",
    "bass": "Compose a bassline on the chords' roots, thirds and fifths.",
    "drums": "Compose the style's drum pattern with fills, swing and humanize (GM channel 10).",
}

ROUTES = [
    *(Route(f"/grym/compose/{kind}", _generator(kind), options=_options(False), reply=_REPLY, doc=doc)
      for kind, doc in _DOCS.items()),
    Route("/grym/compose/continue", compose_continue, args=[Arg("path", str, help="the .mid clip to continue")],
          options=_options(True), reply=_REPLY,
          doc="Continue a MIDI clip from the note and rhythm transitions learned from it (and learn_from clips)."),
]
