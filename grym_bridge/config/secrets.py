"""Settings that hold a secret (a database DSN's password) are shown with the secret hidden."""

from __future__ import annotations

import re
from typing import Any

_URL_PASSWORD = re.compile(r"^(?P<head>[a-z][a-z0-9+.-]*://[^:/@?#]*):[^@/?#]*@", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)[^&#]*", re.IGNORECASE)


def redact_dsn(dsn: str) -> str:
    """`dsn` with its password (URL, `key=value` or query form) replaced by `***`."""
    out = _URL_PASSWORD.sub(r"\g<head>:***@", dsn)
    out = _KV_PASSWORD.sub(r"\g<head>***", out)
    return _QUERY_PASSWORD.sub(r"\g<head>***", out)


def shown(key: str, value: Any) -> Any:
    """The value of setting `key` as it may be printed or logged."""
    if key.endswith("dsn") and isinstance(value, str):
        return redact_dsn(value)
    return value
