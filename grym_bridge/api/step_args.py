"""Which api argument checks each argument of a plan step: the same `Arg`, not a copy.

A step of `/grym/ask`'s plan does the work of one route (a compose step that
of `/grym/compose/chords`, a store step that of `/grym/memory/add`), so its
arguments take that route's ranges, choices and text forms: `bars` 1 to 256,
`k` at most 1000, `tags` as "dark,pad" or a JSON list (never split into
letters). The composition root installs these into the step registry
(`StepRegistry.use_args`); an argument a step does not list here is refused
by name. Add a step argument here when a step adapter starts using one.
"""

from __future__ import annotations

from typing import Iterable

from grym_bridge.api.routes import Arg, Route

_GENERATE = "/grym/generate/text"
_COMPOSE = "/grym/compose/chords"

#: step -> {step argument: (route address, that route's argument)}.
STEP_ARGS: dict[str, dict[str, tuple[str, str]]] = {
    "memory_lookup": {"k": ("/grym/memory/similar", "k")},
    "render": {"chain": ("/grym/fx/render", "chain")},
    "generate": {"prompt": (_GENERATE, "prompt"), "duration_s": (_GENERATE, "duration"),
                 **{name: (_GENERATE, name) for name in ("bars", "tempo", "seed", "model", "steps", "guidance",
                                                         "negative", "n", "scheduler")}},
    # conforming is the generator's loop fitting: its bars and tempo ranges
    "conform": {"tempo": (_GENERATE, "tempo"), "bars": (_GENERATE, "bars"), "key": (_COMPOSE, "key")},
    "compose": {name: (_COMPOSE, name) for name in ("key", "bars", "tempo", "seed", "style")},
    "store": {"tags": ("/grym/memory/add", "tags")},
}


def step_arg_specs(routes: Iterable[Route]) -> dict[str, dict[str, Arg]]:
    """STEP_ARGS resolved against the route table: step -> argument -> the route's own `Arg` object."""
    by_address = {r.address: {a.name: a for a in (*r.args, *r.options)} for r in routes}
    specs: dict[str, dict[str, Arg]] = {}
    for step, table in STEP_ARGS.items():
        specs[step] = {}
        for key, (address, name) in table.items():
            try:
                specs[step][key] = by_address[address][name]
            except KeyError:
                raise LookupError(f"step {step} argument {key}: no argument {name!r} on {address}") from None
    return specs
