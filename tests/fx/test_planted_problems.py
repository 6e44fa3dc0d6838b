"""Acceptance: a planted problem is named, and rendering the suggestion measurably fixes it.

Every check reads the rendered file and measures it with tests/fx/measure.py
(pyloudnorm, scipy), never with the code that made the suggestion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grym_bridge.audio_io import Audio
from grym_bridge.fx import FxService
from tests.fx import measure
from tests.fx.conftest import write_clip
from tests.fx.material import SR, base, plant

TARGET_LUFS, CEILING = -14.0, -1.0


def _suggest_and_render(fx: FxService, tmp_path: Path, problem: str):
    audio = plant(problem)
    clip = write_clip(tmp_path, problem, audio)
    suggestion = fx.suggest(clip, target="streaming")
    rendered = fx.render(clip, suggestion.chain_spec(), ab=True)
    return suggestion, measure.read(clip), measure.read(rendered.path)[:, : audio.frames]


def _loudness_on_target(y: np.ndarray) -> None:
    assert measure.lufs(y) == pytest.approx(TARGET_LUFS, abs=0.5)
    assert measure.true_peak_dbtp(y) <= CEILING


@pytest.mark.parametrize(("problem", "code"), [("rumble", "rumble"), ("mud", "mud"), ("harsh", "harsh")])
def test_spectral_problem_is_named_and_its_excess_at_least_halved(fx: FxService, tmp_path: Path, problem: str,
                                                                   code: str) -> None:
    suggestion, x, y = _suggest_and_render(fx, tmp_path, problem)
    flagged = [r for r in suggestion.reasons if r.problem == code]
    assert flagged, [r.message for r in suggestion.reasons]
    reason = flagged[0]
    assert "above the target curve" in reason.message and reason.plugins
    lo, hi = reason.band_hz
    clean = base(12.0)
    before = measure.band_excess_db(x, clean, lo, hi)
    after = measure.band_excess_db(y, clean, lo, hi)
    assert before > 3.0
    assert after <= before / 2, (before, after)
    _loudness_on_target(y)


def test_too_quiet_reaches_the_target_under_the_ceiling(fx: FxService, tmp_path: Path) -> None:
    suggestion, x, y = _suggest_and_render(fx, tmp_path, "too_quiet")
    assert [r.problem for r in suggestion.reasons] == ["too_quiet"]
    assert measure.lufs(x) < TARGET_LUFS - 15
    _loudness_on_target(y)


def test_too_dynamic_gets_compressed(fx: FxService, tmp_path: Path) -> None:
    suggestion, x, y = _suggest_and_render(fx, tmp_path, "too_dynamic")
    assert "too_dynamic" in [r.problem for r in suggestion.reasons]
    sections = 4 * SR  # the material alternates loud and quiet 4 s sections

    def spread(z: np.ndarray) -> float:
        rms = [10 * np.log10(np.mean(z[:, k * sections + SR: (k + 1) * sections] ** 2)) for k in range(4)]
        return float(np.mean(rms[0::2]) - np.mean(rms[1::2]))

    assert spread(x) > 15
    assert spread(y) <= spread(x) / 2
    _loudness_on_target(y)


def test_too_narrow_gets_wider(fx: FxService, tmp_path: Path) -> None:
    suggestion, x, y = _suggest_and_render(fx, tmp_path, "too_narrow")
    assert "too_narrow" in [r.problem for r in suggestion.reasons]
    assert measure.side_fraction(x) < 0.03
    assert measure.side_fraction(y) >= 0.1
    _loudness_on_target(y)


def test_a_balanced_clip_gets_only_its_loudness_move(fx: FxService, tmp_path: Path) -> None:
    clip = write_clip(tmp_path, "clean", plant("clean"))
    suggestion = fx.suggest(clip, target="broadcast")
    assert [r.problem for r in suggestion.reasons] == ["too_loud"]
    assert [e["plugin"] for e in suggestion.chain] == ["Gain", "BrickwallLimiter"]
    assert fx.suggest(clip, target="none").chain == []


def test_silence_and_a_pure_tone_get_no_tonal_moves(fx: FxService, tmp_path: Path) -> None:
    from grym_bridge.audio_io import Audio

    silent = write_clip(tmp_path, "silent", Audio(np.zeros((2, SR * 2), np.float32), SR))
    suggestion = fx.suggest(silent, style="warm")
    assert [r.problem for r in suggestion.reasons] == ["silent"] and suggestion.chain == []
    t = np.arange(SR * 3) / SR
    tone = write_clip(tmp_path, "tone", Audio(np.tile(0.3 * np.sin(2 * np.pi * 1000 * t), (2, 1)), SR))
    suggestion = fx.suggest(tone)
    assert "narrow_band" in [r.problem for r in suggestion.reasons]
    assert not {e["plugin"] for e in suggestion.chain} & {"PeakFilter", "LowShelfFilter", "HighShelfFilter"}


def test_an_unreachable_loudness_target_is_said_not_crashed(fx: FxService, tmp_path: Path) -> None:
    """A quiet, very peaky clip (sparse clicks) cannot reach club loudness under the ceiling with a clean limiter.

    The suggestion must still come back: make-up gain inside the Gain plugin's range, the loudest verified
    result, and a reason that says the target is out of reach and what to do instead.
    """
    rng = np.random.default_rng(3)
    x = np.zeros((2, 8 * SR), np.float32)
    click = (np.exp(-np.arange(int(0.004 * SR)) / (0.0008 * SR)) * rng.standard_normal(int(0.004 * SR)))
    for start in range(0, x.shape[1] - click.size, SR // 2):
        x[:, start:start + click.size] = click.astype(np.float32)
    x = x / np.abs(x).max() * 10 ** (-30 / 20)  # peaks at -30 dBFS
    clip = write_clip(tmp_path, "clicks", Audio(x, SR))
    suggestion = fx.suggest(clip, target="club")
    gains = [m["params"]["gain_db"] for m in suggestion.chain if m["plugin"] == "Gain"]
    assert gains and all(g <= 48.0 for g in gains)
    unreachable = [r for r in suggestion.reasons if r.problem == "target_unreachable"]
    assert len(unreachable) == 1 and "quieter target" in unreachable[0].message
    rendered = measure.read(fx.render(clip, suggestion.chain_spec()).path)[:, : x.shape[1]]
    assert measure.lufs(rendered) < -9.0  # truly out of reach, as the reason says
    assert measure.lufs(rendered) == pytest.approx(suggestion.predicted["lufs"], abs=0.5)
    assert measure.true_peak_dbtp(rendered) <= CEILING
