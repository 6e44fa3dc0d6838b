"""The rule planner against a corpus of realistic producer requests.

Each case is (request, a clip came with it, the expected chain, arguments
the chain must carry). Chains are written as step names; `suggest_fx:darker+wider`
also pins the goals, `compose:chords` the part. `FX` is the usual effect chain
analyze, suggest_fx, render, store.
"""

from __future__ import annotations

import pytest

from grym_bridge.errors import BadRequest
from grym_bridge.orchestrator.plan import validate_plan
from grym_bridge.orchestrator.rule_planner import RulePlanner
from grym_bridge.orchestrator.session import SessionContext
from grym_bridge.results import to_jsonable


def fx(*goals: str) -> str:
    return f"analyze suggest_fx:{'+'.join(goals)} render store"


SIM = "analyze memory_lookup"

CORPUS: list[tuple[str, bool, str]] = [
    # effect goals, one at a time, as producers say them
    ("make it brighter", True, fx("brighter")),
    ("make this loop darker", True, fx("darker")),
    ("can you make the vocal warmer please", True, fx("warmer")),
    ("the kick needs to be punchier", True, fx("punchier")),
    ("widen the pad", True, fx("wider")),
    ("tighten up the low end", True, fx("tighter")),
    ("make it louder", True, fx("louder")),
    ("give it some more air", True, fx("airier")),
    ("make it lofi", True, fx("lofi")),
    ("lo-fi this beat up", True, fx("lofi")),
    ("it sounds too harsh", True, fx("fix=harsh")),
    ("this is a bit too dull", True, fx("fix=dull")),
    ("less boomy please", True, fx("fix=boom")),
    ("it's too quiet", True, fx("louder")),
    ("it feels too narrow", True, fx("wider")),
    ("sounds a bit cold and thin", True, fx("warmer", "fix=thin")),
    ("tame the highs", True, fx("darker")),
    ("add some sparkle to the hats", True, fx("brighter")),
    ("make the drums punchier", True, fx("punchier")),
    ("make the drums hit harder", True, fx("punchier")),
    ("give the bass some analog saturation", True, fx("warmer")),
    ("make the mix sound like an old cassette", True, fx("lofi")),
    ("add vinyl crackle vibe", True, fx("lofi")),
    ("make the synth more spacious", True, fx("wider")),
    ("clean up the low end", True, fx("tighter")),
    ("make the vocal breathier and silkier", True, fx("airier")),
    ("turn it up", True, fx("louder")),
    # several goals in one breath
    ("make this loop darker and wider", True, fx("darker", "wider")),
    ("warmer and punchier please", True, fx("warmer", "punchier")),
    ("brighter, wider and louder", True, fx("brighter", "wider", "louder")),
    ("make it less bright but wider", True, fx("darker", "wider")),
    ("dusty and warm", True, fx("lofi", "warmer")),
    ("tighter and punchier drums", True, fx("tighter", "punchier")),
    # find similar
    ("find similar sounds", True, SIM),
    ("find me more like this", True, SIM),
    ("what else sounds like this?", True, SIM),
    ("search my library for samples like this one", True, SIM),
    ("show me 10 similar clips", True, SIM),
    ("anything like this in memory?", True, SIM),
    # compose
    ("give me chords for this in the same key", True, "analyze compose:chords"),
    ("write a chord progression in A minor", False, "compose:chords"),
    ("chords please", False, "compose:chords"),
    ("harmonize this", True, "analyze compose:chords"),
    ("write a melody over this", True, "analyze compose:melody"),
    ("give me a bassline in F# minor at 124 bpm", False, "compose:bass"),
    ("program some drums", False, "compose:drums"),
    ("make me a beat at 90 bpm", False, "compose:drums"),
    ("add a hi-hat groove", False, "compose:drums"),
    ("give me drums and a bassline", False, "compose:bass compose:drums"),
    ("write chords and a melody in C major, 8 bars", False, "compose:chords compose:melody"),
    # continue
    ("continue this", True, "compose:continue"),
    ("keep it going for 8 bars", True, "compose:continue"),
    ("what comes next?", True, "compose:continue"),
    ("extend my melody", True, "compose:continue"),
    # generate
    ("generate a dark ambient pad", False, "generate store"),
    ("generate a drum loop at 120 bpm", False, "generate conform store"),
    ("make me a riser", False, "generate store"),
    ("i need a rain texture, 10 seconds", False, "generate store"),
    ("create a deep cinematic impact", False, "generate store"),
    ("generate a warm vinyl crackle texture", False, "generate store"),
    ("give me a bell one-shot", False, "generate store"),
    ("generate an 8 bar synth loop", False, "generate conform store"),
    # chains across clauses
    ("generate a pad and then make it wider", False, "generate analyze suggest_fx:wider render store"),
    ("make it darker then find similar sounds", True, fx("darker").replace(" store", "") + " analyze memory_lookup store"),
    ("generate a riser and make it brighter", False, "generate analyze suggest_fx:brighter render store"),
    # analyze and remember
    ("analyze this", True, "analyze"),
    ("what key is this in?", True, "analyze"),
    ("remember this", True, "analyze store"),
    ("save it to my library", True, "analyze store"),
    ("make me a darker version of this", True, fx("darker")),
]


def chain(plan) -> str:
    out = []
    for s in plan.steps:
        if s.step == "suggest_fx":
            named = list(s.args["goals"]) + [f"fix={p}" for p in s.args.get("fix", [])]
            named += [f"target={s.args['target']}"] if s.args.get("target") else []
            out.append("suggest_fx:" + "+".join(named))
        elif s.step == "compose":
            out.append("compose:" + s.args["part"])
        else:
            out.append(s.step)
    return " ".join(out)


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 60
    assert len({text for text, _, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("text", "has_input", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus(text: str, has_input: bool, expected: str) -> None:
    plan = RulePlanner().plan(text, has_input=has_input, session=SessionContext())
    assert chain(plan) == expected
    assert plan.explanation
    # Every rule plan survives the same validation an LLM's plan goes through.
    again = validate_plan({"steps": to_jsonable(plan.steps), "explanation": plan.explanation})
    assert chain(again) == expected


def test_arguments_from_words() -> None:
    planner = RulePlanner()
    plan = planner.plan("give me a bassline in F# minor at 124 bpm, 8 bars")
    (step,) = plan.steps
    assert step.args == {"part": "bass", "tempo": 124.0, "key": "F# minor", "bars": 8}
    plan = planner.plan("i need a rain texture, 10 seconds")
    assert plan.steps[0].args == {"prompt": "rain texture", "duration_s": 10.0}
    plan = planner.plan("show me 10 similar clips", has_input=True)
    assert plan.steps[1].args == {"k": 10}
    assert planner.plan("find similar", has_input=True).steps[1].args == {"k": 5}
    assert planner.plan("write a chord progression in a minor").steps[0].args["key"] == "A minor"
    # "in a dark mood" is not the key of A
    assert planner.plan("write chords in a dark mood").steps[0].args["key"] is None


def test_session_context_fills_tempo_and_key() -> None:
    session = SessionContext()
    session.set("tempo", "128")
    session.set("key", "Dm")
    planner = RulePlanner()
    (step,) = planner.plan("write a chord progression", session=session).steps
    assert step.args["tempo"] == 128.0 and step.args["key"] == "D minor"
    # words beat the session
    (step,) = planner.plan("write chords in E major at 90 bpm", session=session).steps
    assert step.args["tempo"] == 90.0 and step.args["key"] == "E major"
    # a generated sound is conformed to the session tempo only when there is one
    assert chain(planner.plan("generate a dark pad", session=session)) == "generate conform store"
    assert chain(planner.plan("generate a dark pad")) == "generate store"
    generate, conform = planner.plan("generate a dark pad", session=session).steps[:2]
    assert generate.args == {"prompt": "dark pad, in D minor"}
    assert conform.args == {"tempo": 128.0}
    assert planner.plan("generate a dark pad, 4 bars in E minor", session=session).steps[1].args == {
        "tempo": 128.0, "bars": 4}
    assert "128 BPM" in planner.plan("generate a dark pad", session=session).explanation
    # the clip's own key wins over the session's when asked for the same key
    plan = planner.plan("give me chords for this in the same key", has_input=True, session=session)
    assert plan.steps[1].args["key"] == "from_clip"


@pytest.mark.parametrize("text", ["make it brighter", "find similar sounds", "continue this", "analyze this"])
def test_clip_requests_without_a_clip_say_how_to_send_one(text: str) -> None:
    with pytest.raises(BadRequest, match="send the file's path"):
        RulePlanner().plan(text, has_input=False)


@pytest.mark.parametrize("text", ["", "   ", "hello there", "what is the meaning of life"])
def test_unknown_requests_list_what_is_understood(text: str) -> None:
    with pytest.raises(BadRequest) as info:
        RulePlanner().plan(text, has_input=True)
    assert "darker" in info.value.message or "empty" in info.value.message


def test_goals_are_ordered_and_unique() -> None:
    assert RulePlanner.goals("wider, darker and wider") == ["wider", "darker"]
    assert RulePlanner.goals("less bright") == ["darker"]
    assert RulePlanner.goals("too dark and too narrow") == ["brighter", "wider"]
