"""The key's chord evidence: the clip's chords read as Roman numerals against each key
(`harmony.chord_functions`, weighed by the fitted `harmony.fitted_key_scores`)."""

from __future__ import annotations

import numpy as np
import pytest

from grym_bridge.analysis import analyze, harmony
from grym_bridge.analysis.harmony import PITCH_CLASSES, chord_functions, fitted_key_scores, parse_key
from tests.analysis.music import _triad, render


def _key_index(key: str) -> int:
    tonic, mode = parse_key(key)
    return tonic + (12 if mode == "minor" else 0)


def _transpose(chord: str, semitones: int) -> str:
    minor = chord.endswith("m")
    root = harmony.pitch_class(chord[:-1] if minor else chord)
    return PITCH_CLASSES[(root + semitones) % 12] + ("m" if minor else "")


def _chords_only(shares: np.ndarray) -> np.ndarray:
    """The fitted scores of a clip known only by its `chord_functions` (no profile, no edges)."""
    return fitted_key_scores(np.concatenate([np.zeros(48), shares]))


def test_chord_functions_are_the_share_of_labelled_beats_on_each_chord() -> None:
    shares = chord_functions(["C", "C", "Am", "N", "G"])
    assert shares[0] == pytest.approx(0.5)  # C major: two of the four labelled beats
    assert shares[12 + 9] == pytest.approx(0.25) and shares[7] == pytest.approx(0.25)  # Am, G
    assert shares.sum() == pytest.approx(1.0)
    assert not chord_functions(["N", "N"]).any() and not chord_functions(None).any()


@pytest.mark.parametrize("semitones", [1, 5, 7])
def test_the_fitted_scores_transpose_with_the_music(semitones: int) -> None:
    """The same music a few semitones up scores the keys the same few semitones up (in each mode)."""
    features = np.random.default_rng(3).random(72)
    up = np.concatenate([np.roll(block, semitones) for block in features.reshape(6, 12)])
    scores, moved = fitted_key_scores(features), fitted_key_scores(up)
    for half in (slice(0, 12), slice(12, 24)):
        np.testing.assert_allclose(moved[half], np.roll(scores[half], semitones), atol=1e-12)


# iv-v-i (Dm-Em-Am-Am) is not among them: fitted on the peak chroma's 679 training clips, time on a minor
# iv counts more for a minor key than time on i, so those chords alone lean to E minor (Am its iv), 0.22 to
# 0.21. They still lean to A minor over D minor and C major (test_analyze_hands_the_chords_it_hears_to_the_key).
@pytest.mark.parametrize("semitones", range(0, 12, 5))
@pytest.mark.parametrize("progression,key", [
    (["F", "G", "Am", "Am"], "A minor"),  # bVI-bVII-i, resting on i ...
    (["F", "G", "C", "C"], "C major"),  # ... and IV-V-I on the same seven notes, resting on I
    (["Dm", "G", "C", "C"], "C major"),  # ii-V-I: not G major (whose IV is C) nor F major (whose V is C)
])
def test_the_chords_alone_name_the_key_the_progression_rests_on(progression: list[str], key: str,
                                                                 semitones: int) -> None:
    labels = [_transpose(c, semitones) for c in progression for _beat in range(4)]  # a chord per 4/4 bar
    tonic, mode = parse_key(key)
    expected = _key_index(f"{PITCH_CLASSES[(tonic + semitones) % 12]} {mode}")
    assert int(np.argmax(_chords_only(chord_functions(labels)))) == expected


def test_analyze_hands_the_chords_it_hears_to_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dm-Em-Am-Am, rendered: the profile is C major's and A minor's seven notes and the opening is a D
    minor triad; the chord evidence, from the labels analyze reads, leans to the A minor it rests on."""
    seen: list[np.ndarray] = []
    real = harmony.fitted_key_scores
    monkeypatch.setattr(harmony, "fitted_key_scores", lambda x: seen.append(x) or real(x))
    tonic = parse_key("A minor")[0]
    notes = []
    for bar, (degree, minor) in enumerate([(5, True), (7, True), (0, True), (0, True)] * 3):
        chord = _triad(tonic, degree, minor)
        notes.append((chord[0] - 24, 4.0 * bar, 3.9, 0.5))
        notes += [(p, 4.0 * bar + beat, 0.95, 0.2) for beat in range(4) for p in chord]
    analyze(render(notes, 96, 12 * 4 * 60 / 96 + 0.5))
    chords = seen[0][48:]  # the clip-wide call comes first
    assert chords[12 + tonic] > 0.4  # Am is half the clip's labelled beats
    scores = _chords_only(chords)
    assert scores[_key_index("A minor")] > max(scores[_key_index("D minor")], scores[_key_index("C major")])

