"""Keys, modes, chords and time signatures: the music theory the composers share.

Pitches are MIDI note numbers; pitch classes are 0..11 with C = 0. Chords are
built by stacking thirds on a scale degree of the key, so a progression
written as degrees (1, 5, 6, 4) works in any key and mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from grym_bridge.errors import BadRequest

NOTE_NAMES_SHARP = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
NOTE_NAMES_FLAT = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

#: Scale intervals (semitones above the tonic) of every mode the composers know.
MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
}
_MODE_ALIASES = {
    "maj": "major", "ionian": "major", "": "major",
    "min": "minor", "m": "minor", "aeolian": "minor", "natural minor": "minor",
    "harmonic_minor": "harmonic minor", "harmonic": "harmonic minor",
}
#: Semitones from the mode's tonic down to its relative major (for MIDI key signatures).
_RELATIVE_MAJOR_OFFSET = {"major": 0, "dorian": 2, "phrygian": 4, "lydian": 5, "mixolydian": 7,
                          "minor": 9, "harmonic minor": 9, "locrian": 11}
#: Major keys written with flats (by tonic pitch class): F, Bb, Eb, Ab, Db, Gb.
_FLAT_MAJORS = {5, 10, 3, 8, 1, 6}


def parse_pitch_class(text: str) -> int:
    """'C' -> 0, 'F#' -> 6, 'Bb' -> 10 (also the ♯ and ♭ signs)."""
    t = text.strip().replace("♯", "#").replace("♭", "b")
    if not t or t[0].upper() not in _LETTER_PC:
        raise BadRequest(f"unknown note name {text!r}: use a letter A-G with an optional # or b, e.g. 'F#'")
    pc = _LETTER_PC[t[0].upper()]
    for ch in t[1:]:
        if ch == "#":
            pc += 1
        elif ch == "b":
            pc -= 1
        else:
            raise BadRequest(f"unknown note name {text!r}: use a letter A-G with an optional # or b, e.g. 'F#'")
    return pc % 12


@dataclass(frozen=True)
class Key:
    """A tonic and a mode, e.g. A minor."""

    tonic: int
    mode: str

    @property
    def intervals(self) -> tuple[int, ...]:
        return MODES[self.mode]

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.tonic + i) % 12 for i in self.intervals)

    @property
    def uses_flats(self) -> bool:
        return (self.tonic - _RELATIVE_MAJOR_OFFSET[self.mode]) % 12 in _FLAT_MAJORS

    def name_of(self, pc: int) -> str:
        return (NOTE_NAMES_FLAT if self.uses_flats else NOTE_NAMES_SHARP)[pc % 12]

    @property
    def name(self) -> str:
        return f"{self.name_of(self.tonic)} {self.mode}"

    def contains(self, pitch: int) -> bool:
        return pitch % 12 in self.pitch_classes

    def degree_of(self, pitch: int) -> int:
        """The absolute scale-degree index of `pitch` (nearest degree below for notes out of key)."""
        base = pitch - ((pitch - self.tonic) % 12)  # the tonic at or below the pitch
        octave = (base - self.tonic) // 12
        offset = pitch - base
        step = max(i for i, iv in enumerate(self.intervals) if iv <= offset)
        return octave * 7 + step

    def pitch_of_degree_index(self, index: int) -> int:
        """Inverse of `degree_of`: the pitch of an absolute scale-degree index."""
        octave, step = divmod(index, 7)
        return self.tonic + 12 * octave + self.intervals[step]

    def midi_key_signature(self) -> str:
        """The key signature mido writes: major/minor keys as themselves, other modes as their relative major."""
        if self.mode == "minor":
            return self.name_of(self.tonic) + "m"
        if self.mode == "major":
            return self.name_of(self.tonic)
        major = (self.tonic - _RELATIVE_MAJOR_OFFSET[self.mode]) % 12
        return (NOTE_NAMES_FLAT if major in _FLAT_MAJORS else NOTE_NAMES_SHARP)[major]


def parse_key(text: str) -> Key:
    """'A minor', 'Am', 'F# dorian', 'Eb major', 'c harmonic minor' -> Key."""
    raw = " ".join(str(text).strip().split())
    m = re.fullmatch(r"([A-Ga-g][#b♯♭]*)\s*(.*)", raw)
    if not m:
        raise BadRequest(f"unknown key {text!r}: write a tonic and a mode, e.g. 'A minor' or 'F# dorian'")
    mode = m.group(2).strip().lower()
    mode = _MODE_ALIASES.get(mode, mode)
    if mode not in MODES:
        raise BadRequest(f"unknown mode {m.group(2)!r} in key {text!r}: use one of {', '.join(MODES)}")
    return Key(parse_pitch_class(m.group(1)), mode)


# --- chords -------------------------------------------------------------------------

_QUALITY = {  # intervals above the root -> chord symbol suffix
    (4, 7): "", (3, 7): "m", (3, 6): "dim", (4, 8): "aug",
    (4, 7, 11): "maj7", (4, 7, 10): "7", (3, 7, 10): "m7", (3, 6, 10): "m7b5", (3, 6, 9): "dim7",
    (3, 7, 11): "m(maj7)", (4, 8, 11): "maj7#5",
}


@dataclass(frozen=True)
class Chord:
    """A chord: its root pitch class and the pitch classes from the root up (third, fifth, seventh, ninth)."""

    root: int
    tones: tuple[int, ...]  # pitch classes, root first, in stacking order
    symbol: str


def chord_on_degree(key: Key, degree: int, size: int = 3, scale: tuple[int, ...] | None = None) -> Chord:
    """Stack `size` thirds on the 1-based `degree` of `key` (or of `scale`, e.g. harmonic minor)."""
    if not 1 <= degree <= 7:
        raise BadRequest(f"chord degree {degree} is out of range: use 1..7 (or roman numerals I..VII)")
    intervals = scale or key.intervals
    idx = [degree - 1 + 2 * i for i in range(size)]
    pcs = tuple((key.tonic + intervals[i % 7]) % 12 for i in idx)
    return Chord(pcs[0], pcs, chord_symbol(pcs, key))


def chord_symbol(pcs: tuple[int, ...], key: Key) -> str:
    """'Am7', 'Fmaj9', 'Bm7b5' for stacked-third pitch classes."""
    root = pcs[0]
    rel = tuple((p - root) % 12 for p in pcs)
    base = _QUALITY.get(rel[1:4]) if len(rel) >= 4 else _QUALITY.get(rel[1:3])
    if base is None:
        base = _QUALITY.get(rel[1:3], "")
    if len(rel) >= 5:  # ninth chords: name by the seventh chord under them
        nine = (rel[4] - 12) % 12
        if base in ("maj7", "7", "m7") and nine == 2:
            base = base.replace("7", "9")
        else:
            base += "(b9)" if nine == 1 else "(add9)"
    return key.name_of(root) + base


_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}


def parse_progression(text: str) -> tuple[int, ...]:
    """'ii V I', 'i-VI-III-VII' or '1 5 6 4' -> 1-based scale degrees."""
    tokens = [t for t in re.split(r"[\s,\-|]+", str(text).strip()) if t]
    if not tokens:
        raise BadRequest("empty progression: write degrees like '1 5 6 4' or roman numerals like 'ii V I'")
    out = []
    for tok in tokens:
        core = re.sub(r"(maj)?[0-9]*$|[°ø+]$", "", tok.lower()) if not tok.isdigit() else tok
        if core.isdigit() and 1 <= int(core) <= 7:
            out.append(int(core))
        elif core in _ROMAN:
            out.append(_ROMAN[core])
        else:
            raise BadRequest(f"unknown chord {tok!r} in progression {text!r}: use degrees 1-7 or roman numerals I-VII")
    return tuple(out)


# --- time ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeSignature:
    """A meter; beats are quarter notes throughout (the MIDI convention)."""

    numerator: int
    denominator: int

    @property
    def bar_beats(self) -> Fraction:
        return Fraction(self.numerator * 4, self.denominator)

    @property
    def steps_per_bar(self) -> int:
        """Sixteenth-note steps in one bar."""
        return int(self.bar_beats * 4)

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


def parse_time_signature(text: str) -> TimeSignature:
    """'4/4', '3/4', '6/8', '7/8' -> TimeSignature."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise BadRequest(f"bad time signature {text!r}: write it like '4/4' or '6/8'")
    num, den = int(m.group(1)), int(m.group(2))
    if not 1 <= num <= 32 or den not in (2, 4, 8, 16):
        raise BadRequest(f"bad time signature {text!r}: numerator 1-32, denominator 2, 4, 8 or 16")
    return TimeSignature(num, den)
