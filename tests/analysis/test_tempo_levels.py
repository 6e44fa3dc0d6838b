"""Issue 19: the tempo a producer's DAW would show, where the comb alone picks another octave:
half-time trap at its full tempo, slow sparse music not doubled, a fast waltz not halved, and the
other readings offered as alternatives with a confidence."""

from __future__ import annotations

import pytest

from grym_bridge.analysis import Analysis, analyze
from tests.analysis.music import ballad, cinematic, trap, waltz


def _alternatives(result: Analysis) -> dict[str, dict]:
    return {a["relation"]: a for a in result.tempo_alternatives}


@pytest.mark.parametrize("bpm", [130, 140, 150])
def test_half_time_trap_reads_the_producers_tempo_and_offers_half(bpm: float) -> None:
    # one snare per bar and a syncopated kick repeat at half the tempo; the hats in eighths (with
    # rolls) are what the producer counts: trap at 140, not 70
    result = analyze(trap("A minor", bpm=bpm))
    assert result.tempo_bpm == pytest.approx(bpm, rel=0.02)
    assert result.meter == "4/4"
    half = _alternatives(result)["half"]
    assert half["bpm"] == pytest.approx(bpm / 2, rel=0.02) and half["confidence"] > 0.5


@pytest.mark.parametrize("bpm", [80, 88])
def test_slow_sparse_music_is_not_doubled_and_double_is_offered(bpm: float) -> None:
    # a chord every two bars with kick and toms: at double tempo most beats would be silent
    result = analyze(cinematic("C minor", bpm=bpm))
    assert result.tempo_bpm == pytest.approx(bpm, rel=0.02)
    assert _alternatives(result)["double"]["bpm"] == pytest.approx(2 * bpm, rel=0.02)


@pytest.mark.parametrize("bpm", [160, 166, 172])
def test_a_fast_waltz_is_not_read_at_half_tempo(bpm: float) -> None:
    # half of a 3/4 pulse spans two beats of a three-beat bar: no meter holds it
    result = analyze(waltz("G minor", bpm=bpm, bars=24))
    assert result.meter == "3/4"
    assert result.tempo_bpm == pytest.approx(bpm, rel=0.02)
    half = _alternatives(result)["half"]
    assert half["bpm"] == pytest.approx(bpm / 2, rel=0.02) and 0.0 <= half["confidence"] <= 1.0


def test_a_slow_ballad_with_an_eighth_note_line_stays_slow_next_to_trap() -> None:
    # what tells half-time trap from a ballad: the ballad's eighths never reach the sixteenths
    assert analyze(ballad("F major", bpm=70, bars=8)).tempo_bpm == pytest.approx(70, rel=0.02)
