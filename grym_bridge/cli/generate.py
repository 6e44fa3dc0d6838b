"""`grym generate`: text to audio with AudioLDM / AudioLDM 2, conformed to bars, tempo and loudness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from grym_bridge.cli.common import echo_json, pass_config
from grym_bridge.cli.progress import progress_bar
from grym_bridge.config import Config
from grym_bridge.paths import ensure_data_dir


def open_remember(config: Config, enabled: bool) -> tuple[Any, Any]:
    """(memory store or None, remember hook or None): generated clips go to the feature memory when it opens."""
    if not enabled:
        return None, None
    from grym_bridge.errors import GrymError
    from grym_bridge.generate.memory_link import rememberer
    from grym_bridge.memory import open_memory

    try:
        memory = open_memory(config)
    except GrymError as exc:
        click.echo(f"warning: not remembering the clips: {exc.message}", err=True)
        return None, None
    return memory, rememberer(memory, config)


@click.command("generate")
@click.argument("prompt")
@click.option("-d", "--duration", type=float, default=None, help="Seconds of audio (default 8; not with --bars).")
@click.option("--bars", type=int, default=None, help="Whole bars at the tempo; makes a seamless loop.")
@click.option("--tempo", "--bpm", "tempo", type=float, default=None, help="BPM for --bars (default: generate.tempo_bpm).")
@click.option("--seed", type=int, default=None, help="Same seed, same audio (default: random, printed).")
@click.option("-n", "--variations", type=int, default=1, show_default=True, help="Clips to make (seeds S, S+1, ...).")
@click.option("--model", default=None, help="Model id (default: models.default_model; see `grym models list`).")
@click.option("--steps", type=int, default=None, help="Denoising steps (default: the model's fast default).")
@click.option("--guidance", type=float, default=None, help="How closely to follow the prompt (default: the model's).")
@click.option("--negative", default=None, help="What to avoid (default: 'low quality, distorted, noise').")
@click.option("--scheduler", default="dpm++", show_default=True, help="dpm++, ddim, euler, pndm or model.")
@click.option("--loop/--one-shot", default=None, help="Crossfaded loop point, or fades (default: loop with --bars).")
@click.option("--memory-mode", default=None, help="full, model_offload, sequential, low_vram or auto.")
@click.option("--mono", is_flag=True, help="Write mono files (default: generate.channels).")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the files (default: the data folder's renders/generated/).")
@click.option("--no-remember", is_flag=True, help="Do not store the clips in the feature memory.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_config
def generate_command(config: Config, prompt: str, duration: float | None, bars: int | None, tempo: float | None,
                     seed: int | None, variations: int, model: str | None, steps: int | None, guidance: float | None,
                     negative: str | None, scheduler: str, loop: bool | None, memory_mode: str | None, mono: bool,
                     output_dir: str | None, no_remember: bool, as_json: bool) -> None:
    """Generate audio from PROMPT, e.g. grym generate "dusty lofi drum loop" --bars 4 --tempo 86.

    The model's weights must be on this machine (`grym models pull ID`).
    Each file is written with a .json sidecar of its provenance (model,
    prompt, seed, steps, ...) and, unless --no-remember, stored in the
    feature memory. AudioLDM and AudioLDM 2 weights are licensed for
    non-commercial use only.
    """
    from grym_bridge.generate.options import GenerateOptions, resolve
    from grym_bridge.generate.runner import TextToAudio

    ensure_data_dir(config)
    options = GenerateOptions(
        prompt=prompt, negative_prompt=negative, duration_s=duration, bars=bars, tempo_bpm=tempo, seed=seed,
        steps=steps, guidance=guidance, scheduler=scheduler, variations=variations, model=model, loop=loop,
        memory_mode=memory_mode, channels=1 if mono else None,
    )
    resolved = resolve(options, config)  # bad options fail here, before any model loads
    options.seed = resolved.seed
    memory, remember = open_remember(config, not no_remember)
    try:
        with progress_bar(f"generating {resolved.seconds:.1f} s with {resolved.model.id}", show_eta=True) as update:
            result = TextToAudio(config, remember=remember).generate(
                options, update, out_dir=Path(output_dir) if output_dir else None
            )
    finally:
        if memory is not None:
            memory.close()
    if as_json:
        echo_json(result)
        return
    for f in result.files:
        click.echo(f"wrote {f.path} ({f.duration_s:.2f} s, seed {f.seed}, {f.lufs:.1f} LUFS)")
    click.echo(f"{result.model} on {result.device} ({result.memory_mode}), {result.steps} steps "
               f"{result.scheduler}, {result.seconds:.1f} s")


commands = [generate_command]
