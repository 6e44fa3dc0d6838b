"""Fixtures for the fx tests: planted-problem clips written as files, and an FxService on the test config."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from grym_bridge.audio_io import Audio
from grym_bridge.config import Config
from grym_bridge.fx import FxService
from grym_bridge.paths import PathPolicy


def write_clip(folder: Path, name: str, audio: Audio) -> Path:
    path = folder / f"{name}.wav"
    sf.write(str(path), audio.samples.T, audio.sample_rate, subtype="FLOAT")
    return path


@pytest.fixture
def fx(config: Config) -> FxService:
    """The service as the OSC transport builds it: client paths checked against the allowed roots."""
    return FxService(config, PathPolicy.from_config(config))
