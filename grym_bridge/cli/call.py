"""`grym call`: the click face of `grym_bridge.call`, the standard-library client.

`grym call ...` normally never reaches this module: the console script
(`grym_bridge.__main__:main`) dispatches `call` before click and the command
tree are imported, so it starts fast. This command keeps `grym --help` and
`grym --data-dir D call ...` complete; its options are parsed by `grym_bridge.call`.
"""

from __future__ import annotations

import sys

import click


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                                 "help_option_names": []})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def call(argv: tuple[str, ...]) -> None:
    """Send one OSC request to a running bridge; print its reply or job events as JSON lines.

    grym call ADDRESS [ARGS...] [--out FILE.jsonl] [--host H] [--port P] [--args-file F.json]
    (`grym call --help` for every option). Exits 0 on a reply or a finished job, 1 on an error,
    3 when no server answers.
    """
    from grym_bridge.call import main

    sys.exit(main(list(argv)))


commands = [call]
