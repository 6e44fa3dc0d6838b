"""Multi-stem recommendations: headroom, masking pairs with the move that resolves them, pan and width."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grym_bridge.errors import BadRequest
from grym_bridge.fx import FxService
from plugin_host import process_array
from tests.fx import measure
from tests.fx.conftest import write_clip
from tests.fx.material import SR, stems


@pytest.fixture
def stem_files(tmp_path: Path) -> dict[str, Path]:
    return {name: write_clip(tmp_path, name, audio) for name, audio in stems().items()}


def test_mix_recommendation_resolves_masking_and_stages_gain(fx: FxService, stem_files: dict[str, Path]) -> None:
    result = fx.mix(list(stem_files.values()))
    by_name = {s.name: s for s in result.stems}
    assert {s.role for s in result.stems} == {"kick", "bass", "vocal", "keys"}

    # gain staging: the same trim on every stem puts the summed true peak at the headroom
    trims = {s.gain_db for s in result.stems}
    assert len(trims) == 1
    gain = 10 ** (trims.pop() / 20)
    mix = sum(measure.read(p) for p in stem_files.values()) * gain
    assert measure.true_peak_dbtp(mix) == pytest.approx(-6.0, abs=0.2)

    # kick and bass mask each other in the low end: the bass yields, and its cut measurably clears the kick
    pairs = {(c.a, c.b): c for c in result.conflicts}
    kick_bass = pairs[("kick", "bass")]
    assert kick_bass.cut_stem == "bass" and kick_bass.hi_hz < 150
    bass = measure.read(stem_files["bass"])
    kick = measure.read(stem_files["kick"])
    cut = process_array([kick_bass.move], bass.astype(np.float32), SR)
    lo, hi = kick_bass.lo_hz, kick_bass.hi_hz
    gap_before = measure.band_db(kick, lo, hi) - measure.band_db(bass, lo, hi)
    gap_after = measure.band_db(kick, lo, hi) - measure.band_db(cut, lo, hi)
    assert gap_after - gap_before >= abs(kick_bass.move["params"]["gain_db"]) / 2

    # the vocal keeps its mids; keys yield and move off centre
    vocal_keys = pairs[("lead_vocal", "keys")]
    assert vocal_keys.cut_stem == "keys"
    assert by_name["keys"].pan != 0 and by_name["lead_vocal"].pan == 0 and by_name["kick"].pan == 0
    # the chorused bass is folded to mono
    assert by_name["bass"].width_percent == 0.0
    assert any(r.problem == "width" for r in by_name["bass"].reasons)
    assert any(r.problem == "masking" and "so kick speaks" in r.message for r in by_name["bass"].reasons)


def test_mix_needs_two_stems(fx: FxService, stem_files: dict[str, Path]) -> None:
    with pytest.raises(BadRequest, match="two or more stems"):
        fx.mix([stem_files["kick"]])


def test_a_drum_bus_with_its_kick_is_never_panned_and_width_stays_above_the_crossover(
        fx: FxService, tmp_path: Path) -> None:
    from grym_bridge.audio_io import Audio
    from tests.fx.material import base, normalize
    from tests.synth import drum_loop

    drums = np.repeat(drum_loop(120, bars=3).samples[:, : 6 * SR], 2, axis=0)
    pad = np.array(base(6.0, seed=3))
    mid = pad.mean(axis=0)
    pad = np.stack([mid + 0.02 * (pad[0] - mid), mid - 0.02 * (pad[0] - mid)])  # nearly mono, full range
    files = {name: write_clip(tmp_path, name, Audio(normalize(x.astype(np.float32), -16.0), SR))
             for name, x in {"drum_bus": drums, "guitar": pad, **{k: v.samples for k, v in stems().items()}}.items()}
    result = fx.mix(list(files.values()))
    by_name = {s.name: s for s in result.stems}
    for name in ("drum_bus", "kick", "bass"):
        assert by_name[name].pan == 0.0, name
    assert any("low end" in r.message for r in by_name["drum_bus"].reasons if r.problem == "pan")
    widen = [e for e in by_name["guitar"].chain if e["plugin"] == "StereoWidth"]
    assert widen and widen[0]["params"]["crossover_hz"] > 0
    x = measure.read(files["guitar"]).astype(np.float32)
    y = process_array(widen, x, SR)
    assert measure.side_fraction(y) > measure.side_fraction(x)
    assert measure.low_side_db(y) <= measure.low_side_db(x) + 1.0
