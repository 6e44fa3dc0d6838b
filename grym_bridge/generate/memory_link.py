"""Generation and the feature memory: "like this clip", "like my kept clips", and remembering results.

`like_request` reads the source clip (a file path, already checked against
the allowed roots, or a memory clip id), takes its analysis and the clips the
user kept, and returns the options for a generation whose prompt they built.
`rememberer` gives the generation runner a hook that analyzes each written
file and stores it in the memory with source "generated" and its provenance.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, NotFound
from grym_bridge.generate.options import GenerateOptions
from grym_bridge.generate.prompts import KeptClip, build_prompt

log = logging.getLogger(__name__)

#: At most this many kept clips feed a prompt (the most recent).
MAX_KEPT = 50


def kept_clips(memory: Any) -> list[KeptClip]:
    """Tags and prompts of the clips the user kept, most recent first."""
    if memory is None:
        return []
    out: list[KeptClip] = []
    for clip_id, _rating in memory.feedback_ids().get("kept", [])[-MAX_KEPT:][::-1]:
        try:
            clip = memory.get(clip_id)
        except NotFound:
            continue
        out.append(KeptClip(tags=tuple(clip.tags), prompt=(clip.provenance or {}).get("prompt")))
    return out


def source_analysis(source: str | int, config: Config, memory: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(analysis, description of the source) for a memory clip id or an audio file path (checked by the caller)."""
    from grym_bridge.analysis import analyze_file
    from grym_bridge.results import to_jsonable

    text = str(source).strip()
    if not text:
        raise BadRequest("source: give an audio file path or a memory clip id")
    if text.isdigit():
        if memory is None:
            raise BadRequest(f"source: {text} looks like a memory clip id, but the feature memory is not available")
        clip = memory.get(int(text))
        features = memory.features(clip.id)
        if features is None:
            features = to_jsonable(analyze_file(Path(clip.path), config))
        return features, {"clip_id": clip.id, "path": clip.path}
    return to_jsonable(analyze_file(Path(text), config)), {"path": text}


def like_request(source: str | int, options: GenerateOptions, config: Config, memory: Any = None,
                 *, use_kept: bool = True) -> tuple[GenerateOptions, dict[str, Any]]:
    """Options for "generate something like `source`": the prompt built from its analysis and the kept clips.

    What the user typed (`options.prompt`) stays the subject. When the session
    gives no tempo, a confidently detected tempo of the source is used.
    """
    analysis, described = source_analysis(source, config, memory)
    kept = kept_clips(memory) if use_kept else []
    prompt = build_prompt(options.prompt or "", analysis, kept)
    tempo = options.tempo_bpm
    if tempo is None and (analysis.get("tempo_confidence") or 0) >= 0.3 and analysis.get("tempo_bpm"):
        tempo = float(analysis["tempo_bpm"])
    described = {**described, "kind": "like", "kept_clips": len(kept)}
    return replace(options, prompt=prompt, tempo_bpm=tempo), described


def rememberer(memory: Any, config: Config) -> Callable[[Path, dict[str, Any]], int | None]:
    """A hook that analyzes a generated file and stores it in `memory` (source "generated")."""

    def remember(path: Path, provenance: dict[str, Any]) -> int | None:
        from grym_bridge.analysis import analyze_file

        analysis = analyze_file(path, config)
        clip = memory.add_clip(path, analysis=analysis, source="generated", provenance=provenance,
                               tags=("generated",))
        return int(clip.id)

    return remember
