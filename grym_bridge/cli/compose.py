"""`grym compose`: chords, melody, bass, drums and continuation as .mid files."""

from __future__ import annotations

from typing import Any, Callable

import click

from grym_bridge.cli.common import echo_json, pass_config
from grym_bridge.config import Config
from grym_bridge.paths import ensure_data_dir


@click.group("compose")
def compose_group() -> None:
    """Compose MIDI in a key, style and tempo; deterministic by --seed.

    Chords, melody and bass made with the same --seed, key, style and bars
    fit together. Without -o the file goes to the data folder's renders/midi/.
    """


def _common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--key", default=None, help="Key and mode, e.g. 'A minor', 'F# dorian' (default C major; "
                     "for continue: the source clip's key)."),
        click.option("--style", default="pop", show_default=True,
                     help="pop, jazz, lofi, house, cinematic or trap (see `grym compose styles`)."),
        click.option("--bars", default=8, show_default=True, type=click.IntRange(1, 256), help="Length in bars."),
        click.option("--tempo", type=float, default=None, help="BPM written to the file (default: the style's)."),
        click.option("--time-signature", "--meter", "time_signature", default=None, help="e.g. 4/4, 3/4, 6/8 (default 4/4)."),
        click.option("--seed", type=click.IntRange(0), default=None, help="Same seed, same notes (default: random, printed)."),
        click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="The .mid file to write."),
        click.option("--json", "as_json", is_flag=True, help="Print the full result (with every note) as JSON."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _run(config: Config, kind: str, output: str | None, as_json: bool, **fields: Any) -> None:
    from pathlib import Path

    from grym_bridge.compose import ComposeRequest, compose

    ensure_data_dir(config)
    if "learn_from" in fields:
        fields["learn_from"] = list(fields["learn_from"])
    result = compose(ComposeRequest(kind, **fields), Path(output) if output else None, renders_dir=config.renders_dir())
    if as_json:
        echo_json(result)
        return
    what = f"{result.key}, " if result.key else ""
    click.echo(f"wrote {result.path}: {result.note_count} notes, {what}{result.style}, {result.bars} bars of "
               f"{result.time_signature} at {result.tempo:g} BPM (seed {result.seed})")
    if result.chords:
        click.echo("chords: " + " ".join(result.chords))


def _make(kind: str, doc: str, extra: list[Callable[..., Any]] = ()) -> click.Command:  # type: ignore[assignment]
    @pass_config
    def command(config: Config, output: str | None, as_json: bool, **fields: Any) -> None:
        _run(config, kind, output, as_json, **fields)

    command.__doc__ = doc
    for option in extra:
        command = option(command)
    return compose_group.command(kind)(_common_options(command))


_feel = [
    click.option("--swing", type=click.FloatRange(0, 1), default=None, help="0 straight .. 1 triplet (default: the style's)."),
    click.option("--humanize", type=click.FloatRange(0, 1), default=None, help="Timing and velocity looseness 0..1."),
]
_progression = click.option("--progression", default=None, help="Degrees or roman numerals, e.g. '1 5 6 4' or 'ii V I'.")

_make("chords", "A voice-led chord progression in the style's rhythm.", [_progression, *_feel])
_make("melody", "A melody over the style's chords (the same chords as `chords` with this seed).", [_progression, *_feel])
_make("bass", "A bassline on the chords' roots, thirds and fifths.", [_progression, *_feel])
_make("drums", "The style's drum pattern with fills, ghost notes, swing and humanize (GM channel 10).", _feel)
_make("continue", "Continue SOURCE (a .mid clip) by the note and rhythm transitions learned from it.",
      [click.argument("source", type=click.Path(exists=True, dir_okay=False)),
       click.option("--learn-from", "learn_from", multiple=True, type=click.Path(exists=True, dir_okay=False),
                    help="Another .mid clip of yours to learn from too (repeatable; weighs half the source).")])


@compose_group.command("styles")
def styles_command() -> None:
    """List the styles and what each sounds like."""
    from grym_bridge.compose import STYLES

    for style in STYLES.values():
        click.echo(f"{style.name:10} {style.tempo:5.0f} BPM  {style.description}")


commands = [compose_group]
