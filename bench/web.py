"""The web page: request to first paint of a 3-minute clip's analysis view, and job progress
latency over the websocket against the same message over OSC, in one run.

Run:  .venv/bin/python bench/web.py [--minutes 3] [--jobs 30]

A real server runs in this process (HTTP transport, OSC over UDP), and Debian's
Chromium (Playwright, /usr/bin/chromium) opens its page.

1. Analysis view. Peer: the same analysis over OSC (`/grym/analyze/file`,
   request to `/grym/job/done`), what a DAW pays for the numbers alone. Page:
   from the moment the producer presses Enter on a path to the first frame
   painted with key, tempo, waveform (beats, bars, chords) and spectrogram
   (the analysis job, the waveform peaks and the spectrogram, all from the
   browser), and then with the band balance against the target curve. Two
   different clips of the same length and make, so no cache helps either.
2. Progress latency. An OSC client and a page's websocket both subscribe to
   `/grym/job/progress`; a third client runs short analyses. For every
   progress message: the time from the job queue emitting it (a listener put
   first in line, same clock) to its arrival at each client; p50 and p99 of
   both, and their ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from grym_bridge.audio_io import write_audio  # noqa: E402
from grym_bridge.config import load_config  # noqa: E402
from tests import synth  # noqa: E402
from tests.osc_client import OscClient, start_server  # noqa: E402
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def clip(folder: Path, name: str, key: str, minutes: float) -> Path:
    bpm = 120.0
    bars = max(1, round(minutes * 60 * bpm / 240))
    path = folder / name
    write_audio(path, synth.mix(synth.chord_progression(key, bpm=bpm, bars=bars), synth.drum_loop(bpm, bars)))
    return path


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def analysis_view(server: Any, osc_clip: Path, page_clip: Path) -> None:
    with server.client(timeout=120) as c:
        start = time.perf_counter()
        c.wait_job(c.start_job("/grym/analyze/file", str(osc_clip)), timeout=300)
        osc_s = time.perf_counter() - start
    url = server.services.endpoints["web"]
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                                    viewport={"width": 1280, "height": 860})
        page = ctx.new_page()
        page.goto(url + "#/analyze")
        page.wait_for_selector("#page[data-ready='1']")
        page.fill("input[placeholder^='/path']", str(page_clip))
        page.evaluate("""() => {
            window.__paint = {};
            const input = document.querySelector("input[placeholder^='/path']");
            input.addEventListener('keydown', () => { window.__t0 = performance.now(); }, {capture: true, once: true});
            const mark = (sel, key) => new MutationObserver((_, obs) => {
                if (document.querySelector(sel)?.dataset.drawn) {
                    obs.disconnect();
                    requestAnimationFrame(() => requestAnimationFrame(() => { window.__paint[key] = performance.now() - window.__t0; }));
                }
            }).observe(document.querySelector(sel), {attributes: true});
            mark('#spectrogram', 'view'); mark('#bands', 'bands');
        }""")
        page.press("input[placeholder^='/path']", "Enter")
        page.wait_for_function("() => window.__paint.view && window.__paint.bands", timeout=600_000)
        paint = page.evaluate("window.__paint")
        ctx.close()
    view_s, bands_s = paint["view"] / 1000, paint["bands"] / 1000
    print(f"analysis view of a {osc_clip.stat().st_size / 1e6:.0f} MB clip:")
    print(f"  peer  OSC /grym/analyze/file, request -> done        {osc_s:7.2f} s")
    print(f"  page  Enter -> first paint (key, tempo, wave, spec)  {view_s:7.2f} s   ratio {view_s / osc_s:.2f}x")
    print(f"  page  Enter -> band balance painted                {bands_s:7.2f} s   ratio {bands_s / osc_s:.2f}x")


def progress_latency(server: Any, short_clip: Path, jobs: int, stack: contextlib.ExitStack) -> None:
    emitted: dict[tuple[int, str], float] = {}
    got: dict[str, dict[tuple[int, str], float]] = {"osc": {}, "ws": {}}

    def on_event(event: str, job: Any) -> None:
        if event == "progress":
            emitted[(job.id, job.message)] = time.perf_counter()

    server.services.jobs._listeners.insert(0, on_event)  # before the router's: the moment it is emitted
    stop = threading.Event()
    osc = OscClient(server.port, timeout=0.2)
    osc.request("/grym/job/start_listen/progress")
    ws = stack.enter_context(connect(server.services.endpoints["web"].replace("http", "ws") + "ws"))
    json.loads(ws.recv(5))
    ws.send(json.dumps({"address": "/grym/job/start_listen/progress", "args": ["w"]}))
    json.loads(ws.recv(5))

    def read_osc() -> None:
        while not stop.is_set():
            try:
                address, args = osc.recv(0.2)
            except (TimeoutError, OSError, AssertionError):
                continue
            if address == "/grym/job/progress":
                got["osc"][(args[0], args[2])] = time.perf_counter()

    def read_ws() -> None:
        while not stop.is_set():
            try:
                message = json.loads(ws.recv(0.2))
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - closed at the end
                return
            if message["address"] == "/grym/job/progress":
                got["ws"][(message["args"][0], message["args"][2])] = time.perf_counter()

    readers = [threading.Thread(target=read_osc, daemon=True), threading.Thread(target=read_ws, daemon=True)]
    for r in readers:
        r.start()
    with server.client(timeout=60) as driver:
        for _ in range(jobs):
            driver.wait_job(driver.start_job("/grym/analyze/file", str(short_clip)))
    time.sleep(0.3)
    stop.set()
    for r in readers:
        r.join(2)
    osc.close()
    lat = {k: [(t - emitted[key]) * 1000 for key, t in v.items() if key in emitted] for k, v in got.items()}
    print(f"job progress latency, emitted -> received ({len(emitted)} messages, {jobs} jobs):")
    for name, label in (("osc", "peer  OSC over UDP"), ("ws", "page  websocket  ")):
        print(f"  {label}  p50 {statistics.median(lat[name]):6.2f} ms   p99 {pct(lat[name], 0.99):6.2f} ms   "
              f"received {len(lat[name])}/{len(emitted)}")
    print(f"  ratio websocket / OSC: p50 {statistics.median(lat['ws']) / statistics.median(lat['osc']):.2f}x   "
          f"p99 {pct(lat['ws'], 0.99) / pct(lat['osc'], 0.99):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="length of the analysed clip")
    parser.add_argument("--jobs", type=int, default=30, help="short analyses whose progress is timed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = load_config(None, {"data_dir": str(folder / "data"), "paths.allowed_roots": [str(folder)],
                                    "http.port": 0, "network.rpc_port": 0, "network.oscquery_port": 0}, environ={})
        osc_clip, page_clip = clip(folder, "a.wav", "A minor", args.minutes), clip(folder, "b.wav", "E minor", args.minutes)
        short = clip(folder, "short.wav", "C major", 4 / 60)
        server = start_server(config)
        try:
            analysis_view(server, osc_clip, page_clip)
            with contextlib.ExitStack() as stack:
                progress_latency(server, short, args.jobs, stack)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
