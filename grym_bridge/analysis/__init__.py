"""Audio analysis: loudness, tempo, key, spectrum, rhythm and harmony patterns, a feature vector.

    from grym_bridge.analysis import analyze_file
    result = analyze_file("loop.wav", config)      # an Analysis dataclass
    grym_bridge.results.dumps(result)              # its JSON

`ANALYZER_VERSION` changes whenever a feature's meaning or the vector layout
changes; feature memory compares it to find rows to re-analyse.
"""

from __future__ import annotations

from grym_bridge.analysis.analyzer import (ANALYZER_VERSION, METER_OF_TIME_SIGNATURE, Analysis, analyze,
                                          analyze_file, meter_class, stereo_image)
from grym_bridge.analysis.features import FEATURE_DIM, FEATURE_NAMES
from grym_bridge.analysis.harmony import KEY_PROFILES, PITCH_CLASSES, parse_key
from grym_bridge.analysis.spectrum import BANDS

__all__ = [
    "ANALYZER_VERSION",
    "Analysis",
    "BANDS",
    "FEATURE_DIM",
    "FEATURE_NAMES",
    "KEY_PROFILES",
    "METER_OF_TIME_SIGNATURE",
    "PITCH_CLASSES",
    "analyze",
    "analyze_file",
    "meter_class",
    "parse_key",
    "stereo_image",
]
