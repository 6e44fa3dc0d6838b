"""`/grym/midi/*`: ports, MIDI learn, the mapping, and playing clips out of the bridge's port."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grym_bridge.errors import BadRequest, GrymError
from grym_bridge.results import dumps
from grym_bridge.api.routes import Arg, Request, Route

def _transport(req: Request) -> Any:
    """The MIDI transport the root handed to the services (its ports, mapping, learn and player)."""
    return req.services.midi_transport()


def ports(req: Request) -> None:
    midi = req.services.midi
    list_ports = req.services.midi_ports
    if list_ports is None:
        raise BadRequest("this server was built without MIDI port listing")
    listing = list_ports(req.services.config.midi.api)
    opened = {"inputs": [p.name for p in midi.ports.inputs], "outputs": [p.name for p in midi.ports.outputs]} if midi else None
    req.reply_json({"api": listing.api, "inputs": listing.inputs, "outputs": listing.outputs, "open": opened})


def learn(req: Request, action: str, args: str, options: dict, timeout_s: float) -> tuple[Any, ...]:
    """Arm learn; the binding (or the timeout) is sent later to this client."""
    midi = _transport(req)
    try:
        arg_list = json.loads(args) if args else []
    except json.JSONDecodeError as exc:
        raise BadRequest(f"args must be a JSON list like [\"$preset\", 4]: {exc.msg}") from None
    if not isinstance(arg_list, list):
        raise BadRequest(f"args must be a JSON list like [\"$preset\", 4], got {args!r}")
    peer, req_id, router = req.peer, req.req_id, req.router

    def done(binding: Any, error: Exception | None) -> None:
        if binding is not None:
            peer.send("/grym/midi/learned", [req_id, dumps(binding_json(binding, midi))])
        else:
            router.send_error(peer, "/grym/midi/learn", req_id, error or GrymError("learn failed"))

    midi.learn(action, done, args=arg_list, options=options, timeout_s=timeout_s or None)
    return ("armed", action)


def learn_cancel(req: Request) -> tuple[Any, ...]:
    return ("cancelled" if _transport(req).cancel_learn() else "idle",)


def binding_json(binding: Any, midi: Any) -> dict[str, Any]:
    return {
        "control": binding.kind, "number": binding.number,
        "channel": None if binding.channel is None else binding.channel + 1,
        "address": binding.address, "action": binding.action, "set": binding.set, "args": list(binding.args),
        "options": binding.options,
        "trigger": binding.trigger, "feedback": binding.feedback, "file": str(midi.mapping_path), "line": binding.line,
    }


def mapping(req: Request) -> None:
    midi = _transport(req)
    m = midi.mapping
    req.reply_json({"file": str(midi.mapping_path), "presets": m.presets, "preset_index": midi.preset_index,
                    "variables": midi.variables, "bindings": [binding_json(b, midi) for b in m.bindings]})


def reload(req: Request) -> tuple[Any, ...]:
    return (len(_transport(req).reload().bindings),)


def play(req: Request, path: str) -> tuple[Any, ...]:
    from grym_bridge.compose import read_clip

    midi = _transport(req)
    clip = read_clip(Path(req.services.paths.check(path)))
    return (round(midi.player.play(clip), 3),)


def stop(req: Request) -> tuple[Any, ...]:
    _transport(req).player.stop()
    return ("ok",)


ROUTES = [
    Route("/grym/midi/ports", ports, reply="<req_id> <json {api, inputs, outputs, open}>",
          doc="The MIDI ports the backend sees, and the ones the bridge has open."),
    Route("/grym/midi/learn", learn,
          args=[Arg("action", str, help="an address such as /grym/compose/drums, or preset_next / preset_prev")],
          options=[Arg("args", str, "", help="JSON list of the request's arguments; $value, $velocity, $preset..."),
                   Arg("options", dict, {}, help="JSON object of the request's options"),
                   Arg("timeout_s", float, 0.0, min=0.0, max=600.0, help="0: midi.learn_timeout_s")],
          reply="<req_id> armed <action>; then /grym/midi/learned <req_id> <binding json> (or /grym/error)",
          doc="Bind the next note, CC or program change that arrives to the action; saved in the mapping file."),
    Route("/grym/midi/learn_cancel", learn_cancel, reply="<req_id> cancelled|idle", doc="Stop waiting for MIDI learn."),
    Route("/grym/midi/mapping", mapping, reply="<req_id> <json {file, presets, preset_index, bindings}>",
          doc="The controller mapping in use."),
    Route("/grym/midi/reload", reload, reply="<req_id> <binding count>",
          doc="Read the mapping file again; an error names the line (the old mapping stays)."),
    Route("/grym/midi/play", play, args=[Arg("path", str, help="a .mid file")], reply="<req_id> <seconds>",
          doc="Play a MIDI file out of the bridge's MIDI outputs in time (stops what was playing)."),
    Route("/grym/midi/stop", stop, reply="<req_id> ok", doc="Stop playing and silence the notes."),
]
