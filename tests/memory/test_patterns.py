"""The pattern recognizer (detect, learn, relate, classify, find similar) and feedback-driven taste."""

from __future__ import annotations

import numpy as np
import pytest

from grym_bridge.errors import BadRequest, NotFound
from grym_bridge.memory.patterns import PatternRecognizer
from grym_bridge.memory.sqlite_store import SqliteMemory
from grym_bridge.memory.taste import learn_taste, like_my_kept, personalize
from tests.memory.conftest import clustered_vectors

GROOVES = {  # onset strength on a 16th grid
    "four_on_floor": [1, 0, .5, 0, 1, 0, .5, 0, 1, 0, .5, 0, 1, 0, .5, 0],
    "backbeat": [1, 0, 0, .7, .9, 0, 0, 0, 0, 0, 1, 0, .9, 0, 0, .4],
    "breakbeat": [1, 0, .4, 1, 0, .8, 0, .5, 0, 1, .7, 0, .3, 0, .9, .2],
}
PROGRESSIONS = {"four_on_floor": ["Am", "F", "C", "G"], "backbeat": ["C", "G", "Am", "F"], "breakbeat": ["Dm7", "G7", "Cmaj7"]}


def _analysis(groove: str, rng: np.random.Generator) -> dict:
    rhythm = np.clip(np.array(GROOVES[groove]) + 0.08 * rng.normal(size=16), 0, None)
    return {"analyzer_version": "test", "feature_vector": rng.normal(size=8).tolist(),
            "rhythm_pattern": [rhythm.tolist(), rhythm.tolist()], "harmonic_pattern": PROGRESSIONS[groove],
            "bands_db": [-10.0 - 3 * i + rng.normal() for i in range(7)]}


@pytest.fixture
def library(memory: SqliteMemory) -> dict[str, list[int]]:
    """Six clips of each groove, two of each tagged with its groove's name."""
    rng = np.random.default_rng(5)
    ids: dict[str, list[int]] = {}
    for groove in GROOVES:
        for i in range(6):
            clip = memory.add_clip(f"/loops/{groove}-{i}.wav", content_hash=f"{groove}{i}",
                                   analysis=_analysis(groove, rng), tags=[groove.replace("_", " ")] if i < 2 else [])
            ids.setdefault(groove, []).append(clip.id)
    return ids


def test_detect_patterns_reads_the_analysis_contract(memory: SqliteMemory) -> None:
    found = PatternRecognizer(memory).detect_patterns(_analysis("backbeat", np.random.default_rng(0)))
    assert set(found) == {"rhythm", "harmony", "spectral"}
    assert found["rhythm"].shape == (16,) and found["harmony"].shape == (12,)
    # C, G, Am, F: the chord tones are C E G, G B D, A C E, F A C -> C thrice, E, G and A twice.
    harmony = found["harmony"]
    assert harmony[0] == harmony.max() and harmony[1] == harmony.min()
    assert PatternRecognizer(memory).detect_patterns({"rhythm_pattern": [[1] * 16]}) == {}  # flat: nothing to compare


def test_find_similar_patterns_finds_the_same_groove_and_respects_the_threshold(memory, library) -> None:
    recognizer = PatternRecognizer(memory)
    query = library["backbeat"][0]
    found = recognizer.find_similar_patterns(query, "rhythm", threshold=0.8)
    assert {m.id for m in found} == set(library["backbeat"]) - {query}
    assert all(m.score >= 0.8 for m in found)
    loose = recognizer.find_similar_patterns(query, "rhythm", threshold=-1.0, k=100)
    assert len(loose) == 17 and [m.score for m in loose] == sorted((m.score for m in loose), reverse=True)
    by_vector = recognizer.find_similar_patterns(GROOVES["four_on_floor"], "rhythm", threshold=0.8, k=100)
    assert {m.id for m in by_vector} == set(library["four_on_floor"])  # a vector query excludes nothing
    with pytest.raises(BadRequest, match="threshold"):
        recognizer.find_similar_patterns(query, "rhythm", threshold=2)
    with pytest.raises(BadRequest, match="pattern kind"):
        recognizer.find_similar_patterns(query, "melody")


def test_related_patterns_tell_what_goes_with_a_groove(memory, library) -> None:
    related = PatternRecognizer(memory).get_related_patterns(GROOVES["breakbeat"], "rhythm", k=4)
    assert {m.id for m in related.matches} <= set(library["breakbeat"])
    harmony = np.array(related.related["harmony"])
    own = memory.clip_patterns(library["breakbeat"][0])["harmony"]
    other = memory.clip_patterns(library["backbeat"][0])["harmony"]
    assert harmony @ own > 0.95 > harmony @ other
    assert set(related.related) == {"harmony", "spectral"}
    assert set(related.tags) <= {"breakbeat"}


def test_classify_by_the_users_own_tags(memory, library) -> None:
    recognizer = PatternRecognizer(memory)
    for groove, ids in library.items():
        for clip_id in ids[2:]:  # the untagged ones
            result = recognizer.classify_pattern(clip_id, "rhythm", k=3)
            assert result.label == groove.replace("_", " ")
            assert 0.5 < result.confidence <= 1.0
            assert set(result.neighbours) <= {i for g in library.values() for i in g[:2]}
    # A new tag changes the answer: the user's words, not a fixed taxonomy.
    for clip_id in library["breakbeat"][:2]:
        memory.tag(clip_id, add=["amen"], remove=["breakbeat"])
    assert recognizer.classify_pattern(library["breakbeat"][4], "rhythm", k=3).label == "amen"


def test_classify_without_tags_says_so(memory: SqliteMemory) -> None:
    clip = memory.add_clip("/x.wav", content_hash="x", vector=[1, 0])
    result = PatternRecognizer(memory).classify_pattern(clip.id)
    assert result.label is None and result.confidence == 0.0


def test_learn_patterns_from_an_analysis_or_vectors(memory: SqliteMemory) -> None:
    clip = memory.add_clip("/x.wav", content_hash="x")
    recognizer = PatternRecognizer(memory)
    learned = recognizer.learn_patterns(clip.id, _analysis("backbeat", np.random.default_rng(1)))
    assert set(learned) == {"rhythm", "harmony", "spectral"}
    recognizer.learn_patterns(clip.id, {"rhythm": GROOVES["four_on_floor"]})
    assert set(memory.clip_patterns(clip.id)) == {"rhythm"}
    assert recognizer.find_similar_patterns(GROOVES["four_on_floor"], "rhythm", 0.9)[0].id == clip.id
    with pytest.raises(NotFound):
        recognizer.learn_patterns(999, {"rhythm": GROOVES["backbeat"]})


def _taste_library(memory: SqliteMemory) -> tuple[np.ndarray, np.ndarray, list[int]]:
    vectors, labels = clustered_vectors(120, dim=12, clusters=3, spread=0.3, seed=3)
    ids = [memory.add_clip(f"/c/{i}.wav", content_hash=f"c{i}", vector=v).id for i, v in enumerate(vectors)]
    return vectors, labels, ids


def test_like_my_kept_follows_the_feedback(memory: SqliteMemory) -> None:
    vectors, labels, ids = _taste_library(memory)
    with pytest.raises(NotFound, match="no feedback yet"):
        like_my_kept(memory)
    for cluster in (0, 2):
        for clip_id in [i for i, lab in zip(ids, labels) if lab != cluster][:40]:
            memory.rate(clip_id, "clear")
        members = [i for i, lab in zip(ids, labels) if lab == cluster]
        memory.rate(members[0], "kept")
        memory.rate(members[1], 5)
        results = like_my_kept(memory, k=10)
        assert {int(labels[ids.index(m.id)]) for m in results} == {cluster}
        assert members[0] not in {m.id for m in results}  # already judged
        for clip_id in members[:2]:
            memory.rate(clip_id, "clear")


def test_feedback_reranks_an_ordinary_search(memory: SqliteMemory) -> None:
    vectors, labels, ids = _taste_library(memory)
    a = [i for i, lab in zip(ids, labels) if lab == 0]
    b = [i for i, lab in zip(ids, labels) if lab == 1]
    # A query halfway between two clusters: plain search mixes them.
    query = vectors[ids.index(a[0])] + vectors[ids.index(b[0])]
    plain = memory.similar(query, k=40)
    for clip_id in a[:3]:
        memory.rate(clip_id, "kept")
    for clip_id in b[:3]:
        memory.rate(clip_id, "rejected")
    reranked = personalize(memory, plain)[:10]
    share_before = np.mean([i in a for i in [m.id for m in plain[:10]]])
    share_after = np.mean([i in a for i in [m.id for m in reranked]])
    assert share_after > share_before and share_after >= 0.9
    taste = learn_taste(memory)
    assert set(taste.liked) == set(a[:3]) and set(taste.disliked) == set(b[:3])


def test_stale_features_are_recomputed_on_demand(memory: SqliteMemory, wav) -> None:
    assert memory.analyzer is not None, "the analysis capability is installed"
    clip = memory.add_clip(wav("tone.wav", 440, seconds=1.0),
                           analysis={"analyzer_version": "0", "feature_vector": [1.0, 0.0]})
    assert memory.stale_ids() == [clip.id] and memory.stats().stale == 1
    features = memory.features(clip.id)
    assert features["analyzer_version"] == memory.analyzer.version
    fresh = memory.get(clip.id)
    assert fresh.analyzer_version == memory.analyzer.version and memory.stale_ids() == []
    assert len(memory.vector(clip.id)) == len(features["feature_vector"]) > 2
    assert memory.features(clip.id, refresh=False) == features
