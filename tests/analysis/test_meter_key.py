"""Issue 19's behaviours on synthetic music with known answers: meter, slow tempi, tempo
alternatives, keys that a producer would name (relative minors), no key for unpitched material,
triad qualities with low voicings, and bars that start on the first downbeat."""

from __future__ import annotations

import numpy as np
import pytest

from grym_bridge.analysis import analyze
from grym_bridge.audio_io import Audio
from tests.analysis.music import ballad, bar_chords, jig, render, swing, waltz
from tests.synth import click_track, drum_loop, pink_noise


def test_a_waltz_is_three_four_at_its_tempo_with_one_chord_per_three_beat_bar() -> None:
    result = analyze(waltz("D major", bpm=126, bars=8))
    assert result.meter == "3/4" and result.beats_per_bar == 3
    assert result.tempo_bpm == pytest.approx(126, rel=0.02)  # the issue saw 84: two thirds of it
    assert result.key == "D major"
    assert result.harmonic_pattern == bar_chords("D major", 8)
    assert all(len(bar) == 12 for bar in result.rhythm_pattern)  # sixteenths of a 3/4 bar
    # bars are three beats apart
    np.testing.assert_allclose(np.diff(result.downbeats), 3 * 60 / 126, rtol=0.03)


def test_a_jig_is_six_eight_its_tempo_counts_quarter_notes_and_the_felt_beat_is_an_alternative() -> None:
    result = analyze(jig("E minor", bpm=120, bars=8))
    assert result.meter == "6/8" and result.beats_per_bar == 2
    assert result.tempo_bpm == pytest.approx(120, rel=0.02)  # the issue saw 80: the dotted quarter
    assert np.median(np.diff(result.beats)) == pytest.approx(60 / 80, rel=0.03)
    felt = {a["relation"]: a for a in result.tempo_alternatives}["two_thirds"]
    assert felt["bpm"] == pytest.approx(80, rel=0.02) and felt["confidence"] > 0.9
    assert result.key == "E minor"
    assert result.harmonic_pattern == bar_chords("E minor", 8)
    assert all(len(bar) == 12 for bar in result.rhythm_pattern)


@pytest.mark.parametrize("bpm", [132, 160])
def test_swing_divides_the_beat_in_three_but_stays_four_four_at_its_tempo(bpm: float) -> None:
    result = analyze(swing("Bb major", bpm=bpm, bars=8))
    assert result.meter == "4/4" and result.tempo_bpm == pytest.approx(bpm, rel=0.02)


@pytest.mark.parametrize("bpm", [72, 76, 84])
def test_slow_music_with_an_eighth_note_line_is_not_doubled_and_double_is_offered(bpm: float) -> None:
    result = analyze(ballad("F major", bpm=bpm, bars=8))
    assert result.tempo_bpm == pytest.approx(bpm, rel=0.02)
    assert result.meter == "4/4"
    alternatives = {a["relation"]: a for a in result.tempo_alternatives}
    assert set(alternatives) == {"half", "double", "two_thirds", "three_halves"}
    assert alternatives["double"]["bpm"] == pytest.approx(2 * bpm, rel=0.02)
    assert all(0.0 <= a["confidence"] <= 1.0 for a in alternatives.values())


@pytest.mark.parametrize("key", ["A minor", "E minor", "C major", "F# minor"])
def test_relative_keys_are_told_apart_by_where_the_music_sits(key: str) -> None:
    """Am-F-C-G and C-G-Am-F use the same seven pitch classes; the profile alone cannot tell them apart."""
    assert analyze(ballad(key, bpm=96, bars=8)).key == key


@pytest.mark.parametrize("clip", ["drums", "clicks", "noise"], ids=str)
def test_unpitched_material_has_no_key(clip: str) -> None:
    audio = {"drums": lambda: drum_loop(120, 8), "clicks": lambda: click_track(100, 10.0),
             "noise": lambda: pink_noise(6.0)}[clip]()
    result = analyze(audio)
    assert result.key is None
    assert result.key_confidence < 0.5


def test_the_session_time_signature_overrides_the_detected_meter() -> None:
    audio = ballad("C major", bpm=100, bars=8)
    assert analyze(audio).meter == "4/4"
    forced = analyze(audio, time_signature="3/4")
    assert forced.meter == "3/4" and forced.beats_per_bar == 3
    assert all(len(bar) == 12 for bar in forced.rhythm_pattern)


@pytest.mark.parametrize("root,minor,octave", [(9, True, 45), (0, False, 48), (9, True, 57), (0, False, 60),
                                                 (4, True, 52), (7, False, 43)])
def test_triad_quality_holds_for_low_and_middle_voicings(root: int, minor: bool, octave: int) -> None:
    """A2-C3-E3 lost its root below the chroma's 120 Hz (read C), and partials turned minor triads major."""
    from grym_bridge.analysis.harmony import PITCH_CLASSES

    base = octave + (root - octave) % 12
    chord = [base, base + (3 if minor else 4), base + 7]
    notes = [(p, 4.0 * bar + beat, 0.95, 0.3) for bar in range(4) for beat in range(4) for p in chord]
    result = analyze(render(notes, 100, 4 * 4 * 0.6 + 0.5))
    want = PITCH_CLASSES[root] + ("m" if minor else "")
    labels = [c["chord"] for c in result.chords]
    assert labels[0] == want, labels  # from the first chord on: no stray label for the attack
    assert result.harmonic_pattern and set(result.harmonic_pattern) == {want}


def test_bars_start_at_the_first_downbeat_after_a_pickup() -> None:
    """One beat of melody before bar 1: the bar list starts on bar 1, not a bar late."""
    result = analyze(waltz("A minor", bpm=120, bars=8, pickup=1.0))
    assert result.meter == "3/4"
    assert result.downbeats[0] == pytest.approx(0.5, abs=0.04)
    assert result.harmonic_pattern[:4] == bar_chords("A minor", 4)


def test_a_four_four_loop_starting_on_the_downbeat_has_its_first_bar_at_zero() -> None:
    from tests.synth import chord_progression, mix, progression_chords

    result = analyze(mix(chord_progression("G major", bpm=118, bars=8), drum_loop(118, 8)))
    assert result.meter == "4/4" and result.downbeats[0] == pytest.approx(0.0, abs=0.04)
    assert result.harmonic_pattern[:4] == progression_chords("G major")


def test_silence_has_no_meter_no_alternatives_and_no_downbeats() -> None:
    result = analyze(Audio(np.zeros((1, 44100 * 2), dtype=np.float32), 44100))
    assert result.meter is None and result.tempo_alternatives == [] and result.downbeats == []
    assert result.key is None
