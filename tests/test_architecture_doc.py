"""docs/architecture.md names modules of this repository: every one of them must exist."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"
#: Paths as the page writes them: `grym_bridge/app.py`, `transports/osc/server.py`, `plugin_host/`, `config/`.
PATH_RE = re.compile(r"(?<![\w/.])((?:grym_bridge/|plugin_host/)?(?:[a-z_]+/)*[a-z_]+(?:\.py|/))(?![\w])")
ROOTS = (REPO, REPO / "grym_bridge")
#: Folders the page names that are data, not code.
NOT_MODULES = {"renders/"}


def named_paths(text: str) -> list[str]:
    return sorted(set(PATH_RE.findall(text)) - NOT_MODULES)


def test_every_module_the_architecture_page_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    names = named_paths(text)
    assert len(names) > 40, f"the page names few modules; did the pattern break? {names}"
    missing = [n for n in names if not any((root / n).exists() for root in ROOTS)]
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_the_check_catches_a_module_that_is_gone() -> None:
    names = named_paths("`transports/osc/routes.py` moved to `api/routes.py`; `grym_bridge/app.py`")
    assert names == ["api/routes.py", "grym_bridge/app.py", "transports/osc/routes.py"]
    assert not any((root / "transports/osc/routes.py").exists() for root in ROOTS)
