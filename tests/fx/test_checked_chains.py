"""Every suggested chain is checked on the clip: named problems reduced by their amount, directions met,
no move undoing another, loudness matched or on target. Measured with tests/fx/measure.py on renders.

Material: the synthetic mix-shaped noise of tests/fx/material.py with planted problems, a drum loop,
and a band rendered by fluidsynth from General MIDI (`gm_song`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grym_bridge.audio_io import Audio
from grym_bridge.fx import FxService
from grym_bridge.fx.moves import Planned, drop_conflicts
from grym_bridge.fx.suggest import suggest
from grym_bridge.fx.types import Reason
from tests.fx import measure
from tests.fx.conftest import write_clip
from tests.fx.material import SR, base, gm_song, normalize, plant_on
from tests.synth import drum_loop, sine

SECONDS = 4.0


def _render(fx: FxService, tmp_path: Path, name: str, x: np.ndarray, **kw):
    clip = write_clip(tmp_path, name, Audio(np.asarray(x, np.float32), SR))
    s = suggest(Audio(np.asarray(x, np.float32), SR, clip), **kw)
    y = measure.read(fx.render(clip, s.chain_spec()).path)[:, : x.shape[1]]
    return s, y


@pytest.mark.parametrize("material", ["noise", "gm"])
def test_rumble_is_12_db_lower_below_40_hz_with_one_steep_filter(fx: FxService, tmp_path: Path,
                                                                 material: str) -> None:
    clean = np.array(base(SECONDS) if material == "noise" else gm_song(SECONDS))
    x = plant_on(clean, "rumble").samples
    s, y = _render(fx, tmp_path, "rumble", x, fix=["rumble"])
    plugins = [e["plugin"] for e in s.chain]
    assert plugins.count("LadderFilter") == 1 and "HighpassFilter" not in plugins  # no stacked 6 dB/oct copies
    assert s.chain[0]["params"]["mode"] == "HPF24"
    assert measure.sub40_balance_db(y) <= measure.sub40_balance_db(x) - 12.0
    # the music above it is kept: 63-125 Hz within 3 dB of where it was against the mids
    keep = [measure.band_db(z, 63, 125) - measure.band_db(z, 500, 2000) for z in (x, y)]
    assert abs(keep[1] - keep[0]) <= 3.0
    assert not any(e["plugin"] == "LowShelfFilter" and e["params"]["gain_db"] > 0 for e in s.chain)
    assert measure.lufs(y) == pytest.approx(measure.lufs(x), abs=1.0)
    assert [c["passed"] for c in s.checks] == [True]


def test_wider_and_brighter_gets_only_what_was_asked_and_both_happen(fx: FxService, tmp_path: Path) -> None:
    x = np.array(gm_song(SECONDS))
    s, y = _render(fx, tmp_path, "gm", x, goals=["wider", "brighter"])
    assert not {r.problem for r in s.reasons} & {"sibilant", "thin", "mud", "boomy", "harsh", "dull"}
    assert measure.mid_centroid_hz(y) >= 1.05 * measure.mid_centroid_hz(x)
    assert measure.side_fraction(y) >= 1.1 * measure.side_fraction(x)
    assert measure.low_side_db(y) <= measure.low_side_db(x) + 1.0  # width above the crossover only
    assert measure.lufs(y) == pytest.approx(measure.lufs(x), abs=1.0)
    assert {c["name"] for c in s.checks if c["passed"]} == {"wider", "brighter"}


def test_punchier_drums_gain_crest_factor_at_the_same_loudness(fx: FxService, tmp_path: Path) -> None:
    x = normalize(np.repeat(drum_loop(96, bars=2).samples, 2, axis=0), -18.0)
    s, y = _render(fx, tmp_path, "drums", x, goals=["punchier"])
    assert measure.crest_db(y) >= measure.crest_db(x) + 0.5
    assert measure.lufs(y) == pytest.approx(measure.lufs(x), abs=1.0)
    assert measure.true_peak_dbtp(y) <= -1.0
    assert not any(e["plugin"] == "StereoWidth" for e in s.chain)  # no width that un-monos the kick
    assert "crest factor" in s.reasons[0].message


def test_a_named_problem_the_clip_does_not_have_gets_no_move(fx: FxService, tmp_path: Path) -> None:
    x = np.array(base(SECONDS))
    s = suggest(Audio(x, SR), fix=["mud"])
    assert s.chain == []
    assert any(r.problem == "mud" and "nothing to change" in r.message for r in s.reasons)


def test_a_move_that_cannot_meet_its_check_is_dropped_and_said(fx: FxService, tmp_path: Path) -> None:
    tone = sine(100.0, SECONDS, amplitude=0.3)  # one frequency: no shelf moves its centroid
    s = suggest(tone, goals=["brighter"])
    assert not any(e["plugin"] == "HighShelfFilter" for e in s.chain)
    dropped = [r.message for r in s.reasons if r.problem == "dropped" and "brighter" in r.message]
    assert dropped and "NOT met" in dropped[0]


def test_no_move_undoes_another() -> None:
    cut = {"plugin": "PeakFilter", "params": {"cutoff_frequency_hz": 250.0, "gain_db": -6.0, "q": 1.0}}
    boost = {"plugin": "LowShelfFilter", "params": {"cutoff_frequency_hz": 300.0, "gain_db": 3.0, "q": 0.707}}
    hpf = {"plugin": "HighpassFilter", "params": {"cutoff_frequency_hz": 150.0}}
    low_boost = {"plugin": "LowShelfFilter", "params": {"cutoff_frequency_hz": 200.0, "gain_db": 5.7, "q": 0.707}}
    items = [Planned([boost], Reason("style", "warm"), "direction", "warmer"),
             Planned([cut], Reason("mud", "mud cut"), "fix", "mud"),
             Planned([dict(cut)], Reason("mud", "the same cut again"), "corrective", "mud")]
    notes = drop_conflicts(items)
    assert [it.reason.message for it in items] == ["mud cut"] and len(notes) == 2
    items = [Planned([hpf], Reason("style", "lofi"), "direction", "lofi"),
             Planned([low_boost], Reason("thin", "thin shelf"), "corrective", "thin")]
    drop_conflicts(items)
    assert len(items) == 1


def test_lofi_has_no_duplicate_filters(fx: FxService, tmp_path: Path) -> None:
    x = np.array(base(SECONDS))
    s, y = _render(fx, tmp_path, "lofi", x, goals=["lofi"])
    specs = [repr(e) for e in s.chain]
    assert len(specs) == len(set(specs))
    assert measure.band_db(y, 10000, 20000) - measure.band_db(y, 500, 2000) <= \
        measure.band_db(x, 10000, 20000) - measure.band_db(x, 500, 2000) - 6.0


@pytest.mark.parametrize(("target", "lufs"), [("streaming", -14.0), ("club", -8.0), ("broadcast", -23.0),
                                              ("podcast", -16.0)])
def test_destinations_land_within_half_a_lu_under_the_ceiling(fx: FxService, tmp_path: Path, target: str,
                                                               lufs: float) -> None:
    x = normalize(np.array(gm_song(SECONDS)), -24.0)
    clip = write_clip(tmp_path, "gm", Audio(x, SR))
    s = fx.suggest(clip, target=target)
    y = measure.read(fx.render(clip, s.chain_spec()).path)[:, : x.shape[1]]
    assert measure.true_peak_dbtp(y) <= -1.0
    if not any(r.problem == "target_unreachable" for r in s.reasons):
        assert measure.lufs(y) == pytest.approx(lufs, abs=0.5)
    else:  # the reason is honest: the file is indeed short of the target
        assert abs(measure.lufs(y) - lufs) > 0.5


@pytest.mark.parametrize("problem", ["mud", "boom", "harsh", "sibilant", "thin", "dull"])
def test_named_problems_on_rendered_music_are_at_least_halved(fx: FxService, tmp_path: Path, problem: str) -> None:
    """Planted on the fluidsynth band: the planted band's excess (against the clean render) at least halved,
    without overshooting into the opposite problem, and the loudness kept."""
    from tests.fx.material import BANDS

    clean = np.array(gm_song(SECONDS))
    x = plant_on(clean, problem).samples
    s, y = _render(fx, tmp_path, problem, x, fix=[problem])
    lo, hi, _ = BANDS[problem]
    before, after = measure.band_excess_db(x, clean, lo, hi), measure.band_excess_db(y, clean, lo, hi)
    assert abs(after) <= abs(before) / 2, (before, after, [r.message for r in s.reasons])
    assert measure.lufs(y) == pytest.approx(measure.lufs(x), abs=1.0)
    reason = next(r for r in s.reasons if r.problem == problem)
    assert f"by at least {reason.target:g} dB" in reason.message and [c["passed"] for c in s.checks] == [True]
