"""Session context: coercion of what DAWs send, clear errors, persistence in the feature memory."""

from __future__ import annotations

import pytest

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest
from grym_bridge.memory import open_memory
from grym_bridge.orchestrator.session import SessionContext, SessionStore, normalize_key


@pytest.mark.parametrize(("text", "key"), [
    ("Am", "A minor"), ("a min", "A minor"), ("A minor", "A minor"), ("c", "C major"), ("C major", "C major"),
    ("Bb major", "A# major"), ("bbm", "A# minor"), ("F#m", "F# minor"), ("f sharp minor", "F# minor"),
    ("E\u266d", "D# major"), ("E# major", "F major"), ("Cb", "B major"), ("D dorian", "D minor"),
])
def test_normalize_key(text: str, key: str) -> None:
    assert normalize_key(text) == key


@pytest.mark.parametrize("text", ["H minor", "", "A minor minor", "120", "Am7"])
def test_bad_keys_say_how_to_write_one(text: str) -> None:
    with pytest.raises(BadRequest, match="write it like 'A minor'"):
        normalize_key(text)


def test_values_as_max_and_reaper_send_them() -> None:
    ctx = SessionContext()
    assert ctx.set("tempo", "120") == 120.0
    assert ctx.set("bpm", 98.5) == 98.5  # alias
    assert ctx.set("sample_rate", 48000.0) == 48000 and isinstance(ctx.sample_rate, int)
    assert ctx.set("time_signature", " 6 / 8 ") == "6/8" and ctx.beats_per_bar() == 6
    assert ctx.set("Key", "dm") == "D minor"
    assert ctx.set("track", 3) == "3"
    assert ctx.set("tempo", "") is None  # clearing a value
    assert ctx.set("time_signature", "") is None and ctx.beats_per_bar() == 4  # unset: bars count in 4/4


@pytest.mark.parametrize(("key", "value", "message"), [
    ("tempo", 5, "expected a tempo in BPM between 20 and 400, got 5"),
    ("tempo", "fast", "expected a tempo in BPM"),
    ("time_signature", "4/5", "expected a time signature such as 4/4"),
    ("sample_rate", 44100.5, "expected a sample rate in Hz"),
    ("project", "p" * 300, "at most 256 characters"),
    ("colour", "red", "unknown session key 'colour'; use one of tempo, time_signature, key"),
])
def test_bad_values_name_the_key_and_what_was_expected(key: str, value: object, message: str) -> None:
    ctx = SessionContext(tempo=100.0)
    with pytest.raises(BadRequest, match=message):
        ctx.set(key, value)
    assert ctx.tempo == 100.0


def test_sessions_persist_in_the_feature_memory(config: Config) -> None:
    opened: list[object] = []

    def open_store():
        store = open_memory(config)
        opened.append(store)
        return store

    store = SessionStore.backed_by_memory(open_store)
    assert opened == []  # nothing opened until a session is used
    store.set("tempo", 128, session_id="live-set-1")
    store.update({"key": "Gm", "project": "Night Drive"}, session_id="live-set-1")
    with pytest.raises(BadRequest):  # one bad value: nothing of the update is stored
        store.update({"key": "Am", "tempo": "very"}, session_id="live-set-1")
    store.set("tempo", 90)
    for s in opened:
        s.close()

    again = SessionStore.backed_by_memory(lambda: open_memory(config))
    ctx = again.get("live-set-1")
    assert (ctx.tempo, ctx.key, ctx.project) == (128.0, "G minor", "Night Drive")
    assert again.get().tempo == 90.0 and again.get("never-seen") == SessionContext()
    assert again.backend.store.list_sessions() == ["default", "live-set-1"]  # reading stores nothing
    with pytest.raises(BadRequest, match="session id"):
        again.get("../etc")
