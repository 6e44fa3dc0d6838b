"""Log lines that a client can repeat at will, at most once per interval per kind, with a count.

Bad input is the client's problem, not the operator's: it gets an error on its
own channel, and the log gets one line per kind per interval (`server.log_interval_s`)
saying how many more there were, never a traceback. A flood of bad packets
therefore costs a few lines a minute, not megabytes.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable


class RateLimitedLog:
    """`warn(kind, message, *args)`: the first of a kind is logged; repeats within the interval are counted."""

    def __init__(self, logger: logging.Logger, interval_s: Callable[[], float] | float = 60.0) -> None:
        self._log = logger
        self._interval = interval_s if callable(interval_s) else (lambda: float(interval_s))
        #: kind -> (when it was last logged, repeats since then)
        self._seen: dict[str, tuple[float, int]] = {}

    def warn(self, kind: str, message: str, *args: Any, level: int = logging.WARNING) -> bool:
        """Log `message` unless `kind` was logged within the interval; True when a line was written."""
        now = time.monotonic()
        last, repeats = self._seen.get(kind, (-float("inf"), 0))
        if now - last < self._interval():
            self._seen[kind] = (last, repeats + 1)
            return False
        if len(self._seen) > 1024:  # kinds are a fixed set in practice; never let them grow without bound
            self._seen.clear()
        self._seen[kind] = (now, 0)
        suffix = f" ({repeats} more like this in the last {now - last:.0f} s)" if repeats else ""
        self._log.log(level, message + suffix, *args)
        return True
