"""Typed values from what clients, config files and planners send: one set of rules for all of them.

The config (TOML, environment, flags), the api's route arguments, the MIDI
mapping file and orchestrator plans all convert through these, so they
accept the same words: `1/true/yes/on` and `0/false/no/off` for booleans
(any case), 3.0 for 3 where a whole number is meant, numeric text, and never
a boolean where a number is meant, NaN or infinity.

Each function raises `ValueError` with a short "expected ..." phrase; callers
wrap it in their own error (BadRequest, ConfigError, MappingError) naming
where the value came from.
"""

from __future__ import annotations

import math
from typing import Any

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
#: How each type is named in error messages.
EXPECTED = {bool: "true or false (1/0, yes/no, on/off)", int: "an integer", float: "a number", str: "a string"}


def to_bool(value: Any) -> bool:
    """True/False from a bool, 0/1 (int or float) or one of the words above."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
    raise ValueError(EXPECTED[bool])


def to_int(value: Any) -> int:
    """An int from an int, a whole float (Max sends 3.0) or integer text; never from a bool."""
    if isinstance(value, bool):
        raise ValueError(EXPECTED[int])
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(EXPECTED[int])


def to_float(value: Any) -> float:
    """A finite float from a number or numeric text; never from a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(EXPECTED[float])
    try:
        result = float(value)
    except ValueError:
        raise ValueError(EXPECTED[float]) from None
    if not math.isfinite(result):
        raise ValueError(EXPECTED[float])
    return result


def to_str(value: Any) -> str:
    """Text; a bare number becomes its text (Max sends 4 where a symbol was meant)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(EXPECTED[str])


CONVERTERS = {bool: to_bool, int: to_int, float: to_float, str: to_str}


def coerce(value: Any, typ: type) -> Any:
    """`value` as `typ` (bool, int, float or str) by the rules above, or ValueError saying what was expected."""
    return CONVERTERS[typ](value)
