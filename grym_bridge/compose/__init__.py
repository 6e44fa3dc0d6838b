"""Composition: chords, melody, bass, drums and continuation as .mid files, in a key, style and tempo.

A capability: it knows nothing about transports or the orchestrator. Start at
`compose(ComposeRequest(...))`; styles are one table entry each in `styles.py`.
"""

from grym_bridge.compose.api import KINDS, ComposeRequest, ComposeResult, compose
from grym_bridge.compose.clip import Clip, Note
from grym_bridge.compose.midifile import MidiFileError, read_clip, write_clip
from grym_bridge.compose.styles import STYLES, Style, get_style

__all__ = [
    "KINDS", "STYLES", "Clip", "ComposeRequest", "ComposeResult", "MidiFileError", "Note", "Style",
    "compose", "get_style", "read_clip", "write_clip",
]
