"""Reference matching halves the spectral distance; each style moves the clip the way it says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grym_bridge.audio_io import Audio
from grym_bridge.errors import BadRequest
from grym_bridge.fx import STYLES, FxService
from tests.fx import measure
from tests.fx.conftest import write_clip
from tests.fx.material import SR, band_boost, base, normalize


def test_reference_matching_halves_the_spectral_distance_and_matches_loudness(fx: FxService, tmp_path: Path) -> None:
    x = base(8.0)
    dark = normalize(band_boost(band_boost(x, 3000.0, 20000.0, -7.0), 60.0, 200.0, 4.0), -20.0)
    bright = normalize(band_boost(band_boost(x, 5000.0, 20000.0, 5.0), 200.0, 600.0, -3.0), -11.0)
    mid, side = bright.mean(axis=0), (bright[0] - bright[1]) / 2
    bright = np.stack([mid + 0.4 * side, mid - 0.4 * side]).astype(np.float32)  # a narrower master
    clip = write_clip(tmp_path, "dark", Audio(dark, SR))
    ref = write_clip(tmp_path, "bright_ref", Audio(bright, SR))
    suggestion = fx.suggest(clip, reference=ref)
    assert suggestion.reasons[0].problem == "reference"
    assert suggestion.target.lufs == pytest.approx(measure.lufs(bright), abs=0.2)
    y = measure.read(fx.render(clip, suggestion.chain_spec()).path)[:, : dark.shape[1]]
    before = measure.spectral_distance_db(dark, bright)
    after = measure.spectral_distance_db(y, bright)
    assert before > 3.0
    assert after <= before / 2, (before, after)
    assert measure.lufs(y) == pytest.approx(measure.lufs(bright), abs=0.5)
    assert measure.true_peak_dbtp(y) <= -1.0
    width_gap = abs(measure.side_fraction(dark) - measure.side_fraction(bright))
    assert width_gap > 0.05
    assert abs(measure.side_fraction(y) - measure.side_fraction(bright)) <= width_gap / 2


# style -> (measurement, direction)
def _top(z):  # the air band against the mids
    return measure.band_db(z, 10000, 20000) - measure.band_db(z, 500, 2000)


EFFECTS = {
    "warm": (measure.centroid_hz, -1), "dark": (measure.centroid_hz, -1), "lofi": (_top, -1),
    "bright": (measure.centroid_hz, +1), "airy": (_top, +1),
    "wide": (measure.side_fraction, +1),
    "punchy": (measure.crest_db, +1),  # on a drum loop: steady noise has no transients to bring out
}


@pytest.mark.parametrize("style", STYLES)
def test_style_moves_the_clip_in_its_direction(fx: FxService, tmp_path: Path, style: str) -> None:
    x = base(4.0)
    if style == "punchy":
        from tests.synth import drum_loop

        x = normalize(np.repeat(drum_loop(96, bars=2).samples, 2, axis=0), -18.0)
    clip = write_clip(tmp_path, "clip", Audio(x, SR))
    suggestion = fx.suggest(clip, style=style, target="none")
    assert any(r.problem == "style" and f"'{style}'" in r.message for r in suggestion.reasons)
    y = measure.read(fx.render(clip, suggestion.chain_spec()).path)[:, : x.shape[1]]
    metric, direction = EFFECTS[style]
    assert direction * (metric(y) - metric(x)) > 0


def test_unknown_style_and_target_list_the_valid_ones(fx: FxService, tmp_path: Path) -> None:
    clip = write_clip(tmp_path, "clip", Audio(base(4.0), SR))
    with pytest.raises(BadRequest, match="warm, bright, dark, punchy, wide, airy, lofi"):
        fx.suggest(clip, style="shiny")
    with pytest.raises(BadRequest, match="streaming, club, broadcast, podcast"):
        fx.suggest(clip, target="spotify")
