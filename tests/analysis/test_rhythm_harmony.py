"""Tempo, beats, rhythm pattern, key and chords on synthetic audio whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from grym_bridge.analysis import analyze, parse_key
from tests.synth import DRUM_PATTERNS, chord_progression, click_track, drum_loop, mix, progression_chords


@pytest.mark.parametrize("bpm", [70, 84, 97, 110, 123, 137, 150, 165, 180])
def test_click_track_tempo_within_one_percent_and_beats_on_the_clicks(bpm: float) -> None:
    result = analyze(click_track(bpm, 12.0, offset_s=0.25))
    assert result.tempo_bpm == pytest.approx(bpm, rel=0.01)
    assert result.tempo_confidence > 0.5
    period = 60.0 / bpm
    beats = np.array(result.beats)
    assert beats.size >= int(11.0 / period)
    # every reported beat lies within 30 ms of a click
    phase = (beats - 0.25) / period
    assert np.max(np.abs(phase - np.round(phase))) * period < 0.03


@pytest.mark.parametrize("bpm,pattern", [(96, "rock"), (124, "four_on_floor"), (140, "rock")])
def test_drum_loop_tempo_and_rhythm_pattern(bpm: float, pattern: str) -> None:
    result = analyze(drum_loop(bpm, 6, pattern=pattern))
    assert result.tempo_bpm == pytest.approx(bpm, rel=0.02)
    assert len(result.rhythm_pattern) >= 4
    assert all(len(bar) == 16 for bar in result.rhythm_pattern)
    mean = np.mean(result.rhythm_pattern, axis=0)
    grid = DRUM_PATTERNS[pattern]
    hits = [i for i in range(16) if any(grid[name][i] for name in grid)]
    rests = [i for i in range(16) if i not in hits]
    # the steps the drummer plays stand out from the steps nobody plays
    assert min(mean[i] for i in (0, 4, 8, 12)) > 3 * max(mean[i] for i in rests)
    assert result.onset_density == pytest.approx(len(hits) * bpm / 60 / 4, rel=0.35)


def test_silence_has_no_tempo_no_beats_and_no_pattern() -> None:
    from grym_bridge.audio_io import Audio

    result = analyze(Audio(np.zeros((2, 44100 * 3), dtype=np.float32), 44100))
    assert result.tempo_bpm == 0.0 and result.beats == [] and result.rhythm_pattern == []
    assert result.onset_density == 0.0


KEYS = ["C major", "A minor", "Eb major", "F# minor", "G major", "D minor", "B major", "C# minor"]


@pytest.mark.parametrize("key", KEYS)
def test_chord_progression_key_chords_and_harmonic_pattern(key: str) -> None:
    result = analyze(chord_progression(key, bpm=110, bars=8))
    assert parse_key(result.key) == parse_key(key)
    assert result.key_confidence > 0.6
    expected = progression_chords(key)
    bars = [parse_key(c.replace("m", " minor") if c.endswith("m") else c) for c in result.harmonic_pattern]
    wanted = [parse_key(c.replace("m", " minor") if c.endswith("m") else c) for c in expected]
    # the bar phase is a guess; the 4-chord cycle must be there in order, whatever bar it starts on
    cycle = [bars[i : i + 4] for i in range(len(bars) - 3)]
    assert any(c == wanted[k:] + wanted[:k] for c in cycle for k in range(4)), (result.harmonic_pattern, expected)
    assert {c["chord"] for c in result.chords} >= set(expected)


def test_key_survives_drums_on_top() -> None:
    music = mix(chord_progression("E minor", bpm=120, bars=8), drum_loop(120, 8))
    result = analyze(music)
    assert result.key == "E minor"
    assert result.tempo_bpm == pytest.approx(120, rel=0.02)


def test_unpitched_material_has_low_key_confidence() -> None:
    pitched = analyze(chord_progression("C major", bars=4)).key_confidence
    clicks = analyze(click_track(120, 8)).key_confidence
    assert clicks < pitched


def test_beat_segments_map_one_to_one_to_beats_even_when_a_beat_is_at_zero() -> None:
    from grym_bridge.analysis.harmony import beat_chroma

    chroma = np.arange(20, dtype=np.float64).reshape(10, 2)  # 10 frames at 10 frames/s
    for beats in (np.array([0.0, 0.4, 0.7]), np.array([0.2, 0.4, 0.7])):
        means, starts = beat_chroma(chroma, 10.0, beats, 10)
        assert means.shape == (4, 2)  # the lead-in, then one segment per beat
        np.testing.assert_allclose(starts[1:], beats)
        np.testing.assert_allclose(means[-1], chroma[7:].mean(axis=0))
        np.testing.assert_allclose(means[1], chroma[int(beats[0] * 10) : 4].mean(axis=0))
