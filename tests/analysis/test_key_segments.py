"""Local keys: a clip that modulates gives a segment per key with the change near where it happens;
a clip in one key gives one segment; passing chords make none."""

from __future__ import annotations

import numpy as np
import pytest

from grym_bridge.analysis import analyze
from grym_bridge.analysis.key_segments import viterbi
from grym_bridge.audio_io import Audio
from tests.analysis.music import ballad, waltz
from tests.synth import drum_loop


def _joined(first: Audio, second: Audio) -> Audio:
    return Audio(np.concatenate([first.samples, second.samples], axis=1), first.sample_rate)


@pytest.mark.parametrize(("first", "second"), [("C major", "D major"), ("E major", "F major")])
def test_a_modulation_gives_two_segments_with_their_keys_and_the_change_near_its_time(first: str,
                                                                                      second: str) -> None:
    """Up a tone, up a semitone: 12 bars of I V vi IV in each key."""
    bpm, bars = 96.0, 12
    opening, rest = ballad(first, bpm=bpm, bars=bars), ballad(second, bpm=bpm, bars=bars)
    change = opening.duration_s
    result = analyze(_joined(opening, rest))
    segments = result.key_segments
    assert [s["key"] for s in segments] == [first, second]
    assert result.key == first  # the clip's key is the opening key
    bar = 4 * 60.0 / bpm
    assert abs(segments[1]["start"] - change) <= 2 * bar
    # the segments cover the clip end to end, in order
    assert segments[0]["start"] == 0.0 and segments[0]["end"] == segments[1]["start"]
    assert segments[-1]["end"] == pytest.approx(result.duration_s, abs=1e-3)
    assert all(0.0 <= s["confidence"] <= 1.0 for s in segments)


@pytest.mark.parametrize("make", [lambda: ballad("A minor", bpm=96, bars=16), lambda: waltz("Eb major", bars=16)],
                         ids=["ballad", "waltz"])
def test_a_clip_in_one_key_is_one_segment_with_the_clip_key(make) -> None:
    result = analyze(make())
    assert result.key_segments == [{"start": 0.0, "end": pytest.approx(result.duration_s, abs=1e-3),
                                    "key": result.key, "confidence": pytest.approx(result.key_confidence, abs=1e-3)}]


def test_no_key_no_segments() -> None:
    result = analyze(drum_loop(120, 8))
    assert result.key is None and result.key_segments == []


def test_the_viterbi_path_ignores_a_short_excursion_and_takes_a_lasting_one() -> None:
    scores = np.zeros((60, 3))
    scores[:, 0] = 1.0
    scores[10:13, 1] = 2.0  # three beats that fit another key better: a passing chord
    scores[30:, 2] = 2.0  # from beat 30 on, a third key fits better for good: a modulation
    path = viterbi(scores, penalty=6.0)
    assert set(path[:30]) == {0} and set(path[30:]) == {2}


def test_the_aeolian_cadence_votes_for_its_minor_tonic_only() -> None:
    from grym_bridge.analysis.harmony import aeolian_cadences, parse_key

    # per-beat labels: repeats and gaps (N) between chords are one change
    cues = aeolian_cadences(["Am", "Am", "F", "N", "G", "G", "Am", "C", "G", "Am"])
    tonic, _ = parse_key("A minor")
    assert cues[12 + tonic] == pytest.approx(1 / 6)  # Am F G Am C G Am: one bVI-bVII-i in six changes
    assert np.count_nonzero(cues) == 1
    assert not aeolian_cadences(["C", "F", "G", "C"]).any()  # IV-V-I in major: no minor tonic named
