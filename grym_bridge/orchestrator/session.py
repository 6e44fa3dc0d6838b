"""Session context: what the DAW tells us about the session every chain works in.

The DAW (the Max device, a ReaScript) sends tempo, time signature, key,
sample rate, project and selected track with `/grym/session/set`; planners
and steps read them so a generated loop comes out at the session's tempo and
chords in its key. Values arrive from Max and REAPER as strings, ints or
floats, so each key has one coercion that accepts them all and says what it
wanted when it cannot.

Contexts are kept per session id (one per DAW project, by default "default")
and persisted through a small backend: the feature memory's session table
(`MemoryStore.save_session`), opened on first use.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from grym_bridge.errors import BadRequest

log = logging.getLogger(__name__)

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}
_KEY_RE = re.compile(
    r"^\s*([A-Ga-g])\s*([#b\u266f\u266d]|sharp|flat)?\s*"
    r"(m|min|minor|maj|major|dorian|aeolian|ionian)?\s*$",
    re.IGNORECASE,
)
_SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def normalize_key(text: str) -> str:
    """`'am'`, `'A min'`, `'Bb major'`, `'f#m'` -> `'A minor'`, `'A# major'`, `'F# minor'`.

    Raises `BadRequest` for anything that is not a key.
    """
    m = _KEY_RE.match(str(text))
    if not m:
        raise BadRequest(f"{text!r} is not a key; write it like 'A minor', 'F# major' or 'Bbm'")
    letter, accidental, mode = m.group(1).upper(), (m.group(2) or ""), (m.group(3) or "")
    accidental = {"\u266f": "#", "sharp": "#", "\u266d": "b", "flat": "b"}.get(accidental.lower(), accidental)
    note = letter + accidental
    note = _FLATS.get(note, note)
    if note not in NOTE_NAMES:  # E# and B#
        note = NOTE_NAMES[(NOTE_NAMES.index(letter) + 1) % 12]
    minor = mode.lower() in ("m", "min", "minor", "aeolian", "dorian") and mode != "M"
    return f"{note} {'minor' if minor else 'major'}"


def _tempo(value: Any) -> float:
    bpm = float(value)
    if not 20.0 <= bpm <= 400.0:
        raise ValueError
    return round(bpm, 3)


def _time_signature(value: Any) -> str:
    m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*", str(value))
    if not m or int(m.group(1)) < 1 or int(m.group(2)) not in (1, 2, 4, 8, 16, 32):
        raise ValueError
    return f"{int(m.group(1))}/{int(m.group(2))}"


def _sample_rate(value: Any) -> int:
    rate = float(value)
    if not rate.is_integer() or not 8000 <= rate <= 384000:
        raise ValueError
    return int(rate)


def _text(value: Any) -> str:
    text = str(value).strip()
    if len(text) > 256:
        raise ValueError
    return text


#: key -> (coercion, what a good value looks like)
_FIELDS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "tempo": (_tempo, "a tempo in BPM between 20 and 400"),
    "time_signature": (_time_signature, "a time signature such as 4/4 or 6/8"),
    "key": (normalize_key, "a key such as 'A minor' or 'F# major'"),
    "sample_rate": (_sample_rate, "a sample rate in Hz such as 48000"),
    "project": (_text, "a project name of at most 256 characters"),
    "selected_track": (_text, "a track name of at most 256 characters"),
}
_ALIASES = {"bpm": "tempo", "sig": "time_signature", "timesig": "time_signature", "sr": "sample_rate",
            "track": "selected_track", "scale": "key"}


@dataclass
class SessionContext:
    """The DAW session a request belongs to. Unset values are None."""

    tempo: float | None = None
    #: None until the DAW sets it: bars are then counted in 4/4 and the analysis finds the meter itself.
    time_signature: str | None = None
    key: str | None = None
    sample_rate: int | None = None
    project: str | None = None
    selected_track: str | None = None

    @staticmethod
    def keys() -> list[str]:
        return list(_FIELDS)

    @staticmethod
    def canonical(key: str) -> str:
        """The key's proper name (`bpm` -> `tempo`), or `BadRequest` listing the keys."""
        name = _ALIASES.get(str(key).strip().lower(), str(key).strip().lower())
        if name not in _FIELDS:
            raise BadRequest(f"unknown session key {key!r}; use one of {', '.join(_FIELDS)}")
        return name

    def set(self, key: str, value: Any) -> Any:
        """Set one value from a client (any of str/int/float); return the stored value."""
        name = self.canonical(key)
        coerce, wanted = _FIELDS[name]
        if value is None or (isinstance(value, str) and not value.strip()):
            stored = None
        else:
            try:
                stored = coerce(value)
            except BadRequest:
                raise
            except (TypeError, ValueError):
                raise BadRequest(f"session {name}: expected {wanted}, got {value!r}") from None
        setattr(self, name, stored)
        return stored

    def beats_per_bar(self) -> int:
        """Beats in a bar of the session's time signature (4 while it is unset)."""
        return int((self.time_signature or "4/4").split("/")[0])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SessionContext":
        """Rebuild from stored data, skipping (and logging) values that no longer validate."""
        ctx = cls()
        for key, value in (data or {}).items():
            if key in _FIELDS and value is not None:
                try:
                    ctx.set(key, value)
                except BadRequest as exc:
                    log.warning("ignoring stored session value: %s", exc.message)
        return ctx


class SessionBackend(Protocol):
    def load(self, session_id: str) -> dict[str, Any] | None: ...
    def save(self, session_id: str, data: dict[str, Any]) -> None: ...


class MemoryBackend:
    """Sessions in the feature memory's `sessions` table (`MemoryStore.save_session`/`load_session`).

    The store is opened on first use, so building the orchestrator costs nothing at start-up.
    """

    def __init__(self, open_store: Callable[[], Any]) -> None:
        self._open = open_store
        self._store: Any = None

    @property
    def store(self) -> Any:
        if self._store is None:
            self._store = self._open()
        return self._store

    def load(self, session_id: str) -> dict[str, Any] | None:
        from grym_bridge.errors import NotFound

        try:
            return self.store.load_session(session_id)
        except NotFound:
            return None

    def save(self, session_id: str, data: dict[str, Any]) -> None:
        self.store.save_session(session_id, data)


class SessionStore:
    """Session contexts by id, loaded on first use and saved on every change."""

    def __init__(self, backend: SessionBackend) -> None:
        self.backend = backend
        self._cache: dict[str, SessionContext] = {}
        self._lock = threading.Lock()

    @classmethod
    def backed_by_memory(cls, open_store: Callable[[], Any]) -> "SessionStore":
        """Sessions persisted in the feature memory that `open_store()` opens (on first use)."""
        return cls(MemoryBackend(open_store))

    @staticmethod
    def check_id(session_id: str) -> str:
        sid = str(session_id or "default").strip()
        if not _SESSION_ID_RE.match(sid):
            raise BadRequest(f"session id {session_id!r}: use 1-64 letters, digits, '.', '_' or '-'")
        return sid

    def get(self, session_id: str = "default") -> SessionContext:
        sid = self.check_id(session_id)
        with self._lock:
            if sid not in self._cache:
                self._cache[sid] = SessionContext.from_dict(self.backend.load(sid) or {})
            return self._cache[sid]

    def set(self, key: str, value: Any, session_id: str = "default") -> Any:
        """Set and persist one value; return the stored (normalized) value."""
        ctx = self.get(session_id)
        with self._lock:
            stored = ctx.set(key, value)
            self.backend.save(self.check_id(session_id), ctx.to_dict())
        return stored

    def update(self, values: dict[str, Any], session_id: str = "default") -> SessionContext:
        """Set several values at once; nothing is stored when one of them is bad."""
        ctx = self.get(session_id)
        trial = SessionContext(**ctx.to_dict())
        for key, value in values.items():
            trial.set(key, value)
        with self._lock:
            for f in dataclasses.fields(ctx):
                setattr(ctx, f.name, getattr(trial, f.name))
            self.backend.save(self.check_id(session_id), ctx.to_dict())
        return ctx
