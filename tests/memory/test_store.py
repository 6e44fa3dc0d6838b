"""The SQLite store: clips, dedupe, tags, feedback, forgetting, sessions, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grym_bridge.errors import AudioFileError, BadRequest, NotFound
from grym_bridge.memory.checks import content_hash_of
from grym_bridge.memory.sqlite_store import SqliteMemory


def test_add_reads_format_and_get_returns_what_was_stored(memory: SqliteMemory, wav) -> None:
    path = wav("a.wav", sr=22050, seconds=0.5)
    clip = memory.add_clip(path, source="generated", provenance={"prompt": "warm pad", "seed": 7},
                           tags=["Pad ", "warm"], vector=[3.0, 4.0])
    got = memory.get(clip.id)
    assert got.path == str(path)
    assert got.content_hash == content_hash_of(path)
    assert got.source == "generated"
    assert got.duration_s == pytest.approx(0.5, abs=1e-3)
    assert got.sample_rate == 22050
    assert got.tags == ("pad", "warm")
    assert got.provenance == {"prompt": "warm pad", "seed": 7}
    assert got.spaces == ("features",)
    np.testing.assert_allclose(memory.vector(clip.id), [0.6, 0.8], rtol=1e-6)  # stored normalized


def test_same_content_is_one_clip_even_from_another_path(memory: SqliteMemory, wav, tmp_path) -> None:
    first = wav("one/a.wav", freq=330)
    copy = tmp_path / "two" / "moved.wav"
    copy.parent.mkdir()
    copy.write_bytes(first.read_bytes())
    a = memory.add_clip(first, tags=["x"], provenance={"model": "m1"})
    b = memory.add_clip(copy, tags=["y"], provenance={"seed": 3})
    other = memory.add_clip(wav("c.wav", freq=331))
    assert a.id == b.id != other.id
    merged = memory.get(a.id)
    assert merged.path == str(copy)  # the latest path: the file may have moved
    assert merged.tags == ("x", "y")
    assert merged.provenance == {"model": "m1", "seed": 3}
    assert memory.stats().clips == 2


def test_analysis_is_stored_with_vectors_and_patterns(memory: SqliteMemory, wav) -> None:
    analysis = {
        "duration_s": 2.0, "sample_rate": 48000, "analyzer_version": "1",
        "feature_vector": [1.0, 0.0, 0.0, 1.0], "embedding": [0.0, 2.0, 0.0],
        "rhythm_pattern": [[1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]] * 2,
        "harmonic_pattern": ["Am", "F", "C", "G"], "bands_db": {"low": -10.0, "mid": -20.0, "high": -30.0},
    }
    clip = memory.add_clip(wav("a.wav"), analysis=analysis)
    assert clip.analyzer_version == "1" and clip.features["harmonic_pattern"] == ["Am", "F", "C", "G"]
    assert clip.duration_s == 2.0 and clip.sample_rate == 48000  # the analysis's word, not a re-probe
    assert clip.spaces == ("embedding", "features")
    patterns = memory.clip_patterns(clip.id)
    assert set(patterns) == {"rhythm", "harmony", "spectral"}
    for vec in patterns.values():
        assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5 and abs(float(vec.mean())) < 1e-5


def test_tags_feedback_and_list(memory: SqliteMemory, wav) -> None:
    a = memory.add_clip(wav("a.wav", 200), tags=["kick"])
    b = memory.add_clip(wav("b.wav", 300), source="rendered")
    memory.tag(b.id, add=["kick", "dark"])
    memory.tag(a.id, remove=["kick"])
    assert memory.get(a.id).tags == () and memory.get(b.id).tags == ("dark", "kick")
    memory.rate(a.id, "kept")
    memory.rate(a.id, 4)
    assert memory.get(a.id).feedback.kept and memory.get(a.id).feedback.rating == 4.0
    memory.rate(a.id, "rejected")  # rejecting undoes keeping, and keeps the rating
    fb = memory.get(a.id).feedback
    assert fb.rejected and not fb.kept and fb.rating == 4.0
    memory.rate(a.id, "clear")
    assert memory.get(a.id).feedback == type(fb)()
    memory.rate(b.id, "kept")
    memory.rate(a.id, "kept")
    assert [i for i, _ in memory.feedback_ids()["kept"]] == [b.id, a.id]  # the latest last
    memory.rate(b.id, 5)
    assert [i for i, _ in memory.feedback_ids()["kept"]] == [a.id, b.id]
    memory.rate(a.id, "clear")
    memory.rate(b.id, "clear")
    assert [c.id for c in memory.list_clips()] == [b.id, a.id]
    assert [c.id for c in memory.list_clips(tag="KICK")] == [b.id]
    assert [c.id for c in memory.list_clips(source="rendered")] == [b.id]


def test_forget_removes_everything_and_ids_are_never_reused(memory: SqliteMemory, wav) -> None:
    a = memory.add_clip(wav("a.wav", 200), vector=[1, 0], tags=["t"])
    memory.rate(a.id, "kept")
    memory.forget(a.id)
    with pytest.raises(NotFound):
        memory.get(a.id)
    assert memory.similar([1, 0]) == []
    b = memory.add_clip(wav("b.wav", 300), vector=[1, 0])
    assert b.id > a.id
    stats = memory.stats()
    assert (stats.clips, stats.kept, stats.tags) == (1, 0, 0)


def test_cache_serves_reads_and_is_invalidated_by_writes(sqlite_memory: SqliteMemory, wav, config) -> None:
    memory = sqlite_memory
    a = memory.add_clip(wav("a.wav"))
    memory.get(a.id)
    hits = memory._cache.hits
    memory.get(a.id)
    assert memory._cache.hits == hits + 1
    memory.tag(a.id, add=["new"])
    assert memory.get(a.id).tags == ("new",)
    # A write by another connection (another process, here another store object) is seen too.
    other = SqliteMemory.from_config(config)
    other.tag(a.id, add=["elsewhere"])
    other.close()
    assert memory.get(a.id).tags == ("elsewhere", "new")


def test_sessions_round_trip(memory: SqliteMemory) -> None:
    values = {"tempo": 124.0, "key": "F minor", "time_signature": [7, 8], "sample_rate": 48000,
              "project": "night drive", "selected_track": 3}
    memory.save_session("live", values)
    assert memory.load_session("live") == values
    memory.save_session("live", {**values, "tempo": 90.0})
    assert memory.load_session("live")["tempo"] == 90.0
    assert memory.list_sessions() == ["live"]
    with pytest.raises(NotFound, match="live"):
        memory.load_session("studio b")


@pytest.mark.parametrize("call, error, words", [
    (lambda m, w: m.add_clip(w.parent / "missing.wav"), NotFound, "no file"),
    (lambda m, w: m.add_clip(w.parent), BadRequest, "not a file"),
    (lambda m, w: m.add_clip(w, source="stolen"), BadRequest, "source must be one of"),
    (lambda m, w: m.add_clip(w, vector=[0, 0, 0]), BadRequest, "all zeros"),
    (lambda m, w: m.add_clip(w, vector=[1, float("nan")]), BadRequest, "NaN"),
    (lambda m, w: m.add_clip(w, provenance={"x": object()}), BadRequest, "provenance"),
    (lambda m, w: m.get(999), NotFound, "no clip with id 999"),
    (lambda m, w: m.get("7"), BadRequest, "integer"),
    (lambda m, w: m.rate(1, 9), BadRequest, "0 to 5"),
    (lambda m, w: m.rate(1, "love"), BadRequest, "kept, rejected or clear"),
    (lambda m, w: m.tag(1), BadRequest, "at least one tag"),
    (lambda m, w: m.forget(999), NotFound, "999"),
    (lambda m, w: m.similar([1, 0], k=0), BadRequest, "k must be"),
    (lambda m, w: m.similar([1, 0], threshold=1.5), BadRequest, "threshold"),
    (lambda m, w: m.similar([1, 0], space="vibes"), BadRequest, "space"),
    (lambda m, w: m.similar([1, 0, 0]), BadRequest, "dimensions"),
    (lambda m, w: m.similar(999), NotFound, "999"),
    (lambda m, w: m.save_session("", {}), BadRequest, "session name"),
])
def test_bad_input_is_a_clear_error_and_writes_nothing(memory: SqliteMemory, wav, call, error, words) -> None:
    w = wav("a.wav")
    memory.add_clip(wav("seed.wav", 100), vector=[1, 0])
    before = memory.stats()
    with pytest.raises(error, match=words):
        call(memory, w)
    assert memory.stats() == before


def test_a_file_that_is_not_audio_is_refused(memory: SqliteMemory, tmp_path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    with pytest.raises(AudioFileError, match="not an audio file"):
        memory.add_clip(text)
    assert memory.stats().clips == 0


def test_stats_counts(memory: SqliteMemory, wav) -> None:
    memory.add_clip(wav("a.wav", 200), vector=[1, 0], tags=["a"])
    memory.add_clip(wav("b.wav", 300), source="generated", vector=[0, 1], embedding=[1, 1, 1])
    stats = memory.stats()
    assert stats.by_source == {"analyzed": 1, "generated": 1}
    assert stats.vectors == {"features": 2, "embedding": 1}
    assert stats.schema_version == 2 and stats.index["features"]["count"] == 2
    json.dumps(stats.__dict__)  # JSON-able as it is
