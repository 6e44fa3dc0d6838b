"""Chain specs: validation errors that list valid options, and the round trip through pedalboard."""

from __future__ import annotations

import json

import numpy as np
import pedalboard
import pytest

from plugin_host import ChainError, builtin_plugins, from_pedalboard, parse_chain, to_pedalboard
from plugin_host import process_array
from tests.plugin_host.helpers import SR, noise


def test_catalog_is_introspected_from_pedalboard() -> None:
    catalog = builtin_plugins()
    # every concrete effect class pedalboard exports is there, containers and hosts are not
    for name in ("Reverb", "Compressor", "PeakFilter", "LadderFilter", "Convolution", "Delay"):
        assert name in catalog
    for name in ("Pedalboard", "Chain", "Mix", "VST3Plugin", "IIRFilter"):
        assert name not in catalog
    assert list(catalog["Reverb"].params)[:2] == ["room_size", "damping"]
    assert catalog["Reverb"].params["room_size"].default == pytest.approx(0.5)
    assert catalog["LadderFilter"].params["mode"].choices[:2] == ("LPF12", "HPF12")
    assert catalog["BrickwallLimiter"].params["true_peak"].kind == "bool"
    assert catalog["Convolution"].params["impulse_response_filename"].required


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        ([{"plugin": "Reverbb"}], ["Did you mean 'Reverb'", "Valid plugins:", "Compressor", "VST3"]),
        ([{"plugin": "Reverb", "params": {"roomsize": 0.2}}], ["'room_size'", "damping 0..1"]),
        ([{"plugin": "Reverb", "params": {"room_size": 1.5}}], ["room_size must be within 0..1", "got 1.5"]),
        ([{"plugin": "Gain", "params": {"gain_db": float("nan")}}], ["finite", "gain_db -120..48"]),
        ([{"plugin": "Compressor", "params": {"ratio": "4"}}], ["must be a number", "ratio 1..100"]),
        ([{"plugin": "LadderFilter", "params": {"mode": "HP24"}}], ["one of LPF12", "Did you mean 'HPF24'"]),
        ([{"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 30000}}], ["Nyquist", "1..22028"]),
        ([{"plugin": "Reverb", "mix": 2}], ["mix must be a number within 0..1"]),
        ([{"plugin": "VST3", "path": "/no/such/Thing.vst3"}], ["does not exist", "VST3"]),
        ([{"plugin": "Convolution", "params": {}}], ["needs impulse_response_filename"]),
        ('[{"plugin": "Reverb", ', ["not valid JSON"]),
        ({"effects": []}, ['needs a "chain" list']),
        ([{"plugin": "Gain", "parms": {}}], ["unknown keys ['parms']"]),
    ],
)
def test_bad_chains_name_the_problem_and_the_valid_options(chain: object, expected: list[str]) -> None:
    with pytest.raises(ChainError) as info:
        parse_chain(chain, SR)
    for text in expected:
        assert text in str(info.value)


def test_round_trip_through_pedalboard_objects_keeps_every_value() -> None:
    spec = {"chain": [
        {"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 35.0}},
        {"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": 250.0, "gain_db": -4.0, "q": 1.2}},
        {"plugin": "LadderFilter", "params": {"mode": "HPF24", "cutoff_hz": 30.0}},
        {"plugin": "Reverb", "params": {"room_size": 0.3}, "mix": 0.25},
        {"plugin": "BrickwallLimiter", "params": {"ceiling_db": -1.0, "true_peak": True}},
    ], "mix": 1.0}
    board = to_pedalboard(spec)
    assert isinstance(board, pedalboard.Pedalboard)
    back = from_pedalboard(board)
    by_name = {p.plugin: p for p in back.plugins}
    assert [p.plugin for p in back.plugins] == [e["plugin"] for e in spec["chain"]]
    assert by_name["PeakFilter"].params["q"] == pytest.approx(1.2)
    assert by_name["LadderFilter"].params["mode"] == "HPF24"
    assert by_name["Reverb"].mix == pytest.approx(0.25)
    assert by_name["BrickwallLimiter"].params["true_peak"] is True
    # and the spec survives JSON
    again = parse_chain(json.dumps(back.to_json()))
    assert again.to_json() == back.to_json()


def test_pedalboard_object_and_renderer_sound_the_same_for_a_latency_free_chain() -> None:
    spec = [{"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": 1000.0, "gain_db": 6.0}},
            {"plugin": "Compressor", "params": {"threshold_db": -20.0, "ratio": 4.0}},
            {"plugin": "Reverb", "params": {"room_size": 0.4}, "mix": 0.5}]
    x = noise(2.0)
    via_board = to_pedalboard(spec)(x, SR)
    via_renderer = process_array(spec, x, SR)
    assert np.max(np.abs(via_board - via_renderer)) < 1e-4


def test_chain_level_dry_wet_is_a_crossfade() -> None:
    x = noise(1.0)
    wet = process_array([{"plugin": "Gain", "params": {"gain_db": -6.0}}], x, SR)
    half = process_array({"chain": [{"plugin": "Gain", "params": {"gain_db": -6.0}}], "mix": 0.5}, x, SR)
    assert np.allclose(half, 0.5 * wet + 0.5 * x, atol=1e-5)
