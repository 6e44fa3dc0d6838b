"""`python -m grym_bridge` and the `grym` console script.

`grym call ...` is dispatched here before click and the CLI's command tree are
imported: REAPER's scripts start it for every request, and a shell loop may
too, so it must start in tens of milliseconds (bench/call.py measures it
against `grym --version`). Everything else goes to the click CLI.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point: the fast path for `call`, else the full CLI."""
    if sys.argv[1:2] == ["call"]:
        from grym_bridge.call import main as call_main

        sys.exit(call_main(sys.argv[2:]))
    from grym_bridge.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
