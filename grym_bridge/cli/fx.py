"""`grym suggest`, `grym render`, `grym mix`: effect suggestions, renders and mix recommendations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from grym_bridge.cli.common import echo_json, pass_config
from grym_bridge.cli.progress import progress_bar
from grym_bridge.config import Config

_TARGET_HELP = ("Loudness target: streaming (-14 LUFS), club (-8), broadcast (-23, EBU R128), podcast (-16), "
                "a number of LUFS, or none. Default: fx.default_target in the config; with --reference, the "
                "reference's loudness.")


@click.command("suggest")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--style", default=None, help="warm, bright, dark, punchy, wide, airy or lofi.")
@click.option("--target", default=None, help=_TARGET_HELP)
@click.option("--reference", type=click.Path(dir_okay=False), default=None,
              help="A reference track whose spectrum and loudness to match.")
@click.option("--map", "daw", type=click.Choice(["reaper", "ableton"]), default=None,
              help="Also show the chain as this DAW's own devices.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the suggestion JSON here (feed it to `grym render --chain`).")
@click.option("--json", "as_json", is_flag=True, help="Print the suggestion as JSON (chain, reasons, measurements).")
@pass_config
def suggest_command(config: Config, file: str, style: str | None, target: str | None, reference: str | None,
                    daw: str | None, output: str | None, as_json: bool) -> None:
    """Suggest an effect chain for FILE, with the measured reason for every move.

    Finds rumble, mud, harshness, dullness, too much or too little dynamics and
    stereo problems, adds the --style and --reference moves, and fits make-up
    gain and a true-peak limiter to the --target on the clip itself.
    """
    from grym_bridge.fx import FxService
    from grym_bridge.results import dumps, to_jsonable

    fx = FxService(config)
    with progress_bar("analysing", enabled=not as_json, tty_only=True, show_message=False) as progress:
        result = fx.suggest(file, style=style, target=target, reference=reference, progress=progress)
    mapping = fx.map(result.chain_spec(), daw) if daw else None
    if output:
        Path(output).write_text(dumps(result, indent=2) + "\n", encoding="utf-8")
    if as_json:
        doc = to_jsonable(result)
        if mapping is not None:
            doc["daw"] = to_jsonable(mapping)
        echo_json(doc)
        return
    if not result.reasons:
        click.echo("no moves: the clip is within every target")
    for reason in result.reasons:
        where = f" [chain {', '.join(map(str, reason.plugins))}]" if reason.plugins else " [advice]"
        click.echo(f"- {reason.problem}: {reason.message}{where}")
    click.echo("chain:")
    for i, entry in enumerate(result.chain):
        params = ", ".join(f"{k}={v}" for k, v in entry["params"].items())
        mix = f" (mix {entry['mix']:g})" if "mix" in entry else ""
        click.echo(f"  {i}. {entry['plugin']}({params}){mix}")
    p = result.predicted
    if p:
        click.echo(f"on this clip the chain gives {p.get('lufs', float('nan')):.1f} LUFS, true peak "
                   f"{p.get('true_peak_dbtp', float('nan')):.1f} dBTP, loudness range "
                   f"{p.get('loudness_range_lu', float('nan')):.1f} LU")
    if mapping is not None:
        click.echo(f"as {daw} devices:")
        for move in mapping.devices:
            params = ", ".join(f"{q.name}={q.value}{(' ' + q.unit) if q.unit else ''}" for q in move.params)
            click.echo(f"  {move.device or '(no stock device)'}: {params or move.note}")
    if output:
        click.echo(f"wrote {output}")


def _list_plugins(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """Print every effect a chain may name, with parameter ranges, and the VST3 plug-ins installed."""
    if not value or ctx.resilient_parsing:
        return
    from plugin_host import catalog_text, scan, standard_folders

    click.echo(catalog_text())
    entries = scan()
    where = ", ".join(str(f) for f in standard_folders())
    click.echo(f"\nVST3 plug-ins in {where}: {len(entries) or 'none'}")
    for entry in entries:
        if entry.ok:
            for name, params in entry.parameters.items():
                click.echo(f"  {entry.path} [{name}]: {', '.join(p.name for p in params[:12])}"
                           f"{' ...' if len(params) > 12 else ''}")
        else:
            click.echo(f"  {entry.path}: cannot be loaded ({entry.error})")
    ctx.exit(0)


@click.command("render")
@click.option("--list-plugins", is_flag=True, is_eager=True, expose_value=False, callback=_list_plugins,
              help="List the effects a chain may use (with parameter ranges) and the installed VST3s, then exit.")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--chain", "chain", required=True,
              help="Chain JSON file (a `grym suggest -o` file works), or the JSON itself.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output file (.wav, .flac, .aiff). Default: the data folder's renders/.")
@click.option("--ab", is_flag=True, help="Also write the render matched to the original's loudness (a fair A/B).")
@click.option("--format", "sample_format", type=click.Choice(["pcm16", "pcm24", "float"]), default=None,
              help="Sample format of the file. Default: the source's (16-bit gets TPDF dither).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_config
def render_command(config: Config, file: str, chain: str, output: str | None, ab: bool, sample_format: str | None,
                   as_json: bool) -> None:
    """Render FILE through a chain of pedalboard effects, in blocks, keeping effect tails.

    A failed render leaves no partial file. Each render gets a .json sidecar
    with its chain, source, time and versions.
    """
    from grym_bridge.fx import FxService

    with progress_bar("rendering", enabled=not as_json, tty_only=True, show_message=False) as progress:
        subtype = {"pcm16": "PCM_16", "pcm24": "PCM_24", "float": "FLOAT"}.get(sample_format or "")
        result = FxService(config).render(file, chain, output=output, ab=ab, progress=progress, subtype=subtype)
    if as_json:
        echo_json(result)
        return
    click.echo(f"wrote {result.path} ({result.subtype}, {result.output_frames / result.sample_rate:.2f} s, tail "
               f"{result.tail_s:.2f} s, {result.seconds:.2f} s to render)")
    if result.clipped_samples:
        click.echo(f"  {result.clipped_samples} samples were over full scale and clipped: lower the chain's gain")
    if result.ab is not None:
        click.echo(f"A/B: {result.ab.a_path} (A) and {result.ab.b_path} (B, {result.ab.gain_db:+.1f} dB to "
                   f"{result.ab.a_lufs:.1f} LUFS)")
        if result.ab.note:
            click.echo(f"  {result.ab.note}")


@click.command("mix")
@click.argument("stems", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--headroom", type=click.FloatRange(0, 30), default=None,
              help="dB below 0 dBTP the summed stems should peak (default: fx.mix_headroom_db).")
@click.option("--json", "as_json", is_flag=True, help="Print the recommendations as JSON.")
@pass_config
def mix_command(config: Config, stems: tuple[str, ...], headroom: float | None, as_json: bool) -> None:
    """Mix recommendations for several STEMS: gain staging, masking EQ, pan and width."""
    from grym_bridge.fx import FxService

    with progress_bar("measuring", enabled=not as_json, tty_only=True, show_message=False) as progress:
        result = FxService(config).mix(list(stems), headroom_db=headroom, progress=progress)
    if as_json:
        echo_json(result)
        return
    for reason in result.reasons:
        click.echo(f"- {reason.message}")
    for stem in result.stems:
        pan = "C" if stem.pan == 0 else f"{abs(stem.pan) * 100:.0f}{'L' if stem.pan < 0 else 'R'}"
        click.echo(f"{stem.name} ({stem.role}): gain {stem.gain_db:+.1f} dB, pan {pan}, width "
                   f"{stem.width_percent:.0f} %")
        for reason in stem.reasons:
            if reason.problem != "pan":
                click.echo(f"    {reason.problem}: {reason.message}")


commands: list[Any] = [suggest_command, render_command, mix_command]
