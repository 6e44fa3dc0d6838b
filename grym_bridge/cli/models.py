"""`grym models list|pull|verify|remove`: the neural models grym knows, and their weights on this machine."""

from __future__ import annotations

import time

import click

from grym_bridge.cli.common import echo_json, pass_config
from grym_bridge.config import Config


@click.group("models")
def models_group() -> None:
    """The text-to-audio models grym knows and where their weights are.

    Weights are looked up in the folders of models.dirs (<dir>/<org>/<name>)
    and then in the Hugging Face cache. AudioLDM and AudioLDM 2 are licensed
    CC-BY-NC-SA 4.0: non-commercial use only.
    """


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_config
def list_command(config: Config, as_json: bool) -> None:
    """Known models: present or not, size on disk, parameters, sample rate."""
    from grym_bridge.models.registry import ModelRegistry

    rows = ModelRegistry(config).list()
    if as_json:
        echo_json(rows)
        return
    for s in rows:
        where = f"{s.size_on_disk_gb:.2f} GB at {s.location}" if s.present else f"not here ({s.download_gb:.1f} GB to pull)"
        default = " (default)" if s.id == config.models.default_model else ""
        click.echo(f"{s.id}{default}: {s.task}, {s.params_m}M params, {s.sample_rate} Hz; {where}")


@models_group.command("pull")
@click.argument("model_id")
@click.option("--revision", default=None, help="A branch, tag or commit of the Hub repository.")
@pass_config
def pull_command(config: Config, model_id: str, revision: str | None) -> None:
    """Download MODEL_ID's safetensors weights from the Hugging Face Hub into its cache (needs the network)."""
    from grym_bridge.models.hub import pull
    from grym_bridge.models.registry import ModelRegistry, get_spec

    spec = get_spec(model_id)
    click.echo(f"pulling {spec.id} (about {spec.download_gb:.1f} GB; license: {spec.license})", err=True)
    folder = pull(ModelRegistry(config), spec.id, revision=revision)
    click.echo(f"{spec.id} is in {folder}")


@models_group.command("verify")
@click.argument("model_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_config
def verify_command(config: Config, model_id: str, as_json: bool) -> None:
    """Load MODEL_ID and generate one second of audio with it (nothing is written)."""
    import numpy as np

    from grym_bridge.generate.options import GenerateOptions, resolve
    from grym_bridge.generate.runner import TextToAudio, run_pipeline
    from grym_bridge.models.audioldm import set_scheduler

    t2a = TextToAudio(config)
    started = time.monotonic()
    loaded = t2a.load(model_id)
    load_s = time.monotonic() - started
    opts = resolve(GenerateOptions(prompt="a short test tone", duration_s=1.0, seed=0, model=model_id, steps=4), config)
    set_scheduler(loaded, opts.scheduler)
    started = time.monotonic()
    audio = run_pipeline(loaded, opts, seed=0)
    report = {
        "model": model_id, "ok": bool(audio.size) and bool(np.isfinite(audio).all()),
        "device": loaded.device, "dtype": loaded.dtype, "memory_mode": loaded.memory_mode,
        "sample_rate": loaded.sample_rate, "samples": int(audio.size),
        "load_s": round(load_s, 2), "generate_s": round(time.monotonic() - started, 2), "folder": str(loaded.folder),
    }
    if as_json:
        echo_json(report)
        return
    click.echo(f"{model_id}: ok, {report['samples']} samples at {report['sample_rate']} Hz on {loaded.device} "
               f"({loaded.dtype}, {loaded.memory_mode}); loaded in {report['load_s']} s, "
               f"generated in {report['generate_s']} s")


@models_group.command("remove")
@click.argument("model_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_config
def remove_command(config: Config, model_id: str, yes: bool) -> None:
    """Delete MODEL_ID's weights from models.dirs and the Hugging Face cache."""
    from grym_bridge.models.registry import ModelRegistry

    registry = ModelRegistry(config)
    status = registry.status(model_id, with_size=False)
    if status.present and not yes:
        click.confirm(f"delete {model_id} from {status.location}?", abort=True)
    for path in registry.remove(model_id):
        click.echo(f"removed {path}")


commands = [models_group]
