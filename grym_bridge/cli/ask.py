"""`grym ask "TEXT"`: do what the words say, from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from grym_bridge.cli.common import echo_json, pass_config
from grym_bridge.cli.progress import progress_bar
from grym_bridge.config import Config


@click.command()
@click.argument("text")
@click.option("--file", "-f", "file", type=click.Path(dir_okay=False), default=None,
              help="The clip the request is about (audio, or .mid to continue).")
@click.option("--session", default="default", show_default=True,
              help="Session whose context (tempo, key, time signature) applies; set it with /grym/session/set.")
@click.option("--json", "as_json", is_flag=True, help="Print {plan, result, explanation} as JSON.")
@click.option("--plan-only", is_flag=True, help="Show the plan without running it.")
@pass_config
def ask(config: Config, text: str, file: str | None, session: str, as_json: bool, plan_only: bool) -> None:
    """Plan and run a request in words, e.g. grym ask "make it darker and wider" --file loop.wav.

    The rule planner understands effect words (darker, brighter, warmer, punchier, wider, tighter,
    louder, quieter, airier, lofi, mono), problems (rumble, mud, boom, harsh, sibilant, thin, dull),
    destinations ("master it for spotify", club, broadcast, podcast), "generate ...", "find similar",
    "chords", "melody", "bassline", "drums" (with a style and tempo: "a lofi beat at 85"),
    "continue this", questions ("what key is this?") and verdicts ("remember this, it's a keeper",
    "rate it 4"). With orchestrator.planner = ollama or openai a
    local LLM plans, and the rules step in when it fails.
    """
    from grym_bridge.errors import AudioFileError
    from grym_bridge.orchestrator.chains import plan_dict
    from grym_bridge.app import build_services

    clip = None
    if file is not None:
        clip = Path(file).expanduser().resolve()
        if not clip.is_file():
            raise AudioFileError(f"{file}: no such file; give the path of an audio or .mid file")
    services = build_services(config, trust_paths=True)  # the user's own files, named on their own command line
    service = services.orchestrator
    plan = service.chains.route_task(text, path=clip, session_id=session)
    if plan_only:
        echo_json(plan_dict(plan)) if as_json else click.echo(plan.explanation)
        return
    with progress_bar("working") as progress:
        answer = service.chains.ask(text, path=clip, session_id=session, progress=progress, plan=plan)
    if as_json:
        echo_json(answer)
        return
    click.echo(answer.explanation)
    said = (answer.result.results.get("analyze") or {}).get("answer")
    if said:  # "what key is this?": the answer itself, in words
        click.echo(said)
    for path in answer.result.outputs:
        click.echo(f"  wrote {path}")
    matches = (answer.result.results.get("memory_lookup") or {}).get("matches")
    for m in matches or []:
        click.echo(f"  {m['score']:.3f}  {m['path']}")


commands = [ask]
