"""What producers' words mean: destinations, styles, tempos, keys, problems, questions and verdicts.

The rule planner reads these from a lower-cased clause. Each reader answers
one question about the words ("which destination?", "which tempo?") and knows
nothing about steps or plans. `correct_typos` runs first over the whole
request, so "brigther" and "spotfy" reach the readers spelled right.
"""

from __future__ import annotations

import difflib
import re

# -- destinations -----------------------------------------------------------------------

#: (words, the fx engine's loudness target name, how to say it)
_DESTINATIONS: list[tuple[str, str, str]] = [
    (r"spotify|apple music|itunes|youtube|you tube|tidal|deezer|amazon music|soundcloud|bandcamp|streaming|"
     r"tiktok|tik tok|instagram|reels|"
     r"(?:the )?streamers|dsps?", "streaming", "streaming"),
    (r"(?:the )?club|clubs|dj(?: set| sets)?|dance ?floor|festival|rave|sound ?system", "club", "the club"),
    (r"broadcast|tv|television|radio|ebu|r ?128", "broadcast", "broadcast"),
    (r"podcast|spoken word|audiobook|voice ?over", "podcast", "a podcast"),
]
_DESTINATION_RES = [(re.compile(rf"\b(?:{words})\b"), name, said) for words, name, said in _DESTINATIONS]


def destination(clause: str) -> tuple[str, str] | None:
    """(loudness target name, the words for it) when the clause names where the music goes."""
    for rx, name, said in _DESTINATION_RES:
        m = rx.search(clause)
        if m:
            return name, m.group(0) if name == "streaming" else said
    return None


# -- composition styles ------------------------------------------------------------------

_COMPOSE_STYLES: dict[str, str] = {
    "lofi": r"lo-?fi|lo fi|low-?fi|chill-?hop|chill ?hop|hip-?hop|hip hop|boom ?bap",
    "house": r"(?:deep |tech |funky |disco )?house|four on the floor|garage|techno|disco|edm",
    "trap": r"trap|drill|808s?",
    "jazz": r"jazz(?:y|ier)?|bebop|swing(?:ing)?|neo-?soul",
    "cinematic": r"cinematic|film(?: score)?|movie|epic|orchestral|trailer|soundtrack",
    "pop": r"pop(?:py)?",
}
_COMPOSE_STYLE_RES = [(re.compile(rf"\b(?:{words})\b"), name) for name, words in _COMPOSE_STYLES.items()]


def compose_style(clause: str) -> str | None:
    """The composition style a clause names (lofi, house, trap, jazz, cinematic, pop), else None."""
    found = [(m.start(), name) for rx, name in _COMPOSE_STYLE_RES for m in [rx.search(clause)] if m]
    return min(found)[1] if found else None


# -- tempo --------------------------------------------------------------------------------

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "ten": 10,
                 "twelve": 12, "sixteen": 16, "twenty": 20, "thirty": 30}
NUM = r"(\d+(?:\.\d+)?|" + "|".join(_NUMBER_WORDS) + r")"
_TEMPO_RES = [
    re.compile(rf"\b{NUM} ?(?:bpm|beats per minute|beats a minute)\b"),
    re.compile(rf"\b(?:bpm|tempo)(?: of| is| at|:|=)? ?{NUM}\b"),
    # "at 85", "@ 85": a bare number after "at" is a tempo unless a unit follows it.
    re.compile(rf"(?:\bat|@) ?{NUM}\b(?! ?(?:%|percent|hz|khz|k\b|db|lufs|lu\b|seconds?|secs?|s\b|ms|bars?|"
               r"minutes?|mins?|o'?clock|am\b|pm\b))"),
]
TEMPO_RANGE = (40.0, 250.0)


def number(text: str) -> float:
    """A number written in digits or as one of the common words ("eight")."""
    return float(_NUMBER_WORDS.get(text, text))


def tempo(clause: str) -> float | None:
    """The tempo a clause asks for ("at 85", "85bpm", "85 bpm", "tempo 85"), within 40-250 BPM."""
    for rx in _TEMPO_RES:
        for m in rx.finditer(clause):
            bpm = number(m.group(1))
            if TEMPO_RANGE[0] <= bpm <= TEMPO_RANGE[1]:
                return bpm
    return None


def tempo_span(clause: str) -> list[tuple[int, int]]:
    """Where the tempo words are, so a prompt can leave them out."""
    return [m.span() for rx in _TEMPO_RES for m in rx.finditer(clause)
            if TEMPO_RANGE[0] <= number(m.group(1)) <= TEMPO_RANGE[1]]


# -- keys ---------------------------------------------------------------------------------

_KEY_RE = re.compile(r"\bin (?:the key of )?([a-g])(#|b|\u266f|\u266d|-sharp|-flat| sharp| flat)?"
                     r"(?: ?(major|minor|maj|min|m)\b)?(?=$|[\s,.;!?])")
_ACCIDENTALS = {"#": "#", "\u266f": "#", "-sharp": "#", " sharp": "#", "b": "b", "\u266d": "b", "-flat": "b",
                " flat": "b"}


def key(clause: str) -> str | None:
    """The key a lower-cased clause names, spelled as written: "in bb" -> "Bb major", "in f# minor" -> "F# minor".

    "in a" alone is English ("in a dark mood"), so a bare A needs a mode, "the key of" or the clause's end.
    """
    for m in _KEY_RE.finditer(clause):
        letter, accidental, mode = m.group(1), m.group(2), m.group(3)
        rest = clause[m.end():].strip(" ,.;!?")
        if letter == "a" and not (accidental or mode or "key of" in m.group(0) or not rest):
            continue
        if letter == "b" and accidental == "b" and mode is None and rest.startswith("e"):
            continue
        note = letter.upper() + _ACCIDENTALS.get(accidental or "", "")
        minor = mode in ("minor", "min", "m")
        return f"{note} {'minor' if minor else 'major'}"
    return None


def key_span(clause: str) -> list[tuple[int, int]]:
    return [m.span() for m in _KEY_RE.finditer(clause)]


# -- problems -----------------------------------------------------------------------------

#: A problem the fx engine can measure and fix, by the words producers use for it.
_PROBLEMS: dict[str, str] = {
    "rumble": r"rumbl\w*|sub-?sonic|infrasonic|subsonics?|(?:low|sub)[- ]?(?:end )?(?:noise|hum)|handling noise|"
              r"wind noise|below 40 ?hz",
    "mud": r"mud(?:dy|diness)?|murk(?:y|iness)?|boxy|boxiness|cloudy|smeared low mids|low[- ]mids?",
    "boom": r"boom(?:y|iness|ing)?|bassy|sub[- ]?heavy|(?:too much|way too much|excess(?:ive)?|heavy|huge) "
            r"(?:low[- ]?end|bass|bottom|lows|sub|subs)|"
            r"low[- ]?end (?:is )?(?:too )?(?:heavy|big|much)|flabby|bloated|woofy",
    "harsh": r"harsh(?:ness)?|shrill|piercing|ear-?piercing|brittle|fatiguing|glassy|(?:hurts|hurting) (?:my|the) ears",
    "sibilant": r"sibilan(?:t|ce|ts)|(?:the |harsh |sharp |loud )?esses|ess(?:y|iness)|s sounds|hissy|hiss|de-?ess\w*",
    "thin": r"thin(?:ness)?|weedy|no (?:body|bottom|weight)|lacks? (?:body|bottom|weight)|needs (?:body|weight)",
    "dull": r"dull(?:ness)?|muffled|lifeless|dead top|no (?:top|highs|sparkle)|lacks? (?:top|highs|sparkle|air)",
}
_PROBLEM_RE = re.compile("|".join(rf"(?P<{name}>\b(?:{words})\b)" for name, words in _PROBLEMS.items()))
PROBLEMS = tuple(_PROBLEMS)


def problems(clause: str) -> tuple[list[str], str]:
    """The problems a clause names, in order, and the clause with those words blanked out.

    "rumble in the low end" is rumble, not also boom: the first reading of a span wins.
    """
    found: list[str] = []
    rest = clause
    for m in _PROBLEM_RE.finditer(clause):
        name = m.lastgroup or ""
        if name not in found:
            found.append(name)
        rest = rest[:m.start()] + " " * (m.end() - m.start()) + rest[m.end():]
    if "rumble" in found and "boom" in found and re.search(r"\blow[- ]?end rumbl", clause):
        found.remove("boom")
    return found, rest


# -- questions and verdicts -----------------------------------------------------------------

_QUESTIONS: dict[str, str] = {
    "key": r"what(?:'?s| is)? (?:the )?(?:key|scale)|which (?:key|scale)|what key|key is (?:this|it)|"
           r"(?:tell me|find|detect|get)(?: me)? the key|in what key|key\?",
    "tempo": r"what(?:'?s| is)? (?:the )?(?:tempo|bpm|speed)|which (?:tempo|bpm)|how fast|how many bpm|"
             r"(?:tell me|find|detect|get)(?: me)? the (?:tempo|bpm)|tempo\?|bpm\?",
    "loudness": r"how loud|what(?:'?s| is)? (?:the )?(?:loudness|lufs|level)|how many lufs|is (?:it|this) loud enough|"
                r"(?:tell me|measure|get)(?: me)? the (?:loudness|lufs)|loudness\?|lufs\?",
}
_QUESTION_RES = [(re.compile(rf"\b(?:{words})"), name) for name, words in _QUESTIONS.items()]
# A clause that is only the word ("bpm?", "key?": the question mark is gone by now) asks it too.
_BARE_QUESTION = {"key": "key", "scale": "key", "bpm": "tempo", "tempo": "tempo", "lufs": "loudness",
                  "loudness": "loudness"}


def questions(clause: str) -> list[str]:
    """What the clause asks about the clip (key, tempo, loudness), in order."""
    if clause.strip() in _BARE_QUESTION:
        return [_BARE_QUESTION[clause.strip()]]
    found = [(m.start(), name) for rx, name in _QUESTION_RES for m in [rx.search(clause)] if m]
    return [name for _, name in sorted(found)]


_RATING_RE = re.compile(rf"\b(?:rate (?:this|it|that)(?: one)?(?: a| as)?|give (?:this|it|that)(?: one)?|"
                        rf"(?:this|it|that)(?: one)? (?:is|gets|deserves) ?(?:a)?) ?{NUM}(?: ?(?:/ ?5|out of 5|"
                        rf"stars?|of 5))?\b|\b{NUM} ?(?:stars?|/ ?5|out of (?:5|five))\b")
_KEEP_RE = re.compile(r"\b(?:keeper|keep (?:this|it|that)(?: one)?|(?:this|it|that)(?: one)? is a keep|favou?rite|"
                      r"fav|love (?:this|it|that)|mark (?:this|it|that)(?: one)? (?:as )?(?:kept|a keeper|good)|"
                      r"thumbs? up|i like (?:this|it|that)(?: one)?|this one's good|(?:this|it)'?s? (?:great|perfect))\b")
_REJECT_RE = re.compile(r"\b(?:reject(?:ed)?|bin (?:this|it|that)|trash (?:this|it|that)|(?:this|it|that) is trash|"
                        r"thumbs? down|(?:don'?t|do not|dont) (?:like|want|keep) (?:this|it|that)|"
                        r"hate (?:this|it|that)|not (?:good|a keeper|for me)|throw (?:this|it|that) (?:away|out)|"
                        r"no good|discard|(?:this|it)'?s? (?:bad|rubbish|awful|garbage))\b")


def verdict(clause: str) -> str | float | None:
    """A rating 0..5, "kept" or "rejected" when the clause passes judgement on the clip, else None."""
    m = _RATING_RE.search(clause)
    if m:
        value = number(next(g for g in m.groups() if g))
        if 0 <= value <= 5:
            return value
    if _REJECT_RE.search(clause):
        return "rejected"
    if _KEEP_RE.search(clause):
        return "kept"
    return None


def answer(asked: list[str], measured: dict) -> str:
    """The answers to `asked` (key, tempo, loudness) in words, from an analyze step's result."""
    said = []
    for q in asked:
        if q == "key":
            said.append(f"The key is {measured['key']}." if measured.get("key") else "No clear key was found.")
        elif q == "tempo":
            bpm = measured.get("tempo_bpm")
            said.append(f"The tempo is {bpm:.0f} BPM." if bpm else "No steady tempo was found.")
        elif q == "loudness":
            lufs, tp = measured.get("lufs_integrated"), measured.get("true_peak_dbtp")
            said.append(f"It measures {lufs:.1f} LUFS integrated, true peak {tp:.1f} dBTP."
                        if lufs is not None and lufs > -70 else "It is silent (below -70 LUFS).")
    return " ".join(said)


# -- typos ----------------------------------------------------------------------------------

#: Words a request turns on; a misspelling close to one of them is read as it.
KNOWN_WORDS = frozenset("""
brighter bright brighten darker dark darken warmer warm warmth punchier punchy punch wider wide widen width
tighter tight louder loud quieter quiet airier airy breathy silky sparkle crisp lofi vintage dusty cassette
spotify youtube tidal deezer soundcloud streaming club broadcast podcast radio television festival
rumble muddy mud boomy boom harsh harshness sibilant sibilance thin dull muffled shrill piercing
chords chord progression melody bassline drums drum beat groove percussion hihat
house trap jazz jazzy cinematic pop orchestral
similar remember keeper reject rate analyze analyse tempo loudness master mastered mastering
generate compose continue stereo mono narrower narrow clean please
""".split())
# Real words one edit from a known word: they stay as they are.
_KEEP_AS_IS = frozenset("clear dart dank warn ward wade wise wind tide bass base beet bear drama drums mode made "
                        "punk pump chord cord beam boot bomb loop look jazz rate hate date late gate thing things "
                        "tight rumba lout cloud clue dirk dank dull doll fill mood".split())


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def correct_typos(text: str) -> str:
    """`text` with misspelt request words read as meant ("brigther" -> "brighter", "spotfy" -> "spotify").

    A word of five letters or more is replaced only by the one known word within one edit of it (two
    for words of nine letters or more) that starts with the same letter; an inflection of a known word
    ("analyzed", "tighten") and the common words on the keep list are left alone: a typo is forgiven,
    a real word is never read as another.
    """
    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        low = word.lower()
        if len(low) < 5 or low in KNOWN_WORDS or low in _KEEP_AS_IS:
            return word
        limit = 2 if len(low) >= 9 else 1
        best: list[tuple[int, str]] = []
        for known in KNOWN_WORDS:
            if known[0] != low[0] or abs(len(known) - len(low)) > limit:
                continue
            if low.startswith(known[:-1]) and len(low) > len(known) or known.startswith(low):
                continue  # an inflection ("analyzed", "tighten") or a shortening, not a typo
            d = _edits(low, known)
            if d <= limit:
                best.append((d, known))
        best.sort()
        if not best or (len(best) > 1 and best[0][0] == best[1][0]):
            return word  # nothing close, or two readings as close: leave it
        return best[0][1]

    return re.sub(r"[A-Za-z]+", fix, text)
