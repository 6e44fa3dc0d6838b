"""The two chromas of one band: the folded one (chords, meter, segments, the no-key gate) and the one
read from spectral peaks (the key), on sine tones whose pitch is known."""

from __future__ import annotations

import numpy as np
import pytest

from grym_bridge.analysis import harmony, spectrum
from grym_bridge.analysis.harmony import PITCH_CLASSES

SR = 44100


def _shares(midi: float) -> tuple[np.ndarray, np.ndarray]:
    """(folded, peak) mean chroma of a steady 2 s sine at `midi`, each summing to 1."""
    t = np.arange(2 * SR) / SR
    sine = (0.3 * np.sin(2 * np.pi * 440.0 * 2 ** ((midi - 69) / 12) * t)).astype(np.float32)
    folded, peaks = harmony.chromagrams(spectrum.stft_power(sine, SR))
    return folded.mean(axis=0) / folded.mean(axis=0).sum(), peaks.mean(axis=0) / peaks.mean(axis=0).sum()


@pytest.mark.parametrize("midi", range(48, 60))  # C3..B3: there the STFT's bins are about a semitone wide
def test_a_low_note_stays_on_its_own_pitch_class_in_the_peak_chroma(midi: int) -> None:
    folded, peaks = _shares(midi)
    pc = midi % 12
    assert int(np.argmax(peaks)) == pc, f"{PITCH_CLASSES[pc]}: {np.round(peaks, 2)}"
    assert peaks[pc] > 0.9, np.round(peaks, 2)
    assert folded[pc] < 0.6  # what the folded chroma keeps: the rest is smeared onto the semitones beside


def test_a_detuned_note_leans_towards_the_class_it_is_nearer_in_proportion() -> None:
    """Placed at its interpolated frequency, not its bin's: 20 and 40 cents sharp or flat of A3."""
    above, below = PITCH_CLASSES.index("Bb"), PITCH_CLASSES.index("Ab")
    lean = {cents: _shares(57 + cents / 100.0)[1] for cents in (-40, -20, 20, 40)}
    for cents, shares in lean.items():
        assert int(np.argmax(shares)) == PITCH_CLASSES.index("A")
        near, far = (above, below) if cents > 0 else (below, above)
        assert shares[near] > shares[far]
    assert lean[40][above] > 3 * lean[20][above] and lean[-40][below] > 3 * lean[-20][below]


def test_quiet_peaks_under_the_floor_are_left_out() -> None:
    """A second tone 50 dB under the first (past PEAK_FLOOR_DB) leaves the peak chroma as it was; 30 dB
    under, it shows."""
    t = np.arange(2 * SR) / SR
    a4 = 0.3 * np.sin(2 * np.pi * 440.0 * t)
    e5 = np.sin(2 * np.pi * 659.26 * t)

    def peak_share_of_e(level_db: float) -> float:
        x = (a4 + 0.3 * 10 ** (level_db / 20) * e5).astype(np.float32)
        peaks = harmony.chromagrams(spectrum.stft_power(x, SR))[1].mean(axis=0)
        return float(peaks[PITCH_CLASSES.index("E")] / peaks.sum())

    assert peak_share_of_e(-50.0) < 1e-3
    assert peak_share_of_e(-30.0) > 0.01
