"""OSC address patterns (OSC 1.0 `?` `*` `[abc]` `[a-z]` `[!abc]` `{foo,bar}`, and OSC 1.1's `//`).

A request sent to a pattern runs every method whose address matches it;
each match answers on its own address and echoes the one request id, so a
client tells the replies apart by their address. A pattern is translated to
a regular expression once and cached (a bounded cache: a client sending a
new pattern each time costs a compile, never memory).
"""

from __future__ import annotations

import re
from functools import lru_cache

from grym_bridge.errors import MalformedMessage

#: Characters that make an address a pattern (`//` too, checked separately).
PATTERN_CHARS = frozenset("?*[]{}")


def is_pattern(address: str) -> bool:
    """True when `address` holds OSC pattern syntax (rather than naming one method)."""
    return "//" in address or not PATTERN_CHARS.isdisjoint(address)


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression for one OSC address pattern, or MalformedMessage naming what is wrong."""
    out, i, n = ["^"], 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if pattern.startswith("//", i):
            out.append("/(?:[^/]+/)*")  # OSC 1.1: any number of containers, including none
            i += 2
            continue
        if ch == "?":
            out.append("[^/]")
        elif ch == "*":
            out.append("[^/]*")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise MalformedMessage(f"address pattern {pattern!r}: '[' without ']'")
            body = pattern[i + 1:end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            if not body:
                raise MalformedMessage(f"address pattern {pattern!r}: empty '[]'")
            # A '-' between two characters is a range; anywhere else it is itself.
            parts = []
            j = 0
            while j < len(body):
                if j + 2 < len(body) and body[j + 1] == "-":
                    lo, hi = body[j], body[j + 2]
                    if lo > hi:
                        raise MalformedMessage(f"address pattern {pattern!r}: range {lo}-{hi} runs backwards")
                    parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
                    j += 3
                else:
                    parts.append(re.escape(body[j]))
                    j += 1
            out.append(("[^/" if negate else "(?:(?!/)[") + "".join(parts) + ("]" if negate else "])"))
            i = end + 1
            continue
        elif ch == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                raise MalformedMessage(f"address pattern {pattern!r}: '{{' without '}}'")
            words = pattern[i + 1:end].split(",")
            out.append("(?:" + "|".join(re.escape(w) for w in words) + ")")
            i = end + 1
            continue
        elif ch in "]}":
            raise MalformedMessage(f"address pattern {pattern!r}: {ch!r} without its opening bracket")
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return re.compile("".join(out))
