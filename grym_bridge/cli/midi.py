"""`grym midi`: list ports, learn a control into the mapping, check a mapping file, play a clip out."""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path
from typing import Any

import click

from grym_bridge.cli.common import pass_config
from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, JobTimeout

_api_option = click.option("--api", type=click.Choice(["auto", "alsa", "jack", "coremidi", "windows_mm"]),
                           default=None, help="MIDI backend (default: midi.api from the config).")


@click.group("midi")
def midi_group() -> None:
    """MIDI ports, controller mapping and learn (the server reads the same mapping file).

    The bridge's virtual port is called grym-bridge (midi.port_name). Windows has no
    virtual ports: create one with loopMIDI and list it in midi.inputs / midi.outputs.
    """


def known_addresses() -> list[str]:
    """Every OSC address the server registers (a mapping may only name these)."""
    from grym_bridge.api import all_properties, all_routes

    out = [r.address for r in all_routes()]
    for prop in all_properties():
        out += [f"/grym/{prop.domain}/start_listen/{prop.name}", f"/grym/{prop.domain}/stop_listen/{prop.name}"]
    return out


def _mapping_path(config: Config, mapping: str | None) -> Path:
    if mapping:
        return Path(mapping)
    return Path(config.midi.mapping).expanduser() if config.midi.mapping else config.data_dir / "midi_mapping.toml"


@midi_group.command("ports")
@_api_option
@pass_config
def ports_command(config: Config, api: str | None) -> None:
    """List the MIDI input and output ports the backend sees."""
    from grym_bridge.transports.midi.ports import list_ports

    listing = list_ports(api or config.midi.api)
    click.echo(f"api: {listing.api}")
    for title, names in (("inputs", listing.inputs), ("outputs", listing.outputs)):
        click.echo(f"{title}:" + ("" if names else " (none)"))
        for name in names:
            click.echo(f"  {name}")


@midi_group.command("learn")
@click.argument("target")
@click.option("--args", "args_json", default="", help="JSON list of the request's arguments, e.g. '[\"$preset\"]'.")
@click.option("--options", "options_json", default="", help="JSON object of the request's options, e.g. '{\"bars\": 4}'.")
@click.option("--mapping", type=click.Path(dir_okay=False), default=None, help="Mapping file (default: midi.mapping).")
@click.option("--input", "inputs", multiple=True, help="Listen to this input port too (repeatable; default midi.inputs).")
@click.option("--timeout", type=float, default=None, help="Seconds to wait (default midi.learn_timeout_s).")
@_api_option
@pass_config
def learn_command(config: Config, target: str, args_json: str, options_json: str, mapping: str | None,
                  inputs: tuple[str, ...], timeout: float | None, api: str | None) -> None:
    """Bind the next note, CC or program change to TARGET (an address such as /grym/compose/drums, or
    preset_next / preset_prev) and append it to the mapping file.

    Stop `grym serve` first if it holds the same hardware port; the virtual grym-bridge port works either way.
    """
    from grym_bridge.transports.midi.mapping import append_binding
    from grym_bridge.transports.midi.ports import open_ports
    from grym_bridge.transports.midi.transport import decode, learned_binding

    if target.startswith("/grym/") and target not in known_addresses():
        raise BadRequest(f"cannot learn {target!r}: no such address (see the README's OSC tables)")
    try:
        args = json.loads(args_json) if args_json else []
        options = json.loads(options_json) if options_json else {}
    except json.JSONDecodeError as exc:
        raise BadRequest(f"--args and --options must be JSON: {exc.msg}") from None
    if not isinstance(args, list) or not isinstance(options, dict):
        raise BadRequest("--args must be a JSON list and --options a JSON object")
    learned_binding(_probe_event(), target, args, options)  # a bad target fails before any port opens
    path = _mapping_path(config, mapping)
    c = config.midi
    events: queue.Queue = queue.Queue()
    ports = open_ports(api or c.api, c.port_name, c.virtual, list(inputs) or c.inputs, [], events.put)
    try:
        names = ", ".join(p.name for p in ports.inputs)
        click.echo(f"listening on {names}: press a pad, turn a knob or send a program change...", err=True)
        wait = timeout or c.learn_timeout_s
        deadline = time.monotonic() + wait
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise JobTimeout(f"no MIDI control moved in {wait:g} s; run `grym midi ports` to check the "
                                 "controller is connected to the grym-bridge port")
            try:
                event = decode(events.get(timeout=remaining))
            except queue.Empty:
                continue
            if event is not None and (event.pressed or event.kind == "cc"):
                break
    finally:
        ports.close()
    binding = append_binding(path, learned_binding(event, target, args, options),
                             comment=f"learned {time.strftime('%Y-%m-%d %H:%M')}")
    click.echo(f"bound {event.kind} {event.number} (channel {event.channel + 1}) -> {target} in {path}:{binding.line}")


def _probe_event() -> Any:
    from grym_bridge.transports.midi.transport import ControlEvent

    return ControlEvent("note", 0, 0, 0, True)


@midi_group.command("check")
@click.argument("mapping", required=False, type=click.Path(dir_okay=False))
@pass_config
def check_command(config: Config, mapping: str | None) -> None:
    """Check a mapping file (default: midi.mapping) and list its bindings; an error names the line."""
    from grym_bridge.transports.midi.mapping import load_mapping

    path = _mapping_path(config, mapping)
    if not path.is_file():
        raise BadRequest(f"mapping file {path} does not exist; start from examples/midi_mapping.toml")
    m = load_mapping(path, known_addresses())
    click.echo(f"{path}: {len(m.bindings)} binding(s), {len(m.presets)} preset(s)")
    for b in m.bindings:
        channel = "any" if b.channel is None else b.channel + 1
        click.echo(f"  line {b.line}: {b.kind} {b.number} ch {channel} -> {b.target} {list(b.args) or ''}".rstrip())


@midi_group.command("play")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--output", "outputs", multiple=True, help="Play to this output port (default: the virtual port).")
@_api_option
@pass_config
def play_command(config: Config, path: str, outputs: tuple[str, ...], api: str | None) -> None:
    """Play a .mid file out of the grym-bridge port (or --output ports) in time."""
    from grym_bridge.compose import read_clip
    from grym_bridge.transports.midi.player import ClipPlayer
    from grym_bridge.transports.midi.ports import open_ports

    clip = read_clip(Path(path))
    c = config.midi
    ports = open_ports(api or c.api, c.port_name, c.virtual and not outputs, [], list(outputs) or c.outputs, None)
    try:
        player = ClipPlayer(lambda msg: [p.send(msg) for p in ports.outputs])
        length = player.play(clip)
        click.echo(f"playing {path}: {length:.1f} s at {clip.tempo:g} BPM", err=True)
        try:
            while player.playing:
                time.sleep(0.05)
        except KeyboardInterrupt:
            player.stop()
    finally:
        ports.close()


commands = [midi_group]
