"""The CLI's one progress bar: a click bar on stderr fed by a capability's `progress(fraction, message)`."""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator

import click

Progress = Callable[[float, str], None]


def _quiet(fraction: float, message: str) -> None:
    """Progress nobody watches."""


@contextlib.contextmanager
def progress_bar(label: str, *, enabled: bool = True, tty_only: bool = False, show_eta: bool = False,
                 show_message: bool = True) -> Iterator[Progress]:
    """Yield `progress(fraction, message)` drawing a bar on stderr; the bar is closed when the block ends.

    Off (a callback that does nothing) when not `enabled` (JSON output) or,
    with `tty_only`, when stderr is not a terminal. Fractions are clamped to
    0..1 and the bar never moves back.
    """
    if not enabled or (tty_only and not sys.stderr.isatty()):
        yield _quiet
        return
    with click.progressbar(length=1000, label=label, file=sys.stderr, show_eta=show_eta,
                           item_show_func=(lambda m: m) if show_message else None) as bar:
        done = [0]

        def update(fraction: float, message: str = "") -> None:
            step = int(max(0.0, min(1.0, fraction)) * 1000) - done[0]
            if step > 0:
                done[0] += step
                bar.update(step, message if show_message else None)

        yield update
