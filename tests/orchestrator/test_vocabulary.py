"""The planner's readers on their own: tempo anywhere, keys as written, typos forgiven but real words kept."""

from __future__ import annotations

import pytest

from grym_bridge.orchestrator import vocabulary as words


@pytest.mark.parametrize(("text", "bpm"), [("lofi beat at 85", 85.0), ("85bpm house", 85.0), ("at 85 bpm", 85.0),
                                           ("tempo 128 please", 128.0), ("house bassline @ 122", 122.0),
                                           ("a pad at 440 hz", None), ("master at -14 lufs", None),
                                           ("cut at 300", None), ("drums at 8 bars", None), ("at 3 am", None)])
def test_tempo_anywhere_but_not_other_numbers(text: str, bpm: float | None) -> None:
    assert words.tempo(text) == bpm


@pytest.mark.parametrize(("text", "key"), [("jazz chords in bb", "Bb major"), ("in eb minor", "Eb minor"),
                                           ("in f# m at 90", "F# minor"), ("in c sharp minor", "C# minor"),
                                           ("chords in a", "A major"), ("chords in a dark mood", None),
                                           ("in the key of a", "A major"), ("in db major", "Db major")])
def test_keys_are_spelled_as_written(text: str, key: str | None) -> None:
    assert words.key(text) == key


def test_typos_are_forgiven_and_real_words_kept() -> None:
    assert words.correct_typos("make it brigther and widder for spotfy") == "make it brighter and wider for spotify"
    assert words.correct_typos("fix the rumbel, too sibilent") == "fix the rumble, too sibilant"
    for real in ("clear", "analyzed", "general", "things", "rather", "compress", "streams", "hours", "bottom",
                 "orchestrate", "progress", "breath", "dumps", "string"):
        assert words.correct_typos(real) == real, real


@pytest.mark.parametrize(("text", "verdict"), [("it's a keeper", "kept"), ("thumbs down", "rejected"),
                                               ("rate it 4 stars", 4.0), ("this is a 3 out of 5", 3.0),
                                               ("i don't like this one", "rejected"), ("remember this", None)])
def test_verdicts(text: str, verdict: object) -> None:
    assert words.verdict(text) == verdict


def test_problem_words_are_read_once() -> None:
    assert words.problems("too much low end rumble, clean it up")[0] == ["rumble"]
    assert words.problems("muddy and a bit harsh")[0] == ["mud", "harsh"]
    assert words.destination("master it for the club") == ("club", "the club")
    assert words.destination("upload to apple music")[0] == "streaming"
