"""The web page in a real browser (Debian's Chromium) against a real `grym serve`."""

from __future__ import annotations

import concurrent.futures
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from grym_bridge.audio_io import write_audio
from grym_bridge.config import Config
from tests import synth
from tests.osc_client import RunningServer
from tests.web.conftest import open_page, screenshot, start_web_server, web_url

PAGES = ("analyze", "generate", "effects", "compose", "memory", "system")


def song(tmp_path: Path, name: str = "song.wav", key: str = "A minor", bpm: float = 100.0, bars: int = 4) -> Path:
    """A synthetic clip with a known key and tempo: a chord progression over a drum loop."""
    path = tmp_path / name
    write_audio(path, synth.mix(synth.chord_progression(key, bpm=bpm, bars=bars), synth.drum_loop(bpm, bars)))
    return path


def api(server: RunningServer, address: str, **body: Any) -> Any:
    response = httpx.post(f"{web_url(server)}api/{address}", json=body, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("name", PAGES)
def test_each_page_loads_without_console_errors(web_server: RunningServer, page: Any, name: str) -> None:
    open_page(page, web_server, name)
    page.wait_for_timeout(400)  # requests a page makes after it renders (lists, subscriptions)
    assert page.title().startswith(name.capitalize())
    assert page.locator("nav a[aria-current='page']").inner_text() == name.capitalize()
    page.wait_for_function("() => document.querySelector('#conn').textContent === 'connected'")
    # Every control has a label a screen reader reads.
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('main input, main select, main textarea')]
        .filter(el => el.type !== 'hidden' && !el.classList.contains('hidden') && !el.labels?.length && !el.getAttribute('aria-label'))
        .map(el => el.outerHTML)""")
    assert unlabelled == []
    # A tablet's width: nothing runs off the side of the page.
    page.set_viewport_size({"width": 768, "height": 1024})
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1280, "height": 860})
    assert page.console.errors == []


def test_analyze_draws_key_tempo_and_waveform_of_an_uploaded_clip(web_server: RunningServer, page: Any,
                                                                  tmp_path: Path) -> None:
    clip = song(tmp_path)
    open_page(page, web_server, "analyze")
    page.set_input_files("input[type=file]", str(clip))  # the "choose a file" path: uploaded, then analyzed
    page.wait_for_selector("#bands[data-drawn='1']", timeout=60_000)
    assert page.locator("#key-value").inner_text() == "A minor"
    tempo = page.locator("#tempo-value").inner_text()
    assert tempo.endswith("BPM") and abs(float(tempo.removesuffix("BPM")) - 100.0) < 2.0
    wave = page.locator("#waveform")
    assert int(wave.get_attribute("data-beats")) >= 12 and int(wave.get_attribute("data-chords")) >= 3
    # The canvas holds a drawn waveform: many lit pixels along its middle row.
    lit = page.evaluate("""() => { const c = document.querySelector('#waveform');
        const row = c.getContext('2d').getImageData(0, Math.round(c.height * 0.6), c.width, 1).data;
        let n = 0; for (let i = 0; i < row.length; i += 4) if (row[i + 3] > 0 && row[i + 1] > 100) n++; return n / (row.length / 4); }""")
    assert lit > 0.5
    assert page.locator("#spectrogram").get_attribute("data-drawn") == "1"
    assert "LUFS" in page.locator("#meter-lufs").inner_text()
    uploads = list((web_server.services.config.data_dir / "uploads").glob("web-*.wav"))
    assert len(uploads) == 1 and uploads[0].read_bytes() == clip.read_bytes()  # the server named the copy
    assert page.console.errors == []
    screenshot(page, "analyze")


def test_effects_ab_switch_plays_the_other_file(web_server: RunningServer, page: Any, tmp_path: Path) -> None:
    clip = song(tmp_path, bars=2)
    open_page(page, web_server, "effects")
    page.fill("input[placeholder^='/path']", str(clip))
    page.keyboard.press("Enter")
    page.select_option("#fx-style", "warm")
    page.click("#suggest-btn")
    page.wait_for_selector("#reasons li", timeout=60_000)
    assert page.locator("#chain fieldset").count() >= 1
    page.click("#render-btn")
    page.wait_for_selector("#ab", timeout=60_000)
    page.click("#ab-play")
    page.wait_for_function("() => !document.querySelector('#ab-a').paused && document.querySelector('#ab-a').currentTime > 0.2")

    def audible() -> dict[str, Any]:
        return page.evaluate("""() => { const [a, b] = ['#ab-a', '#ab-b'].map(s => document.querySelector(s));
            const on = [a, b].filter(x => !x.paused && !x.muted);
            return {count: on.length, src: on[0] && decodeURIComponent(on[0].currentSrc), side: document.querySelector('#ab').dataset.side,
                    drift: Math.abs(a.currentTime - b.currentTime)}; }""")

    before = audible()
    assert before["count"] == 1 and before["side"] == "a" and str(clip.name) not in before["src"]  # A: a clean copy in renders/
    page.click("#ab-pick-b")
    after = audible()
    assert after["count"] == 1 and after["side"] == "b" and after["src"].endswith(".B.wav")  # the loudness-matched render
    assert after["src"] != before["src"] and after["drift"] < 0.2  # the same moment of the other file
    page.keyboard.press("a")
    assert audible()["side"] == "a"
    assert page.console.errors == []
    page.click("#ab-play")
    screenshot(page, "effects")


def test_compose_draws_the_piano_roll_and_serves_the_mid(web_server: RunningServer, page: Any) -> None:
    open_page(page, web_server, "compose")
    for kind in ("chords", "bass", "drums"):
        page.select_option("#compose-kind", kind)
        page.fill("input[name=bars]", "4")
        page.fill("input[name=seed]", "7")
        page.click("#compose-btn")
        page.wait_for_function(f"() => document.querySelectorAll('#parts canvas[data-drawn]').length >= {('chords', 'bass', 'drums').index(kind) + 1}",
                               timeout=30_000)
    rolls = page.locator("#parts canvas")
    assert all(int(rolls.nth(i).get_attribute("data-notes")) > 0 for i in range(3))
    href = page.locator("#parts a.button").first.get_attribute("href")
    midi = httpx.get(web_url(web_server).rstrip("/") + href, timeout=10)
    assert midi.status_code == 200 and midi.content[:4] == b"MThd"
    page.click("#play-btn")
    page.wait_for_timeout(300)
    assert page.locator("#play-btn").inner_text() == "Stop"
    page.click("#play-btn")
    assert page.console.errors == []
    screenshot(page, "compose")


def test_memory_page_searches_tags_rates_and_maps_clips(web_server: RunningServer, page: Any, tmp_path: Path) -> None:
    for i, (key, bpm) in enumerate((("A minor", 100), ("C major", 120), ("E minor", 90), ("A minor", 101))):
        api(web_server, "memory/add", path=str(song(tmp_path, f"clip{i}.wav", key, bpm, bars=2)), wait=True)
    open_page(page, web_server, "memory")
    page.wait_for_selector("#clip-map[data-drawn='1']")
    assert page.locator("#clip-map").get_attribute("data-points") == "4"
    assert page.locator("#clip-rows tr").count() == 4
    page.fill("#mem-q", "clip2")
    page.wait_for_function("() => document.querySelectorAll('#clip-rows tr').length === 1")
    page.fill("#mem-q", "")
    page.wait_for_function("() => document.querySelectorAll('#clip-rows tr').length === 4")
    page.click("#clip-rows tr[data-id='1'] button")
    page.wait_for_selector("#tag-input")
    page.fill("#tag-input", "dark, pad")
    page.click("text=Add tags")
    page.wait_for_selector("#clip-rows tr[data-id='1'] .tag >> text=pad")
    store = web_server.services.memory()
    assert set(store.get(1).tags) == {"dark", "pad"}
    page.select_option("#rating", "4")
    page.wait_for_function("() => document.querySelector('#clip-rows tr[data-id=\"1\"]').innerText.includes('4★')")
    assert store.get(1).feedback.rating == 4
    page.wait_for_selector("#clip-detail[data-rating='4']")  # the panel shows the stored rating
    page.click("#similar-btn")
    page.wait_for_selector("#similar li")
    first = page.locator("#similar li").first.inner_text()
    assert first.startswith("#4") and "score" in first  # the other A minor clip at 100 BPM is nearest
    assert page.console.errors == []
    screenshot(page, "memory")


def test_system_page_lists_jobs_and_cancels_one(config: Config, page: Any, tmp_path: Path) -> None:
    config.jobs.cpu_workers = 1  # one job runs, the next waits in the queue: the one the page cancels
    server = start_web_server(config)
    gate = threading.Event()
    try:
        # Stands in for a DAW's long job: it holds the only cpu worker until `gate` opens (an analysis
        # used here before could finish before the page loaded, and the queued job ran meanwhile).
        held: concurrent.futures.Future = concurrent.futures.Future()
        server.loop.call_soon_threadsafe(lambda: held.set_result(
            server.services.jobs.submit("daw job", lambda ctx: gate.wait(30), resource="cpu")))
        running = held.result(timeout=5).id
        waiting = api(server, "compose/melody", bars=2)["job_id"]
        open_page(page, server, "system")
        page.wait_for_selector(f"#jobs tr[data-job='{waiting}'] button")
        assert "queued" in page.locator(f"#jobs tr[data-job='{waiting}']").inner_text()
        page.click(f"#jobs tr[data-job='{waiting}'] button")
        page.wait_for_selector(f"#jobs tr[data-job='{waiting}']", state="detached")
        assert server.services.jobs.get(waiting).state.value == "cancelled"
        assert server.services.jobs.get(running).state.value in ("running", "done")
        assert page.locator("#caps tr").count() >= 5
        page.fill("#config-filter", "http.")
        assert page.locator("#config tr").count() == 4
        page.fill("#config-filter", "")
        assert page.console.errors == []
        screenshot(page, "system")
    finally:
        gate.set()
        server.stop()
