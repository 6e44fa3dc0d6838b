"""Prompts from what the bridge knows: a clip's analysis, and the clips the user kept.

The seeds' bidirectional workflow: analysis informs generation. "Like this
clip" turns an analysis (tempo, key, brightness, density, dynamics, width)
into words AudioLDM was trained on; "like my kept clips" adds the tags and
the prompt words that recur among clips the user kept. The thresholds are
rules of thumb for mixed music material, stated next to each word.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from grym_bridge.errors import BadRequest
from grym_bridge.results import to_jsonable

#: Words of earlier prompts that say nothing about the sound.
_STOPWORDS = frozenset(
    "a an and the of with in on at to for from by like very some this that loop sound music track clip bpm".split()
)
_WORD_RE = re.compile(r"[a-z][a-z\-]+")


@dataclass(frozen=True)
class KeptClip:
    """What a kept clip contributes: its tags and, if it was generated, the prompt that made it."""

    tags: tuple[str, ...] = ()
    prompt: str | None = None


def _num(analysis: Mapping[str, Any], key: str) -> float | None:
    value = analysis.get(key)
    return float(value) if isinstance(value, (int, float)) and value == value else None


def describe_analysis(analysis: Any) -> list[str]:
    """Descriptive phrases for an analysis (an `Analysis` dataclass or its JSON dict)."""
    a = to_jsonable(analysis)
    if not isinstance(a, Mapping):
        raise BadRequest("like: the clip has no analysis to build a prompt from; analyze it first")
    words: list[str] = []
    centroid = _num(a, "spectral_centroid_hz")
    if centroid is not None:  # where the spectrum's weight sits
        words.append("dark, warm" if centroid < 1200 else "bright, airy" if centroid > 3000 else "balanced, full")
    density = _num(a, "onset_density")  # onsets per second
    if density is not None:
        words.append("sparse" if density < 1.5 else "busy, dense rhythm" if density > 5 else "steady groove")
    crest = _num(a, "crest_factor_db")
    if crest is not None and crest > 16:
        words.append("punchy, dynamic")
    elif crest is not None and crest < 9:
        words.append("compressed, loud")
    width = _num(a, "stereo_width")
    if width is not None and width > 0.25:
        words.append("wide stereo")
    tempo, tempo_conf = _num(a, "tempo_bpm"), _num(a, "tempo_confidence") or 0.0
    if tempo and tempo_conf >= 0.3:
        words.append(f"{round(tempo)} bpm")
    key, key_conf = a.get("key"), _num(a, "key_confidence") or 0.0
    if isinstance(key, str) and key and key_conf >= 0.3:
        words.append(f"in {key}")
    return words


def kept_words(kept: Iterable[KeptClip], limit: int = 4) -> list[str]:
    """The tags and prompt words that recur most among kept clips (tags count double)."""
    counts: Counter[str] = Counter()
    for clip in kept:
        for tag in clip.tags:
            counts[tag.strip().lower()] += 2
        for word in set(_WORD_RE.findall((clip.prompt or "").lower())):
            if word not in _STOPWORDS:
                counts[word] += 1
    return [w for w, _n in counts.most_common(limit) if w]


def build_prompt(subject: str = "", analysis: Any = None, kept: Iterable[KeptClip] = ()) -> str:
    """A prompt: the subject (what the user typed, or "music loop"), the analysis' words, the kept clips' words."""
    parts: list[str] = [subject.strip() or "music loop"]
    if analysis is not None:
        parts += describe_analysis(analysis)
    for word in kept_words(kept):
        if all(word not in p for p in parts):
            parts.append(word)
    return ", ".join(parts)
