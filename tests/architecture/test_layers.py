"""The layers of DESIGN.md, read from the imports: every arrow points down.

Each module's imports are read with `ast` (imports inside functions and
`TYPE_CHECKING` blocks included: a type-only arrow is still an arrow), each
module is put in its layer, and every import that points up, or sideways
between two transports, is named in the failure.

    root          grym_bridge.app, grym_bridge.cli
    transports    grym_bridge.transports.*   (each transport on its own)
    api           grym_bridge.api
    orchestrator  grym_bridge.orchestrator
    capabilities  analysis, patterns, memory, fx, compose, models, generate, plugin_host
    foundation    config, errors, audio_io, paths, results, files, values (and the package itself)
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("grym_bridge", "plugin_host")
LAYERS = ["foundation", "capabilities", "orchestrator", "api", "transports", "root"]
CAPABILITIES = ("analysis", "patterns", "memory", "fx", "compose", "models", "generate")
#: What each layer may import besides itself and the layers below it (nothing: arrows only point down).
#: Transports never import the orchestrator or a capability: they reach both through api/.
FORBIDDEN_BELOW = {"transports": {"orchestrator", "capabilities"}}
#: Transport modules every transport may use: the studio token gate.
SHARED_TRANSPORT = {"auth"}
#: Transport assemblies that start or bridge other transports, and what they may import of them.
ASSEMBLIES = {
    "network": {"oscquery", "rpc", "discovery"},  # the studio network starts RPC, OSCQuery and zeroconf
    "relay": {"osc", "rpc", "discovery"},  # a relay turns local OSC into a remote bridge's RPC
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "plugin_host":
        return "capabilities"
    sub = parts[1] if len(parts) > 1 else ""
    if sub in ("app", "cli", "__main__"):
        return "root"
    if sub == "transports":
        return "transports"
    if sub == "api":
        return "api"
    if sub == "orchestrator":
        return "orchestrator"
    if sub in CAPABILITIES:
        return "capabilities"
    return "foundation"


def transport_unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["grym_bridge", "transports"] else None


def imports(path: Path, text: str | None = None) -> list[tuple[int, str]]:
    """Every module `path` imports (absolute names, relative ones resolved), with its line.

    `text` reads that source as though it were the file at `path`.
    """
    tree = ast.parse(path.read_text(encoding="utf-8") if text is None else text, str(path))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):  # walks function bodies and `if TYPE_CHECKING:` blocks too
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                node.value.startswith(PACKAGES) and node.value.replace(".", "").replace("_", "").isalnum():
            # A module named in a string is imported by importlib somewhere: hidden from readers, not from this test.
            out.append((node.lineno, node.value))
    return out


def _known(name: str, modules: set[str]) -> str | None:
    """The module `name` refers to (it may name an attribute of a module), if it is one of ours."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def bad_arrow(importer: str, imported: str) -> str | None:
    """Why the arrow importer -> imported breaks the layers, or None when it points down (or stays level)."""
    a, b = layer(importer), layer(imported)
    if importer.startswith("plugin_host") and imported.startswith("grym_bridge"):
        return "leaves plugin_host (it depends on numpy, soundfile and pedalboard only)"
    if LAYERS.index(b) > LAYERS.index(a):
        return f"points up ({a} -> {b})"
    if b in FORBIDDEN_BELOW.get(a, set()):
        return f"skips the api ({a} -> {b})"
    if a == b == "transports":
        mine, theirs = transport_unit(importer), transport_unit(imported)
        if mine and theirs and mine != theirs and theirs not in SHARED_TRANSPORT | ASSEMBLIES.get(mine, set()):
            return f"points sideways (transport {mine} -> transport {theirs})"
    return None


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def test_every_import_points_down() -> None:
    modules = all_modules()
    names = set(modules)
    problems = []
    for importer, path in modules.items():
        for line, name in imports(path):
            imported = _known(name, names)
            if imported is None or imported == importer:
                continue
            why = bad_arrow(importer, imported)
            if why:
                problems.append(f"{path.relative_to(REPO)}:{line}: {importer} imports {imported}: {why}")
    assert not problems, "imports that break the layers of DESIGN.md:\n" + "\n".join(sorted(set(problems)))


def test_the_checker_names_the_arrows_it_must_refuse() -> None:
    """The rules themselves, on arrows the code must never grow (so a lax checker cannot pass silently)."""
    assert bad_arrow("grym_bridge.transports.osc.server", "grym_bridge.app") == "points up (transports -> root)"
    assert bad_arrow("grym_bridge.transports.midi.transport", "grym_bridge.transports.osc.server") == \
        "points sideways (transport midi -> transport osc)"
    assert bad_arrow("grym_bridge.transports.rpc.server", "grym_bridge.fx.service") == \
        "skips the api (transports -> capabilities)"
    assert bad_arrow("grym_bridge.orchestrator.selftest", "grym_bridge.transports.midi") == \
        "points up (orchestrator -> transports)"
    assert bad_arrow("grym_bridge.fx.service", "grym_bridge.orchestrator.services") == \
        "points up (capabilities -> orchestrator)"
    assert bad_arrow("grym_bridge.config", "grym_bridge.fx.service") == "points up (foundation -> capabilities)"
    assert bad_arrow("plugin_host.render", "grym_bridge.errors") == \
        "leaves plugin_host (it depends on numpy, soundfile and pedalboard only)"
    assert bad_arrow("grym_bridge.api.fx", "grym_bridge.fx.service") is None
    assert bad_arrow("grym_bridge.transports.network", "grym_bridge.transports.rpc.server") is None


def test_type_checking_imports_and_import_module_are_read() -> None:
    text = ("from typing import TYPE_CHECKING\nimport importlib\nif TYPE_CHECKING:\n"
            "    from grym_bridge.app import Services\n"
            "PARTS = [('midi', 'grym_bridge.transports.midi')]\n"
            "def f(name):\n    return importlib.import_module(name)\n")
    names = [name for _, name in imports(REPO / "grym_bridge" / "orchestrator" / "probe.py", text)]
    assert "grym_bridge.app.Services" in names and "grym_bridge.transports.midi" in names
