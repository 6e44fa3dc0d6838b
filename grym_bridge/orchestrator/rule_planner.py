"""The rule planner: producers' words to a chain of steps, with no model at all.

It is the embedded default and the fallback for the LLM planner, so it must
never need anything but the text, whether a clip came with it, and the
session context. It reads a request in three passes:

1. split it into clauses ("generate a pad *and then* make it wider");
2. find each clause's intent: effect goals (darker, wider...), generate,
   find similar, compose a part (chords, melody, bass, drums), continue,
   analyze or remember;
3. fill in arguments from the words (120 bpm, 8 bars, in A minor, 10 seconds)
   and from the session context (its tempo and key), and chain the steps
   each intent needs, analyzing the current clip once before whatever reads
   its analysis and storing new audio once at the end.

Typos are forgiven first; destinations, compose styles, tempos, keys (as
written), problem words, questions and verdicts are read by `vocabulary`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from grym_bridge.errors import BadRequest
from grym_bridge.orchestrator.plan import Plan, Step
from grym_bridge.orchestrator import vocabulary as words
from grym_bridge.orchestrator.session import SessionContext

# -- the lexicon -------------------------------------------------------------------

# Phrases that flip a word ("less bright", "too harsh") are matched first and
# removed, so "bright" in them does not also count as "brighter".
_NEGATED: list[tuple[str, str]] = [
    (r"(?:less|not so|too|overly) (?:bright|harsh|shrill|sharp|brittle|piercing|sibilant|tinny)", "darker"),
    (r"(?:less|not so|too|overly) (?:dull|dark|muffled|dead)", "brighter"),
    (r"(?:less|not so|too|overly) (?:cold|thin|sterile|digital|clinical)", "warmer"),
    (r"(?:less|not so|too|overly) (?:flat|limp|weak|soft on the transients)", "punchier"),
    (r"(?:less|not so|too|overly) (?:narrow|mono)", "wider"),
    (r"(?:less|not so|too|overly) (?:boomy|muddy|loose|woolly|boxy|messy|smeared)", "tighter"),
    (r"(?:less|not so|too|overly) (?:quiet|soft|low in level)", "louder"),
    (r"(?:less|not so|too|overly) (?:loud|hot|in your face)|(?:way )?too loud", "quieter"),
    (r"(?:less|not so|too|overly) wide|(?:falls apart|collapses|disappears) in mono", "narrower"),
    (r"(?:less|not so|too|overly) (?:closed|boxed in|stuffy)", "airier"),
    (r"(?:less|not so|too|overly) (?:clean|polished|pristine|hi-?fi)", "lofi"),
]
_GOAL_WORDS: dict[str, list[str]] = {
    "darker": [r"dark(?:er|en)?", r"duller", r"mellow(?:er)?", r"muffle", r"murkier", r"harsh", r"shrill", r"tinny",
               r"piercing", r"sibilant",
               r"tame the (?:highs|top(?: end)?|treble)", r"roll off the (?:highs|top|treble)", r"cut the (?:highs|treble)"],
    "brighter": [r"bright(?:er|en)?", r"crisp(?:er|y)?", r"sparkl(?:e|y|ier)", r"shin(?:e|y|ier)", r"clearer",
                 r"more (?:presence|clarity|definition|treble|highs)", r"brillian(?:t|ce)", r"open (?:it |this )?up"],
    "warmer": [r"warm(?:er|th|ing)?", r"analog(?:ue)?", r"tape", r"saturat\w*", r"fuller",
               r"more (?:body|weight)", r"cozy", r"round(?:er)?", r"rich(?:er)?", r"cold", r"thin", r"sterile"],
    "punchier": [r"punch(?:y|ier)?", r"more (?:impact|attack|snap)", r"snapp(?:y|ier)", r"hits? harder",
                 r"slam(?:s|ming)?", r"compress(?:ed|ion)?", r"thump(?:y|ier)?", r"aggressive"],
    "wider": [r"wide(?:r|n)?", r"width", r"more stereo", r"too mono", r"stereo", r"spread(?: out)?", r"spacious", r"bigger", r"huge", r"immersive"],
    "tighter": [r"tight(?:er|en)?", r"clean(?: up)? the (?:low(?:[- ]end)?|lows|bottom|mud)", r"de-?mud\w*",
                r"gated?", r"focused", r"controlled low end", r"muddy"],
    "quieter": [r"quiet(?:er|en)?", r"soft(?:er|en)", r"turn (?:it|this) down", r"(?:volume|level|gain) down",
                r"lower the (?:level|volume|gain)", r"less (?:volume|level|gain)", r"bring (?:it|this) down"],
    "mono": [r"(?:low[- ]?end|lows|bass|bottom|sub|kick)(?: \w+)? (?:in )?mono", r"mono (?:the |my )?(?:low[- ]?end|lows|bass|bottom|sub)",
             r"mono[- ]?compatib\w*", r"(?:center|centre) the (?:low[- ]?end|bass|lows|sub)"],
    "narrower": [r"narrow(?:er)?(?! (?:it|this) down)", r"less (?:wide|width|stereo)"],
    "louder": [r"loud(?:er)?", r"turn (?:it|this) up", r"more (?:volume|level|gain)", r"volume up", r"hotter",
               r"boost (?:the )?(?:level|volume|gain)", r"maximi[sz]e", r"master (?:it|this)", r"(?:gain|level) up"],
    "airier": [r"air(?:y|ier)?", r"breath(?:y|ier)", r"silk(?:y|ier)", r"(?:more|add(?: some)?) (?:top[- ]end|high[- ]end|sheen)",
               r"sheen", r"open(?:er)? top"],
    "lofi": [r"lo-?fi", r"lo fi", r"low[- ]?fi(?:delity)?", r"bit-?crush\w*", r"crunch(?:y|ier)?", r"vintage", r"vinyl",
             r"degrad\w*", r"retro", r"dust(?:y|ier)", r"cassette", r"8[- ]?bit", r"old[- ]school", r"worn"],
}
# One alternation, flipped phrases first: at each position the regex engine tries them before the
# plain words, so "less bright" is one match (darker) and never also "bright" (brighter).
_GOAL_ALTERNATIVES = [(p, g) for p, g in _NEGATED] + [("|".join(ws), g) for g, ws in _GOAL_WORDS.items()]
_GOAL_RE = re.compile("|".join(rf"(?P<g{i}>\b(?:{p})\b)" for i, (p, _) in enumerate(_GOAL_ALTERNATIVES)))
_GOAL_OF_GROUP = {f"g{i}": g for i, (_, g) in enumerate(_GOAL_ALTERNATIVES)}

_PART_RES: dict[str, re.Pattern[str]] = {
    "chords": re.compile(r"\b(?:chords?|chord progression|progressions?|harmon(?:y|ies|i[sz]e|i[sz]ation))\b"),
    "melody": re.compile(r"\b(?:melod(?:y|ies)|top ?line|hook|lead line|riff|arpeggio|arp)\b"),
    "bass": re.compile(r"\b(?:bass ?lines?|bass (?:part|notes|pattern|riff))\b"),
    "drums": re.compile(r"\b(?:drums?|drum (?:pattern|part|groove|beat|track)|beats?|grooves?|hi-?hats?|"
                        r"kick pattern|percussion|rhythm section)\b"),
}
_CONTINUE_RE = re.compile(r"\b(?:continue|continuation|extend|keep (?:it |this )?going|what comes next|"
                          r"carry (?:it |this )?on|finish (?:this|the|my)|next (?:bars|phrase)|follow[- ]?up)\b")
_COMPOSE_VERB_RE = re.compile(r"\b(?:write|compose|program|give me|make me|create|add|generate|need|want|"
                              r"come up with|get me|suggest|sketch|build|lay down|some)\b")
_GENERATE_VERB_RE = re.compile(r"\b(?:generate|synthesi[sz]e|text[- ]to[- ]audio|create|design|come up with|"
                               r"make (?:me )?(?:a|an|some)|give me (?:a|an|some)|i (?:need|want) (?:a|an|some)|"
                               r"can i (?:get|have) (?:a|an|some)|get me (?:a|an|some))\b")
_SOUND_NOUN_RE = re.compile(r"\b(?:sounds?|samples?|audio|loops?|pads?|textures?|drones?|risers?|sweeps?|impacts?|"
                            r"whoosh(?:es)?|ambien(?:ce|t)|atmospheres?|noise|one-?shots?|hits?|stabs?|plucks?|"
                            r"sfx|foley|field recordings?|recording|bells?|rain|thunder|vocal chops?|synth)\b")
_SIMILAR_RE = re.compile(r"\b(?:similar|alike|comparable|neighbou?rs|same vibe|look-?alikes?|"
                         r"(?:find|search|show|get|fetch|pull up|dig up)(?: me)? (?:more|other|related|anything|something)"
                         r"|(?:search|look through|check) (?:my |the )?(?:memory|library|samples|collection)"
                         r"|what else (?:sounds|is) like|(?:anything|something|more) like (?:this|it))\b"
                         r"|\b(?:clips?|sounds?|samples?|loops?|ones|stuff|things|tracks?) (?:that sound |that are )?"
                         r"like (?:this|it|that|mine)\b|\bsounds? (?:just )?like (?:this|it)\b|\blike this one\b")
_ANALYZE_RE = re.compile(r"\b(?:analy[sz]e|check (?:this|it)|analysis|what (?:key|tempo|bpm)|how loud|detect (?:the )?(?:key|tempo|bpm)|"
                         r"tell me about|measure|inspect|describe)\b")
_STORE_RE = re.compile(r"\b(?:remember|store|save|keep|bookmark) (?:this|it|that)\b|\badd (?:this |it )?to (?:my )?(?:memory|library)\b")
_REFERS_TO_INPUT_RE = re.compile(r"\b(?:this|it|my|the (?:clip|loop|track|sample|mix|vocal|drums|bass))\b")
_SAME_KEY_RE = re.compile(r"\b(?:same key|matching key|in key|fits? (?:this|it)|for (?:this|it)|to (?:this|it)|"
                          r"under (?:this|it)|over (?:this|it)|with (?:this|it)|that (?:fits|matches))\b")

_NUM = words.NUM
_QUESTION_WORD_RE = re.compile(r"^(?:what|whats|what's|which|how|is|tell me|in what|do you know)\b")
_BARS_RE = re.compile(rf"\b{_NUM}[- ]bars?\b")
_SECONDS_RE = re.compile(rf"\b{_NUM} ?(?:s|sec|secs|seconds?)\b")
_K_RE = re.compile(rf"\b(?:top )?{_NUM} (?:similar|matches|results|clips|sounds|samples|others|of them)\b|\btop {_NUM}\b")
_CLAUSE_SPLIT_RE = re.compile(
    r"\s*(?:[;.!?]\s+|,?\s*\b(?:and then|then|after that|afterwards|also)\b\s*|"
    r",?\s*\band\b(?=\s+(?:make|find|give|add|write|generate|create|search|show|store|save|remember|continue|"
    r"compose|program|analy[sz]e|get|tell|look|check|render|turn)\b))\s*"
)
_FILLER_RE = re.compile(r"^(?:(?:please|can you|could you|would you|hey|ok|okay|grym|now|just|quickly)[, ]+)+")


_number = words.number


@dataclass
class _Builder:
    """Accumulates steps across clauses, tracking whether the current clip has been analyzed."""

    has_input: bool
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    analyzed: bool = False
    new_audio: bool = False

    def need_clip(self, text: str, what: str) -> None:
        if not self.has_input and not self.new_audio:
            raise BadRequest(
                f"{what!r} works on a clip, and none came with the request: send the file's path with it "
                "(/grym/ask <req_id> <text> <path>, or grym ask --file PATH)"
            )

    def analyze(self) -> None:
        if not self.analyzed:
            self.steps.append(Step("analyze"))
            self.analyzed = True

    def add(self, step: Step, *, makes_audio: bool = False) -> None:
        self.steps.append(step)
        if makes_audio:
            self.new_audio, self.analyzed = True, False


class RulePlanner:
    """Plans requests from a lexicon of producers' words and the session context."""

    name = "rules"

    def plan(self, text: str, *, has_input: bool = False, session: SessionContext | None = None) -> Plan:
        """The plan for `text`, or `BadRequest` saying what the planner understands."""
        session = session or SessionContext()
        raw = words.correct_typos(" ".join(str(text or "").split()))
        if not raw:
            raise BadRequest("the request is empty: say what to do, e.g. 'make it darker' or 'give me chords'")
        b = _Builder(has_input=has_input)
        for clause in self.clauses(raw):
            self._clause(clause, b, session)
        if not b.steps:
            raise BadRequest(
                f"I could not tell what to do with {raw!r}. Try effect words (darker, brighter, warmer, punchier, "
                "wider, tighter, louder, quieter, airier, lofi), problems (rumble, mud, boom, harsh, sibilant, thin, "
                "dull), a destination ('master it for spotify', club, broadcast, podcast), 'generate a ...', "
                "'find similar', 'chords', 'drums', 'continue this', 'what key is this', 'remember this' or "
                "'rate it 4'"
            )
        if b.new_audio and not any(s.step == "store" for s in b.steps):
            b.steps.append(Step("store", optional=True))
            b.notes.append("remember the result in memory")
        return Plan(b.steps, _sentence(b.notes), self.name)

    @staticmethod
    def clauses(text: str) -> list[str]:
        """Lower-cased clauses of a request, split at 'then', ';' and 'and <verb>'."""
        parts = _CLAUSE_SPLIT_RE.split(text.lower().strip(" .!?"))
        return [c for c in (_FILLER_RE.sub("", p.strip(" ,")) for p in parts) if c]

    # -- one clause ----------------------------------------------------------------------

    def _clause(self, clause: str, b: _Builder, session: SessionContext) -> None:
        fixes, without_problems = words.problems(clause)
        goals = self.goals(without_problems)
        where = words.destination(clause)
        parts = [p for p, rx in _PART_RES.items() if rx.search(clause)]
        style = words.compose_style(clause)
        wants_sound = bool(_SOUND_NOUN_RE.search(clause))
        generate_verb = bool(_GENERATE_VERB_RE.search(clause))
        refers = bool(_REFERS_TO_INPUT_RE.search(clause)) and (b.has_input or b.new_audio)
        verdict = words.verdict(clause)
        asked = words.questions(clause)

        if _CONTINUE_RE.search(clause) and not goals:
            b.need_clip(clause, clause)
            b.add(Step("compose", self._music_args(clause, session, part="continue", b=b)))
            b.notes.append("continue your clip")
            return
        # "how loud is it?" asks about loudness; it does not ask for "louder".
        if asked and not (fixes or parts) and (not goals or _QUESTION_WORD_RE.match(clause)):
            b.need_clip(clause, clause)
            b.analyzed = False  # a question is answered from a fresh measurement
            b.steps.append(Step("analyze", {"questions": asked}))
            b.analyzed = True
            b.notes.append("measure the clip's " + _and(asked))
            return
        similar = bool(_SIMILAR_RE.search(clause))
        # "generate a drum loop" is audio; "give me a drum pattern" is MIDI.
        audio_words = generate_verb and bool(re.search(r"\b(?:loops?|samples?|one-?shots?|audio|recording)\b", clause))
        # "a lofi beat at 85" is a composition; "make the drums lofi" (a clip came with it) is an effect.
        styled = (style is not None or words.tempo(clause) is not None) and not refers
        if parts and not audio_words and (_COMPOSE_VERB_RE.search(clause) or styled
                                          or not (goals or similar or fixes)):
            for part in parts:
                args = self._music_args(clause, session, part=part, b=b)
                if args.get("key") == "from_clip":
                    b.analyze()
                b.add(Step("compose", args))
                b.notes.append(f"compose {part}" + _where(args))
            return
        if generate_verb and not (refers and (goals or similar or fixes)) and (wants_sound or not (goals or fixes)):
            self._generate(clause, b, session)
            return
        if similar and not goals and not fixes and verdict is None:
            b.need_clip(clause, clause)
            b.analyze()
            m = _K_RE.search(clause)
            k = int(_number(m.group(1) or m.group(2))) if m else 5
            b.add(Step("memory_lookup", {"k": k}))
            b.notes.append(f"find the {k} most similar clips in memory")
            return
        if goals or fixes or where:
            self._effects(clause, b, goals, fixes, where)
            return
        if verdict is not None or _STORE_RE.search(clause):
            b.need_clip(clause, clause)
            b.analyze()
            store = next((s for s in b.steps if s.step == "store"), None)
            if store is None:
                store = Step("store")
                b.add(store)
                b.notes.append("remember the clip in memory")
            if verdict is not None:
                store.args["feedback"] = verdict
                b.notes.append(f"rate it {verdict:g} of 5" if isinstance(verdict, float) else f"mark it {verdict}")
            return
        if _ANALYZE_RE.search(clause):
            b.need_clip(clause, clause)
            b.analyzed = False  # an explicit request always analyzes
            b.analyze()
            b.notes.append("analyze the clip")

    @staticmethod
    def _effects(clause: str, b: _Builder, goals: list[str], fixes: list[str],
                 where: tuple[str, str] | None) -> None:
        """Analyze, suggest (directions, named problems, a destination's loudness) and render."""
        b.need_clip(clause, clause)
        b.analyze()
        if where is not None:
            goals = [g for g in goals if g not in ("louder", "quieter")]  # the destination sets the level
        args: dict[str, object] = {"goals": goals}
        said = []
        if goals:
            said.append("make it " + _and(goals))
        if fixes:
            args["fix"] = fixes
            said.append("fix the " + _and(fixes))
        if where is not None:
            args["target"] = where[0]
            said.append(f"master it for {where[1]} ({where[0]} loudness)")
        b.add(Step("suggest_fx", args))
        b.add(Step("render"), makes_audio=True)
        b.notes.append("suggest and render effects to " + _and(said))

    @staticmethod
    def goals(clause: str) -> list[str]:
        """Effect goals named in a clause, in order of appearance, each once."""
        out: list[str] = []
        for m in _GOAL_RE.finditer(clause):
            goal = _GOAL_OF_GROUP[m.lastgroup or ""]
            if goal not in out:
                out.append(goal)
        return out

    def _generate(self, clause: str, b: _Builder, session: SessionContext) -> None:
        music = self._music_args(clause, session, b=b)
        prompt = self.prompt(clause)
        if music.get("key") and music["key"] != "from_clip":
            prompt += f", in {music['key']}"  # text-to-audio models take the key as words
        args: dict[str, object] = {"prompt": prompt}
        m = _SECONDS_RE.search(clause)
        if m:
            args["duration_s"] = _number(m.group(1))
        b.add(Step("generate", args), makes_audio=True)
        b.notes.append(f"generate '{prompt}'")
        if music.get("tempo") or _BARS_RE.search(clause):
            conform = {k: v for k, v in music.items() if k in ("tempo", "bars")}
            b.add(Step("conform", conform), makes_audio=True)
            fit = [f"{conform['tempo']:g} BPM"] if conform.get("tempo") else []
            fit += [f"{conform['bars']} bars"] if conform.get("bars") else []
            b.notes.append("fit it to " + " and ".join(fit))

    @staticmethod
    def prompt(clause: str) -> str:
        """The sound description in a generate clause: the words minus verbs, numbers and keys."""
        spans = words.tempo_span(clause) + words.key_span(clause)
        for lo, hi in sorted(spans, reverse=True):
            clause = clause[:lo] + " " + clause[hi:]
        text = _GENERATE_VERB_RE.sub(" ", clause)
        for rx in (_BARS_RE, _SECONDS_RE):
            text = rx.sub(" ", text)
        text = re.sub(r"\b(?:please|for me|for the session|long|at|of|with a length of|that is|lasting)\b", " ", text)
        text = re.sub(r"^\W*(?:a|an|some|me)\b", " ", text.strip())
        text = " ".join(text.replace(",", " ").split())
        return text or "ambient texture"

    @staticmethod
    def _music_args(clause: str, session: SessionContext, *, part: str | None = None, b: _Builder) -> dict:
        """tempo, key, bars (and part) from the words, else from the clip or the session."""
        args: dict[str, object] = {} if part is None else {"part": part}
        bpm = words.tempo(clause)
        args["tempo"] = bpm if bpm is not None else session.tempo
        key = words.key(clause)
        about_clip = _SAME_KEY_RE.search(clause) or _REFERS_TO_INPUT_RE.search(clause)
        if key is None and part not in (None, "drums", "continue") and about_clip and (b.has_input or b.new_audio):
            key = "from_clip"
        args["key"] = key or session.key
        m = _BARS_RE.search(clause)
        if m:
            args["bars"] = int(_number(m.group(1)))
        style = words.compose_style(clause)
        if part not in (None, "continue") and style is not None:
            args["style"] = style
        return args


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _where(args: dict) -> str:
    bits = [f"({args['style']})"] if args.get("style") else []
    if args.get("key") == "from_clip":
        bits.append("in the clip's key")
    elif args.get("key"):
        bits.append(f"in {args['key']}")
    if args.get("tempo"):
        bits.append(f"at {args['tempo']:g} BPM")
    if args.get("bars"):
        bits.append(f"{args['bars']} bars long")
    return " " + " ".join(bits) if bits else ""


def _sentence(notes: list[str]) -> str:
    if not notes:
        return ""
    text = _and(notes) if len(notes) < 3 else ", then ".join(notes)
    return text[0].upper() + text[1:] + "."
