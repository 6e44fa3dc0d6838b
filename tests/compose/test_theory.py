"""Keys, chords, progressions and meters."""

from __future__ import annotations

import pytest

from grym_bridge.compose.theory import (
    Key,
    chord_on_degree,
    parse_key,
    parse_progression,
    parse_time_signature,
)
from grym_bridge.errors import BadRequest


@pytest.mark.parametrize("text, tonic, mode", [
    ("A minor", 9, "minor"), ("Am", 9, "minor"), ("f# dorian", 6, "dorian"), ("Eb major", 3, "major"),
    ("Bb", 10, "major"), ("C harmonic minor", 0, "harmonic minor"), ("G♯ aeolian", 8, "minor"),
])
def test_parse_key(text: str, tonic: int, mode: str) -> None:
    assert parse_key(text) == Key(tonic, mode)


@pytest.mark.parametrize("text, fragment", [("H major", "write a tonic"), ("A blues", "use one of"), ("", "write a tonic")])
def test_bad_keys_say_what_to_write(text: str, fragment: str) -> None:
    with pytest.raises(BadRequest, match=fragment):
        parse_key(text)


def test_triads_and_sevenths_of_c_major() -> None:
    key = parse_key("C major")
    assert [chord_on_degree(key, d).symbol for d in range(1, 8)] == ["C", "Dm", "Em", "F", "G", "Am", "Bdim"]
    assert [chord_on_degree(key, d, 4).symbol for d in range(1, 8)] == [
        "Cmaj7", "Dm7", "Em7", "Fmaj7", "G7", "Am7", "Bm7b5"]
    assert chord_on_degree(key, 2, 5).symbol == "Dm9"


def test_flat_keys_spell_with_flats() -> None:
    key = parse_key("F minor")
    assert chord_on_degree(key, 6).symbol == "Db"
    assert key.midi_key_signature() == "Fm"
    assert parse_key("D dorian").midi_key_signature() == "C"


def test_degree_index_round_trip_covers_every_pitch_in_key() -> None:
    key = parse_key("E phrygian")
    for pitch in range(24, 100):
        if key.contains(pitch):
            assert key.pitch_of_degree_index(key.degree_of(pitch)) == pitch


def test_progressions_by_degree_or_roman_numeral() -> None:
    assert parse_progression("ii V I") == (2, 5, 1)
    assert parse_progression("i-VI-III-VII") == (1, 6, 3, 7)
    assert parse_progression("1 5 6 4") == (1, 5, 6, 4)
    assert parse_progression("ii7 V7 Imaj7") == (2, 5, 1)
    with pytest.raises(BadRequest, match="'VIII'"):
        parse_progression("I VIII")


def test_time_signatures_in_quarter_beats() -> None:
    assert parse_time_signature("6/8").bar_beats == 3
    assert parse_time_signature("7/8").steps_per_bar == 14
    with pytest.raises(BadRequest, match="'4/3'"):
        parse_time_signature("4/3")
