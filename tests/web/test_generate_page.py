"""The Generate page end to end with the tests' tiny seeded AudioLDM (tests/models/tiny.py)."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from grym_bridge.config import Config
from tests.models.tiny import AUDIOLDM, shared_budget, tiny_config, tiny_models_dir  # noqa: F401
from tests.osc_client import RunningServer
from tests.web.conftest import open_page, screenshot, start_web_server


@pytest.fixture
def gen_server(tiny_config: Config) -> Iterator[RunningServer]:  # noqa: F811
    server = start_web_server(tiny_config)
    try:
        yield server
    finally:
        server.stop()


def test_generate_shows_progress_and_keep_reject_rate_the_takes(gen_server: RunningServer, page: Any) -> None:
    frames: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(json.loads(payload))))
    open_page(page, gen_server, "generate")
    page.fill("textarea[name=prompt]", "dusty lofi drum loop")
    page.select_option("select[name=model]", AUDIOLDM)
    for name, value in (("duration", "1"), ("n", "2"), ("seed", "5"), ("steps", "3")):
        page.fill(f"input[name={name}]", value)
    page.click("#generate-btn")
    page.wait_for_selector("#candidates article", timeout=240_000)

    progress = [f["args"] for f in frames if f["address"] == "/grym/job/progress"]
    steps = [a[2] for a in progress if "step" in a[2]]
    # Both variations are denoised in one batch: one progress report per step for the pair.
    assert steps[:3] == ["variations 1-2/2: step 1/3", "variations 1-2/2: step 2/3", "variations 1-2/2: step 3/3"]
    assert [a[1] for a in progress] == sorted(a[1] for a in progress)
    assert any(f["address"] == "/grym/job/done" for f in frames)

    takes = page.locator("#candidates article")
    assert takes.count() == 2
    clip_ids = [int(takes.nth(i).get_attribute("data-clip")) for i in range(2)]
    sources = [takes.nth(i).locator("audio").get_attribute("src") for i in range(2)]
    assert all(s.startswith("/files?path=") for s in sources) and sources[0] != sources[1]
    assert page.evaluate("(src) => fetch(src).then(r => r.ok && r.headers.get('content-type'))", sources[0]) == "audio/wav"

    store = gen_server.services.memory()
    takes.nth(0).locator("button.keep").click()
    page.wait_for_selector("#candidates article >> nth=0 >> button.keep[aria-pressed='true']")
    takes.nth(1).locator("button.reject").click()
    page.wait_for_selector("#candidates article >> nth=1 >> button.reject[aria-pressed='true']")
    assert store.get(clip_ids[0]).feedback.kept and not store.get(clip_ids[0]).feedback.rejected
    assert store.get(clip_ids[1]).feedback.rejected
    takes.nth(0).locator("button.keep").click()  # pressing again clears it
    page.wait_for_selector("#candidates article >> nth=0 >> button.keep[aria-pressed='false']")
    assert not store.get(clip_ids[0]).feedback.kept
    takes.nth(0).locator("button.keep").click()
    page.wait_for_selector("#candidates article >> nth=0 >> button.keep[aria-pressed='true']")
    assert page.console.errors == []
    screenshot(page, "generate")
