"""Errors every layer raises and every transport knows how to report.

A `GrymError` carries a short machine-readable `code` (what a client switches
on) and a message for a person (what was wrong and what to do). Transports
turn it into `/grym/error <address> <req_id> <code> <message>` or the RPC and
CLI equivalents; anything that is not a `GrymError` is reported as
`internal` and logged with its traceback.
"""

from __future__ import annotations

import errno


class GrymError(Exception):
    """Base class: an error with a stable code and a message for the user."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class BadRequest(GrymError):
    """The request itself is wrong: a missing or mistyped argument, a bad option."""

    code = "bad_args"


class UnknownAddress(GrymError):
    """No handler is registered for the address (or command, or step)."""

    code = "unknown_address"


class MessageTooLarge(GrymError):
    code = "too_large"


class MalformedMessage(GrymError):
    code = "malformed"


class NotFound(GrymError):
    """A clip, job, model or file the request names does not exist."""

    code = "not_found"


class PathNotAllowed(GrymError):
    """A client-supplied path lies outside the configured allowed roots."""

    code = "path_not_allowed"


class AudioFileError(GrymError):
    """An audio file cannot be used: unreadable, empty, truncated, NaN, too long."""

    code = "bad_audio"


class Busy(GrymError):
    """The server cannot take the work now; the client may retry later."""

    code = "busy"

    def __init__(self, message: str, *, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Cancelled(GrymError):
    """The work was cancelled (by the client, a timeout or shutdown)."""

    code = "cancelled"


class JobTimeout(GrymError):
    code = "timeout"


class ModelUnavailable(GrymError):
    """A neural model's weights or libraries are missing; the message says how to get them."""

    code = "model_unavailable"


class DiskFull(GrymError):
    """A write failed because the disk (or the user's quota) is full; nothing half-written was kept."""

    code = "disk_full"


class ConfigError(GrymError):
    """A bad configuration file, key or value; the message names the key and the file."""

    code = "config"


_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_disk_full(exc: BaseException) -> bool:
    """Whether `exc` (an OSError, SQLite's "database or disk is full", libsndfile's write error) means no space."""
    if isinstance(exc, DiskFull):
        return True
    if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    if code == 13:  # SQLITE_FULL
        return True
    text = str(exc).lower()
    return "no space left" in text or "disk is full" in text or "disk quota exceeded" in text


def disk_full(exc: BaseException, what: str = "") -> DiskFull:
    """`exc` as a `DiskFull` naming what could not be written and what to do."""
    if isinstance(exc, DiskFull):
        return exc
    where = f" {what}" if what else ""
    filename = getattr(exc, "filename", None)
    named = f" ({filename})" if filename else ""
    return DiskFull(f"the disk is full: could not write{where}{named}; free some space (or point data_dir at a "
                    "larger disk) and send the request again")


def error_code(exc: BaseException) -> str:
    """The code a transport reports for `exc` (`internal` for unexpected exceptions, `disk_full` for no space)."""
    if isinstance(exc, GrymError):
        return exc.code
    return "disk_full" if is_disk_full(exc) else "internal"


def error_message(exc: BaseException) -> str:
    """A one-line message for `exc`, never empty."""
    if isinstance(exc, GrymError):
        return exc.message
    if is_disk_full(exc):
        return disk_full(exc).message
    text = str(exc) or exc.__class__.__name__
    return f"internal error: {exc.__class__.__name__}: {text}"
