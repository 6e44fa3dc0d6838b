"""The step registry, and the context a chain's steps share.

A step is a plain function `run(ctx, args, progress) -> result`: it reads
what earlier steps left in the `ChainContext` (the current clip, its
analysis, the suggested effect chain, the session), does its work through a
capability, records what it produced, and returns a JSON-able result. The
registry knows each step's resource class (cpu or gpu), which exceptions are
worth a retry, and default fallbacks (the same step with other arguments:
CPU instead of GPU, a smaller model).

The real capability adapters live in `step_adapters.py`; tests register
their own small step functions in a fresh registry.

A plan's step arguments are untrusted (an LLM wrote them, or a client's
words): `StepRegistry.check_args` checks each against the very `Arg` spec of
the api route that does the same work (installed by the composition root
from `api/step_args.py`), so `bars` of a compose step has the range of
`/grym/compose/chords`'s `bars`, and an argument no step takes is refused by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from grym_bridge.config import Config
from grym_bridge.errors import BadRequest, Busy, GrymError, JobTimeout, UnknownAddress
from grym_bridge.orchestrator.session import SessionContext

Progress = Callable[[float, str], None]
StepFn = Callable[["ChainContext", dict[str, Any], Progress], Any]

#: Failures that may pass if tried again a little later.
TRANSIENT: tuple[type[BaseException], ...] = (Busy, JobTimeout, TimeoutError, ConnectionError)


class ArgSpec(Protocol):
    """What a step needs of an api `Arg`: its type, default, and a `coerce` that checks range and choices."""

    name: str
    type: type
    default: Any

    def coerce(self, value: Any) -> Any: ...


def _unset(spec: ArgSpec, value: Any) -> bool:
    """A route's "not given" value (-1 seed, 0 tempo, empty text): the step then decides, as the route does."""
    if value != spec.default or isinstance(spec.default, bool):
        return False
    return spec.default == "" or (isinstance(spec.default, (int, float)) and spec.default <= 0)


@dataclass
class ChainContext:
    """What the steps of one chain share. Each step's result is kept by name for the next ones."""

    config: Config
    text: str = ""
    input_path: Path | None = None
    session: SessionContext = field(default_factory=SessionContext)
    #: The clip the next step works on: the input, then whatever render/generate/conform made.
    audio: Path | None = None
    #: The analysis of `audio` (None once `audio` changed since).
    analysis: Any = None
    #: Results of the steps so far, by step name (a later step of the same name replaces it).
    results: dict[str, Any] = field(default_factory=dict)
    #: Files the chain wrote, in order.
    outputs: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.audio is None:
            self.audio = self.input_path

    #: How the current clip came to be, as feature memory names it: analyzed (the input), rendered, generated.
    audio_source: str = "analyzed"

    def new_audio(self, path: Path, source: str) -> None:
        """A step produced a new current clip (`source`: rendered or generated); the old analysis is stale."""
        self.audio = Path(path)
        self.audio_source = source
        self.analysis = None
        self.outputs.append(Path(path))


@dataclass
class StepSpec:
    """A registered step: how to run it and how to recover when it fails."""

    name: str
    run: StepFn
    resource: str = "cpu"
    transient: tuple[type[BaseException], ...] = TRANSIENT
    #: Argument overrides tried in order when the step fails for good (e.g. {"device": "cpu"}).
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    #: Checks and converts a step's arguments before the chain starts (a chain spec into a chain
    #: object, its files against the allowed roots); raises to refuse the whole plan.
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    #: The api `Arg` each argument is checked by (None: not installed, arguments pass unchecked).
    args: dict[str, ArgSpec] | None = None
    #: Arguments no route has, which the plan itself checks (suggest_fx's goals, compose's part).
    own_args: tuple[str, ...] = ()


class StepRegistry:
    """Step names to `StepSpec`s. Planners may only name registered steps."""

    def __init__(self) -> None:
        self._steps: dict[str, StepSpec] = {}

    def register(
        self,
        name: str,
        run: StepFn,
        *,
        resource: str = "cpu",
        transient: tuple[type[BaseException], ...] = TRANSIENT,
        fallbacks: list[dict[str, Any]] | None = None,
        description: str = "",
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        own_args: tuple[str, ...] = (),
    ) -> StepSpec:
        if resource not in ("cpu", "gpu"):
            raise ValueError(f"step {name!r}: resource must be 'cpu' or 'gpu', not {resource!r}")
        spec = StepSpec(name, run, resource, transient, list(fallbacks or []), description, prepare,
                        own_args=tuple(own_args))
        self._steps[name] = spec
        return spec

    def use_args(self, specs: Mapping[str, Mapping[str, ArgSpec]]) -> None:
        """Check every registered step's arguments by these specs (step -> argument -> api `Arg`).

        A step missing from `specs` then takes only its own arguments.
        """
        for name, spec in self._steps.items():
            spec.args = dict(specs.get(name, {}))

    def check_args(self, name: str, args: Mapping[str, Any], where: str = "") -> dict[str, Any]:
        """`args` checked and converted by the step's specs; `BadRequest` names the step and the argument.

        Null values and a route's "not given" values are left out. A list or
        object for a text argument (tags, a chain) becomes its JSON text,
        which the route's text form accepts. Without installed specs the
        arguments pass as they are.
        """
        spec = self.get(name)
        if spec.args is None:
            return dict(args)
        where = where or f"step {name}"
        out: dict[str, Any] = {}
        for key, value in args.items():
            if value is None:
                continue
            if key in spec.own_args:
                out[key] = value
                continue
            arg = spec.args.get(key)
            if arg is None:
                known = ", ".join([*spec.args, *spec.own_args]) or "none"
                raise BadRequest(f"{where}: unknown argument {key!r}; {name} takes: {known}")
            if arg.type is str and isinstance(value, (list, dict)):
                value = json.dumps(value)
            try:
                value = arg.coerce(value)
            except GrymError as exc:
                raise BadRequest(f"{where}: {exc.message}") from None
            if not _unset(arg, value):
                out[key] = value
        return out

    def get(self, name: str) -> StepSpec:
        try:
            return self._steps[name]
        except KeyError:
            raise UnknownAddress(f"no step {name!r}; registered steps: {', '.join(self._steps) or 'none'}") from None

    def names(self) -> list[str]:
        return list(self._steps)

    def __contains__(self, name: object) -> bool:
        return name in self._steps
