"""DAW-native mapping: device choices, parameter values in device units, and the generated doc."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from grym_bridge.errors import BadRequest
from grym_bridge.fx import map_chain
from grym_bridge.fx.daw_docs import render_markdown

CHAIN = [
    {"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 45.0}},
    {"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 45.0}},
    {"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": 250.0, "gain_db": -6.0, "q": 1.41}},
    {"plugin": "Compressor", "params": {"threshold_db": -20.0, "ratio": 4.0, "attack_ms": 30.0, "release_ms": 200.0}},
    {"plugin": "Reverb", "params": {"room_size": 0.3, "wet_level": 0.3, "dry_level": 0.7}, "mix": 0.5},
    {"plugin": "Gain", "params": {"gain_db": 5.0}},
    {"plugin": "BrickwallLimiter", "params": {"ceiling_db": -1.0, "true_peak": True}},
    {"plugin": "PitchShift", "params": {"semitones": 3.0}},
]


def _params(move) -> dict:
    return {p.name: p.value for p in move.params}


def test_ableton_devices_and_units() -> None:
    m = map_chain(CHAIN, "Ableton")
    assert [d.device for d in m.devices] == ["EQ Eight", "Glue Compressor", "Reverb", "Utility", "Limiter", None]
    eq = _params(m.devices[0])
    assert m.devices[0].plugins == [0, 1, 2]
    assert eq["1 Filter Type A"] == "Low Cut 12" and eq["1 Frequency A"] == 45.0  # two 6 dB stages = 12 dB/oct
    assert (eq["2 Filter Type A"], eq["2 Frequency A"], eq["2 Gain A"], eq["2 Resonance A"]) == ("Bell", 250.0, -6.0,
                                                                                                  1.41)
    assert _params(m.devices[1])["Ratio"] == 4.0  # ratio and attack Glue offers: the bus compressor
    assert _params(m.devices[2])["Dry/Wet"] == pytest.approx(50 * 0.3 / 1.0)
    assert _params(m.devices[4])["Ceiling"] == -1.0 and _params(m.devices[4])["Mode"] == "True Peak"
    assert m.unmapped == [7]


def test_reaper_stock_plugins_and_units() -> None:
    m = map_chain({"chain": CHAIN, "mix": 1.0}, "reaper")
    assert [d.device for d in m.devices] == ["ReaEQ", "ReaComp", "ReaVerbate", "JS: Volume Adjustment", "ReaLimit",
                                             None]
    eq = _params(m.devices[0])
    q = 1.41
    octaves = 2 / math.log(2) * math.asinh(1 / (2 * q))
    assert eq["Band 2 Type"] == "Band" and eq["Band 2 Bandwidth"] == pytest.approx(octaves, abs=1e-3)
    verb = _params(m.devices[2])
    assert verb["Wet"] == pytest.approx(20 * math.log10(0.3 * 0.5), abs=0.01)
    assert verb["Dry"] == pytest.approx(20 * math.log10(0.7), abs=0.01)
    assert _params(m.devices[1])["Threshold"] == -20.0
    assert _params(m.devices[4])["True peak"] is True


def test_bad_daw_or_chain_is_a_clear_error() -> None:
    with pytest.raises(BadRequest, match="reaper, ableton"):
        map_chain(CHAIN, "logic")
    with pytest.raises(BadRequest, match="Valid plugins"):
        map_chain([{"plugin": "ReaEQ"}], "reaper")


def test_docs_table_is_generated_from_the_code() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "daw_mapping.md"
    assert doc.read_text(encoding="utf-8") == render_markdown(), \
        "docs/daw_mapping.md is stale: python -m grym_bridge.fx.daw_docs > docs/daw_mapping.md"
