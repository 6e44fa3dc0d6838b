"""`grym models list|pull|verify|remove`: the neural models grym knows, and their weights on this machine."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from grym_bridge.cli.common import echo_json, pass_config
from grym_bridge.config import Config


@click.group("models")
def models_group() -> None:
    """The text-to-audio models grym knows and where their weights are.

    Weights are looked up in the folders of models.dirs (<dir>/<org>/<name>),
    then <data dir>/models, then the Hugging Face cache. Three ways to get
    them: pull (from the Hub), import (a folder or archive), fetch (from
    another bridge). AudioLDM and AudioLDM 2 are licensed
    CC-BY-NC-SA 4.0: non-commercial use only.
    """


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_config
def list_command(config: Config, as_json: bool) -> None:
    """Known models: present or not, where, size, dtype, verified or not, and what needs them."""
    from grym_bridge.models.registry import ModelRegistry

    rows = ModelRegistry(config).list(details=True)
    if as_json:
        echo_json(rows)
        return
    for s in rows:
        default = " (default)" if s.id == config.models.default_model else ""
        click.echo(f"{s.id}{default}: {s.task}, {s.params_m}M params, {s.sample_rate} Hz")
        if s.present:
            size = f"{s.size_on_disk_gb:.2f} GB" if s.size_on_disk_gb >= 0.1 else f"{s.size_on_disk_gb * 1024:.1f} MB"
            click.echo(f"  present: {s.location}, {size}, {s.dtype or 'unknown dtype'}, "
                       f"{s.verified}")
        else:
            click.echo(f"  not here: about {s.download_gb:.1f} GB (grym models pull / import / fetch)")
        click.echo(f"  needed by: {', '.join(s.used_by)}")


def _size_line(folder: Path) -> str:
    from grym_bridge.models.registry import GB, folder_size

    return f"{folder_size(folder) / GB:.2f} GB on disk"


@models_group.command("pull")
@click.argument("model_id")
@click.option("--revision", default=None, help="A branch, tag or commit of the Hub repository.")
@pass_config
def pull_command(config: Config, model_id: str, revision: str | None) -> None:
    """Download MODEL_ID's safetensors weights from the Hugging Face Hub into its cache (needs the network).

    Shows progress, resumes a download that was cut off (run it again), then
    re-hashes every weight file against the Hub's SHA-256.
    """
    from grym_bridge.models.hub import pull_and_verify
    from grym_bridge.models.registry import ModelRegistry, get_spec

    spec = get_spec(model_id)
    click.echo(f"pulling {spec.id} (about {spec.download_gb:.1f} GB; license: {spec.license})", err=True)
    folder, report = pull_and_verify(ModelRegistry(config), spec.id, revision=revision)
    click.echo(f"{spec.id} is in {folder} ({_size_line(folder)}); {report.checked} files verified against the "
               "Hub's hashes")


def _print_plan(plan: Any, verb: str, as_json: bool) -> None:
    if as_json:
        echo_json(plan.describe())
        return
    d = plan.describe()
    click.echo(f"{verb} {d['model']} from {d['from']} to {d['to']}: {d['files']} files, {d['size_gb']:.3f} GB, "
               f"{d['dtype']}; {d['hashes_carried']} files checked against hashes the source carried"
               + ("; replaces the copy there" if d["replaces"] else ""))
    if d["skipped"]:
        click.echo(f"  not copied: {', '.join(d['skipped'][:8])}" + (" ..." if len(d["skipped"]) > 8 else ""))


@models_group.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--model", "model_id", default=None, help="The model id, when the source does not say which it is.")
@click.option("--link", is_flag=True, help="Hard-link the files instead of copying them (same disk only).")
@click.option("--replace", is_flag=True, help="Replace a copy of the model already in the models folder.")
@click.option("--dry-run", is_flag=True, help="Check everything and say what would be imported; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_config
def import_command(config: Config, source: Path, model_id: str | None, link: bool, replace: bool, dry_run: bool,
                   as_json: bool) -> None:
    """Import weights from SOURCE: a diffusers folder, a Hugging Face cache folder, or a .tar/.zip of either.

    Checks that every component is there, in safetensors, matching its hashes,
    then places the model under the first of models.dirs (else <data dir>/models).
    """
    from grym_bridge.models.importer import import_model
    from grym_bridge.models.registry import ModelRegistry

    plan = import_model(ModelRegistry(config), source, model=model_id, replace=replace, link=link, dry_run=dry_run,
                        progress=lambda m: click.echo(m, err=True))
    _print_plan(plan, "would import" if dry_run else "imported", as_json)


@models_group.command("fetch")
@click.argument("model_id")
@click.option("--from", "host", required=True,
              help="The bridge that has the weights: HOST or HOST:PORT (its RPC port).")
@click.option("--token", default=None, help="That bridge's studio token (default: network.token, GRYM_NETWORK_TOKEN "
              "or this machine's token file).")
@click.option("--replace", is_flag=True, help="Replace a copy of the model already in the models folder.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_config
def fetch_command(config: Config, model_id: str, host: str, token: str | None, replace: bool, as_json: bool) -> None:
    """Copy MODEL_ID's weights from another bridge on the studio network (over its RPC port, with the token)."""
    import asyncio

    from grym_bridge.models.fetch import fetch_model
    from grym_bridge.models.registry import ModelRegistry, get_spec
    from grym_bridge.transports.auth import load_token
    from grym_bridge.transports.rpc.client import RpcClient

    spec = get_spec(model_id)
    address, rpc_port = _host_port(host, config.network.rpc_port)
    secret = token or load_token(config, create=False)

    async def run() -> Any:
        client = await RpcClient.connect(address, rpc_port, token=secret, client_name="grym models fetch")
        try:
            return await fetch_model(ModelRegistry(config), client, spec.id, origin=f"{address}:{rpc_port}",
                                     replace=replace, progress=lambda m: click.echo(m, err=True))
        finally:
            await client.close()

    _print_plan(asyncio.run(run()), "fetched", as_json)


def _host_port(text: str, default_port: int) -> tuple[str, int]:
    """HOST, HOST:PORT, [V6] or [V6]:PORT; a bare IPv6 address keeps the default port."""
    host, port = text.strip(), ""
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        port = rest.lstrip(":")
    elif host.count(":") == 1:
        host, port = host.split(":")
    if not host or (port and not port.isdigit()):
        raise click.BadParameter(f"{text!r}: give HOST or HOST:PORT", param_hint="--from")
    return host, int(port) if port else default_port


@models_group.command("verify")
@click.argument("model_id")
@click.option("--generate", "generate", is_flag=True, help="Also load it and generate one second of audio.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_config
def verify_command(config: Config, model_id: str, generate: bool, as_json: bool) -> None:
    """Re-hash MODEL_ID's files against its manifest (or the Hub's hashes); exit 1 when any is wrong."""
    from grym_bridge.models.registry import ModelRegistry
    from grym_bridge.models.verify import verify_folder

    registry = ModelRegistry(config)
    _spec, folder = registry.require(model_id)
    report = verify_folder(folder)
    registry.check_records().record(report)
    result: dict[str, Any] = {"model": model_id, "folder": str(folder), "ok": report.ok, "checked": report.checked,
                              "against": report.against, "problems": report.problems}
    if generate and report.ok:
        result["generate"] = _generate_one_second(config, model_id)
    if as_json:
        echo_json(result)
    else:
        state = "ok" if report.ok else "FAILED"
        click.echo(f"{model_id}: {state}, {report.checked} files checked against the {report.against} ({folder})")
        for problem in report.problems:
            click.echo(f"  {problem}")
        if "generate" in result:
            g = result["generate"]
            click.echo(f"  generated {g['samples']} samples at {g['sample_rate']} Hz on {g['device']} "
                       f"({g['dtype']}, {g['memory_mode']}); loaded in {g['load_s']} s, "
                       f"generated in {g['generate_s']} s")
    if not report.ok:
        raise SystemExit(1)


def _generate_one_second(config: Config, model_id: str) -> dict[str, Any]:
    """Load the model and generate one second (nothing is written)."""
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
    return {"ok": bool(audio.size) and bool(np.isfinite(audio).all()), "device": loaded.device, "dtype": loaded.dtype,
            "memory_mode": loaded.memory_mode, "sample_rate": loaded.sample_rate, "samples": int(audio.size),
            "load_s": round(load_s, 2), "generate_s": round(time.monotonic() - started, 2)}


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
