"""Prompts built from a clip's analysis and from the clips the user kept."""

from __future__ import annotations

from pathlib import Path

from grym_bridge.config import Config
from grym_bridge.generate.memory_link import like_request
from grym_bridge.generate.options import GenerateOptions
from grym_bridge.generate.prompts import KeptClip, build_prompt, describe_analysis, kept_words
from tests.generate.clips import bright_ticks


def test_analysis_words_follow_the_numbers() -> None:
    dark = {"spectral_centroid_hz": 700, "onset_density": 0.8, "tempo_bpm": 84.6, "tempo_confidence": 0.8,
            "key": "A minor", "key_confidence": 0.7, "stereo_width": 0.4, "crest_factor_db": 18}
    words = describe_analysis(dark)
    assert words == ["dark, warm", "sparse", "punchy, dynamic", "wide stereo", "85 bpm", "in A minor"]
    bright = {"spectral_centroid_hz": 4200, "onset_density": 7.0, "tempo_bpm": 128, "tempo_confidence": 0.1,
              "key": "C major", "key_confidence": 0.1}
    assert describe_analysis(bright) == ["bright, airy", "busy, dense rhythm"]  # unsure tempo and key left out


def test_kept_clips_add_their_recurring_tags_and_words() -> None:
    kept = [KeptClip(tags=("vinyl", "lofi"), prompt="dusty lofi drum loop with vinyl crackle"),
            KeptClip(tags=("lofi",), prompt="mellow lofi piano"),
            KeptClip(tags=(), prompt="the rain")]
    assert kept_words(kept, limit=2) == ["lofi", "vinyl"]
    prompt = build_prompt("drum loop", {"spectral_centroid_hz": 900}, kept)
    assert prompt.startswith("drum loop, dark, warm, lofi, vinyl")


def test_like_a_file_builds_the_prompt_from_its_analysis(config: Config, tmp_path: Path) -> None:
    path = bright_ticks(tmp_path / "ticks.wav", seconds=4.0)
    opts, source = like_request(str(path), GenerateOptions(prompt="hi-hat loop", bars=1), config)
    assert opts.prompt.startswith("hi-hat loop, bright, airy")
    assert source == {"path": str(path), "kind": "like", "kept_clips": 0}
    if "bpm" in opts.prompt:  # the analyzer found the tempo confidently: the loop follows it
        assert abs(opts.tempo_bpm - 120) < 3
