"""Style templates: one table entry per style, read by every composer.

Patterns are strings over a bar of sixteenth-note steps (tiled or cut for
other meters):

- chords and bass: a symbol starts a note, `-` holds it, `.` is silence.
  Bass symbols: `R` root, `3` third, `5` fifth, `O` root an octave up,
  `A` a scale step leading to the next chord's root. Chords use `X`.
- drums: `X` accent, `x` normal, `o` ghost, `r` a roll of two 32nds, `.` rest.

Progressions are 1-based scale degrees, so they work in every key and mode.
To add a style, add one `Style(...)` to `STYLES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grym_bridge.errors import BadRequest

#: General MIDI percussion notes by the names the drum patterns use.
DRUM_NOTES: dict[str, int] = {
    "kick": 36, "rim": 37, "snare": 38, "clap": 39, "closed_hat": 42, "pedal_hat": 44,
    "low_tom": 45, "open_hat": 46, "mid_tom": 47, "crash": 49, "high_tom": 50, "ride": 51, "shaker": 70,
}


@dataclass(frozen=True)
class Style:
    """Everything that makes a style sound like itself."""

    name: str
    description: str
    progressions: tuple[tuple[int, ...], ...]
    chord_size: int = 3  # 3 triads, 4 sevenths, 5 ninths
    chords_per_bar: float = 1.0  # 0.5: one chord every two bars
    chord_rhythm: str = "X---------------"
    bass: str = "R-------R-------"
    bass_octave: int = 36  # register of the bass root (C2)
    drums: dict[str, str] = field(default_factory=dict)
    melody_density: float = 0.5  # chance of a note on a weak step (strong steps get more)
    melody_grid: float = 0.5  # beats per melody step
    melody_range: tuple[int, int] = (62, 84)
    chord_center: int = 62  # voicings gravitate around this pitch
    swing: float = 0.0
    swing_unit: float = 0.25  # 0.25 swings sixteenths, 0.5 swings eighths
    humanize: float = 0.2
    tempo: float = 110.0
    #: Diatonic styles keep every pitched note in the key; jazz borrows the
    #: harmonic-minor dominant in minor keys.
    diatonic: bool = True


STYLES: dict[str, Style] = {s.name: s for s in (
    Style(
        "pop", "four-chord pop: triads, a bar each, eighth-note bass, straight backbeat",
        progressions=((1, 5, 6, 4), (6, 4, 1, 5), (1, 6, 4, 5), (4, 1, 5, 6)),
        chord_rhythm="X-------X-------", bass="R-R-R-R-R-R-5-R-",
        drums={"kick": "X.......X.x.....", "snare": "....X.......X...", "closed_hat": "x.x.x.x.x.x.x.x."},
        melody_density=0.55, tempo=110.0, humanize=0.2,
    ),
    Style(
        "jazz", "ii-V-I: seventh chords with Charleston comping, walking bass, swung ride",
        progressions=((2, 5, 1, 1), (2, 5, 1, 6), (1, 6, 2, 5), (3, 6, 2, 5)),
        chord_size=4, chord_rhythm="X-----X-........", bass="R---3---5---A---",
        drums={"ride": "X...x.x.X...x.x.", "pedal_hat": "....x.......x...", "kick": "o.......o......."},
        melody_density=0.6, swing=0.65, swing_unit=0.5, tempo=140.0, humanize=0.35, diatonic=False,
    ),
    Style(
        "lofi", "lofi hip-hop: ninth chords, lazy swung drums, sparse melody",
        progressions=((2, 5, 1, 6), (1, 6, 2, 5), (4, 3, 2, 1), (6, 4, 1, 5)),
        chord_size=5, chord_rhythm="X-------------..", bass="R-----R---..5---",
        drums={"kick": "X.....x...X.....", "snare": "....X.......X...", "closed_hat": "x.x.x.x.x.x.x.xo"},
        melody_density=0.4, swing=0.55, tempo=85.0, humanize=0.6, chord_center=60,
    ),
    Style(
        "house", "house: minor-seventh off-beat stabs, off-beat bass, four on the floor",
        progressions=((1, 6, 4, 5), (6, 4, 1, 5), (1, 4, 6, 5), (1, 7, 6, 7)),
        chord_size=4, chord_rhythm="..X...X...X...X.", bass="..R-..R-..R-..O-",
        drums={"kick": "X...X...X...X...", "clap": "....X.......X...", "open_hat": "..X...X...X...X.",
               "closed_hat": "x.x.x.x.x.x.x.x."},
        melody_density=0.45, melody_grid=0.25, tempo=124.0, humanize=0.1,
    ),
    Style(
        "cinematic", "cinematic: slow triads two bars each, pedal bass, toms",
        progressions=((1, 6, 3, 7), (1, 4, 6, 5), (6, 4, 1, 5), (1, 3, 4, 4)),
        chords_per_bar=0.5, chord_rhythm="X---------------", bass="R---------------", bass_octave=31,
        drums={"low_tom": "X.....x...X.....", "kick": "X.......X.......", "crash": "X..............."},
        melody_density=0.3, melody_grid=1.0, melody_range=(60, 81), tempo=80.0, humanize=0.25, chord_center=58,
    ),
    Style(
        "trap", "trap: dark triads, long 808, half-time snare, hi-hat rolls",
        progressions=((1, 6, 7, 6), (1, 4, 6, 5), (1, 1, 6, 7), (6, 7, 1, 1)),
        chords_per_bar=0.5, chord_rhythm="X---------------", bass="R-------.--R-R--", bass_octave=31,
        drums={"kick": "X......X..X.....", "snare": "........X.......", "closed_hat": "x.x.x.x.xrx.x.rx"},
        melody_density=0.5, melody_grid=0.25, tempo=140.0, humanize=0.15,
    ),
)}


def get_style(name: str) -> Style:
    """The style called `name`, or a BadRequest that lists them all."""
    style = STYLES.get(str(name).strip().lower())
    if style is None:
        raise BadRequest(f"unknown style {name!r}: use one of {', '.join(STYLES)}")
    return style
