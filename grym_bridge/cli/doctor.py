"""`grym doctor`: run the self-test and say what works."""

from __future__ import annotations

import sys

import click

from grym_bridge.cli.common import echo_json, pass_config
from grym_bridge.config import Config


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_config
def doctor(config: Config, as_json: bool) -> None:
    """Check each capability: data directory, store, a pedalboard render, MIDI backends, models.

    Exits 1 when a check fails.
    """
    from grym_bridge.orchestrator.selftest import run_selftest
    from grym_bridge.transports.midi import midi_status

    def progress(fraction: float, message: str) -> None:
        if not as_json and fraction < 1.0:
            click.echo(f"[{fraction * 100:3.0f}%] {message}...", err=True)

    report = run_selftest(config, progress=progress, probes={"midi": midi_status})
    if as_json:
        echo_json(report)
    else:
        for check in report.checks:
            click.echo(f"{'--  ' if check.skipped else 'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
        click.echo(report.summary())
    sys.exit(0 if report.ok else 1)


commands = [doctor]
