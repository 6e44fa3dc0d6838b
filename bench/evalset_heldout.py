"""The evaluation set's held-out group: clips added after all tuning and fitting, for confirmation only.

Used by bench/evalset.py (see there for the whole set). Everything in this group is measure-only:
it was added after the key scorer's hand-set parts were tuned on the tune part and its weights
fitted on bench/trainset.py's clips, and nothing may ever be chosen on it (a setting, a profile, a
threshold): it says whether the figures on the original measure part hold on clips nobody looked at.

Its recipes collide with neither the rest of the evaluation set nor the trainset:
- **songs** (24): evalset's song renderer, every one of the 24 keys once, seeds 11000+ (evalset uses
  2000+ and 6000+, the trainset 7000+), felt tempi on half beats (both others use whole ones), and
  band programs (`HELDOUT_BANDS`) that neither uses;
- **compositions** (9): grym's compose in each style with seeds 12000+ (evalset 5000+, the trainset
  9000+), tempi off the style's default (both others use the default), two waltzes in 3/4;
- **corpus pieces** (up to 12): Bach chorales from `chorales[2::3]` and Ryan's Mammoth fiddle tunes
  from `tunes[1::5]` (evalset picks from `[::3]`/`[::5]`, the trainset from `[1::3]`/`[2::5]`), and
  checked by source against both lists; transposed to other tonics, at half-beat tempi.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from evalset_corpus import pick_pieces

from grym_bridge.analysis.harmony import PITCH_CLASSES, parse_key

#: (comping, bass, pad, lead) General MIDI programs that the evaluation set's and trainset's BANDS do not use
HELDOUT_BANDS = [(1, 36, 51, 74), (7, 37, 94, 69), (26, 39, 95, 61), (11, 87, 92, 72), (3, 36, 90, 68),
                 (24, 37, 93, 79)]
SEED_SONG, SEED_COMPOSED = 11000, 12000


def heldout_song_specs() -> list[dict[str, Any]]:
    """24 generated songs: each key once (tonics stepping by fourths), four meters' worth, half-beat tempi."""
    meters = ["6/8", "4/4", "3/4", "4/4"]
    specs = []
    for i in range(24):
        mode = "minor" if i < 12 else "major"
        tonic = (5 * i + 2) % 12  # 5 is prime to 12: each tonic once per mode
        meter = meters[i % 4]
        felt = 58.5 + (37 * i) % 100  # 58.5 .. 157.5, spread, never a whole number
        bpm = felt * (1.5 if meter == "6/8" else 1.0)
        if meter == "6/8" and bpm > 180:
            bpm /= 2
        specs.append({"kind": "song", "key": f"{PITCH_CLASSES[tonic]} {mode}", "meter": meter, "bpm": float(bpm),
                      "drums": i % 5 != 3, "seed": SEED_SONG + i, "programs": list(HELDOUT_BANDS[i % 6]),
                      "house": mode == "minor" and meter == "4/4" and i % 6 == 1})
    return specs


def heldout_composed_specs() -> list[dict[str, Any]]:
    """9 compositions from grym's compose: every style, tempi off the style's, two in 3/4."""
    from grym_bridge.compose.styles import STYLES

    styles = ["pop", "jazz", "lofi", "house", "cinematic", "trap", "jazz", "pop", "cinematic"]
    specs = []
    for i, style in enumerate(styles):
        mode = "major" if i % 2 == 0 else "minor"
        tonic = (7 * i + 4) % 12
        meter = "3/4" if i in (6, 8) else "4/4"
        tempo = int(STYLES[style].tempo * (0.88 if i % 2 else 1.09)) + 0.5  # off the default, on a half beat
        bars = int(30.0 * tempo / 60 / (3 if meter == "3/4" else 4)) + 2  # at least 30 s of music
        specs.append({"kind": "composed", "style": style, "key": f"{PITCH_CLASSES[tonic]} {mode}", "meter": meter,
                      "bpm": float(tempo), "tempo": float(tempo), "bars": bars, "seed": SEED_COMPOSED + i})
    return specs


def heldout_corpus_specs(used: set[str]) -> list[dict[str, Any]]:
    """Up to 12 music21 pieces (4 chorales in 4/4, 2 in 3/4, 3 jigs, 3 reels/hornpipes) not in `used` (sources)."""
    from music21 import corpus

    chorales = sorted(p for p in corpus.getComposer("bach") if p.suffix == ".mxl")
    tunes = sorted(corpus.getComposer("ryansMammoth"))
    wanted = {"chorale44": 4, "chorale34": 2, "jig": 3, "reel": 3}
    picks = pick_pieces([p for pair in zip(chorales[2::3], tunes[1::5]) for p in pair], chorales, wanted, used)
    specs = []
    for i, (path, bucket, key, meter) in enumerate(picks):
        tonic, mode = parse_key(key)
        target = (5 * i + 3) % 12
        shift = (target - tonic + 6) % 12 - 6
        felt = {"chorale44": 62.5 + 5 * (i % 5), "chorale34": 80.5 + 7 * (i % 3), "jig": 94.5 + 5 * (i % 4),
                "reel": 98.5 + 5 * (i % 4)}[bucket]
        specs.append({"kind": "corpus", "source": f"{path.parent.name}/{path.name}", "bucket": bucket,
                      "key": f"{PITCH_CLASSES[(tonic + shift) % 12]} {mode}", "meter": meter,
                      "bpm": float(felt * (1.5 if meter == "6/8" else 1.0)), "shift": shift,
                      "program": [40, 1, 52, 68, 22, 11][i % 6]})
    return specs


def heldout_specs(folder: Path, trainset_folder: Path, version: str) -> list[dict[str, Any]]:
    """The whole held-out group; the corpus choice is cached in `folder` (choosing parses ~100 scores)."""
    picked = folder / f"heldout_corpus_specs_v{version}.json"
    if picked.exists():
        corpus = json.loads(picked.read_text())
    else:
        # The file slots already keep the three sets apart (chorales [::3], [1::3], [2::3]; tunes [::5],
        # [2::5], [1::5]); the names are checked as well, against the trainset's list where it is built
        # (without it the choice is the same: checked 2026-12-03), so a fresh clone needs no trainset.
        lists = [folder / f"corpus_specs_v{version}.json", trainset_folder / "corpus_specs.json"]
        used = {s["source"] for p in lists if p.exists() for s in json.loads(p.read_text())}
        try:
            corpus = heldout_corpus_specs(used)
        except ImportError:  # not cached: a later run with music21 chooses them
            print("music21 is not installed (pip install music21): held-out corpus pieces left out", file=sys.stderr)
            return heldout_song_specs() + heldout_composed_specs()
        picked.write_text(json.dumps(corpus))
    return heldout_song_specs() + heldout_composed_specs() + corpus
