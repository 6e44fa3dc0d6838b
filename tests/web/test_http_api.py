"""The HTTP transport without a browser: the JSON API, the websocket, files, and who may call it."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from click.testing import CliRunner
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from grym_bridge.cli import cli
from grym_bridge.config import Config
from grym_bridge.transports.http.server import HttpTransport
from tests import synth
from tests.osc_client import RunningServer
from tests.web.conftest import open_page, web_url
from grym_bridge.audio_io import write_audio


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "loop.wav"
    write_audio(path, synth.click_track(120.0, 4.0))
    return path


def post(server: RunningServer, address: str, body: Any = None, **kw: Any) -> httpx.Response:
    return httpx.post(f"{web_url(server)}api/{address}", json=body if body is not None else {}, timeout=60, **kw)


def ws_url(server: RunningServer) -> str:
    return web_url(server).replace("http://", "ws://") + "ws"


def test_routes_describe_the_route_table(web_server: RunningServer) -> None:
    doc = httpx.get(f"{web_url(web_server)}api/routes").json()
    routes = {r["address"]: r for r in doc["routes"]}
    assert set(routes) == set(web_server.services.router.routes)
    analyze = routes["/grym/analyze/file"]
    assert analyze["path"] == "/api/analyze/file" and analyze["job"] is True
    assert analyze["args"][0] | {"help": ""} == {"name": "path", "type": "str", "required": True, "default": None,
                                                 "min": None, "max": None, "choices": None, "help": ""}
    n = next(o for o in routes["/grym/generate/text"]["options"] if o["name"] == "n")
    assert (n["type"], n["default"], n["min"], n["max"]) == ("int", 1, 1, 16)


def test_requests_and_errors_follow_the_route_table(web_server: RunningServer, clip: Path) -> None:
    assert post(web_server, "system/ping").json()["values"] == [web_server.services.router.routes and
                                                                __import__("grym_bridge").__version__]
    missing = post(web_server, "analyze/file")
    assert missing.status_code == 400 and "needs 'path'" in missing.json()["error"]["message"]
    unknown = post(web_server, "analyze/file", {"path": str(clip), "depth": 3})
    assert unknown.status_code == 400 and "'depth'" in unknown.json()["error"]["message"]
    bad_type = post(web_server, "memory/get", {"clip_id": "seven"})
    assert bad_type.status_code == 400 and bad_type.json()["error"]["code"] == "bad_args"
    outside = post(web_server, "analyze/file", {"path": "/etc/hostname"})
    assert outside.status_code == 403 and outside.json()["error"]["code"] == "path_not_allowed"
    typo = post(web_server, "system/pnig")
    assert typo.status_code == 404 and "did you mean /grym/system/ping" in typo.json()["error"]["message"]
    not_json = httpx.post(f"{web_url(web_server)}api/system/ping", content=b"{oops", timeout=10)
    assert not_json.status_code == 400 and "JSON object" in not_json.json()["error"]["message"]
    done = post(web_server, "analyze/file", {"path": str(clip), "wait": True}).json()
    assert abs(done["result"]["tempo_bpm"] - 120.0) < 2.0
    queued = post(web_server, "analyze/file", {"path": str(clip)}).json()
    assert isinstance(queued["job_id"], int)
    # The server keeps answering after all of that.
    assert post(web_server, "system/ping").status_code == 200


def test_websocket_carries_job_events_and_subscriptions(web_server: RunningServer, clip: Path) -> None:
    with connect(ws_url(web_server)) as ws:
        welcome = json.loads(ws.recv(5))
        assert welcome["address"] == "/grym/web/welcome"
        page_id = welcome["args"][0]
        # A request over the socket, exactly as over OSC: req_id first.
        ws.send(json.dumps({"address": "/grym/analyze/file", "args": ["r1", str(clip)]}))
        events = [json.loads(ws.recv(30))]
        while events[-1]["address"] not in ("/grym/job/done", "/grym/job/error"):
            events.append(json.loads(ws.recv(30)))
        addresses = [e["address"] for e in events]
        assert addresses[0] == "/grym/job/queued" and events[0]["args"][0] == "r1"
        assert "/grym/job/progress" in addresses and addresses[-1] == "/grym/job/done"
        assert events[-1]["args"][1]["duration_s"] == pytest.approx(4.0, abs=0.01)  # the result, decoded
        # A job started over HTTP by this page reports to its socket.
        job = post(web_server, "compose/bass", {"bars": 1}, headers={"X-Grym-Client": page_id}).json()["job_id"]
        while True:
            event = json.loads(ws.recv(30))
            if event["address"] == "/grym/job/done" and event["args"][0] == job:
                assert event["args"][1]["kind"] == "bass"
                break
        # A subscription made over HTTP is delivered on the socket.
        first = post(web_server, "session/start_listen/context", headers={"X-Grym-Client": page_id})
        assert first.status_code == 200
        post(web_server, "session/set", {"key": "tempo", "value": "96"})
        while True:
            event = json.loads(ws.recv(10))
            if event["address"] == "/grym/session/context":
                assert event["args"][0] == "default" and event["args"][1]["tempo"] == 96  # <session> <json>
                break
        # Without a socket there is nowhere to deliver updates: refused, with what to do.
        lonely = post(web_server, "session/start_listen/context")
        assert lonely.status_code == 400 and "websocket" in lonely.json()["error"]["message"]
        ws.send("not json")
        error = json.loads(ws.recv(5))
        assert error["address"] == "/grym/error" and error["args"][2] == "malformed"
        ws.send(json.dumps({"address": "/grym/system/ping", "args": ["r2"]}))
        assert json.loads(ws.recv(5))["args"][0] == "r2"  # still open after the bad message


def test_upload_is_capped_and_named_by_the_server(config: Config, clip: Path) -> None:
    from tests.web.conftest import start_web_server

    config.http.max_upload_bytes = 100_000
    server = start_web_server(config)
    try:
        url, uploads = web_url(server), config.data_dir / "uploads"
        small = synth.sine(440.0, 0.5)
        write_audio(clip, small)
        stored = httpx.post(f"{url}api/upload", params={"name": "../../evil name.WAV"}, content=clip.read_bytes()).json()
        path = Path(stored["path"])
        assert path.parent == uploads and path.name.startswith("web-") and path.suffix == ".wav"
        assert path.read_bytes() == clip.read_bytes()
        big = httpx.post(f"{url}api/upload", params={"name": "big.wav"}, content=b"\0" * 200_000)
        assert big.status_code == 413 and "http.max_upload_bytes" in big.json()["error"]["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the cap is enforced while the bytes arrive
            for _ in range(20):
                yield b"\0" * 10_000

        streamed = httpx.post(f"{url}api/upload", params={"name": "big.wav"}, content=chunks())
        assert streamed.status_code == 413
        assert sorted(p.name for p in uploads.iterdir() if p.is_file()) == [path.name]
        assert list((uploads / ".partial").iterdir()) == []  # nothing half-written is left
        wrong = httpx.post(f"{url}api/upload", params={"name": "notes.txt"}, content=b"hello")
        assert wrong.status_code == 400 and ".wav" in wrong.json()["error"]["message"]
    finally:
        server.stop()


def test_downloads_reach_only_renders_results_and_uploads(web_server: RunningServer, tmp_path: Path) -> None:
    url, data = web_url(web_server), web_server.services.config.data_dir
    render = data / "renders" / "take.wav"
    render.write_bytes(b"RIFF....WAVE")
    ok = httpx.get(f"{url}files", params={"path": str(render), "download": 1})
    assert ok.status_code == 200 and ok.content == b"RIFF....WAVE" and "attachment" in ok.headers["content-disposition"]
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"private")
    (data / "renders" / "link.wav").symlink_to(secret)
    for path in (str(secret), str(data / "renders" / "link.wav"), str(data / "renders" / ".." / "network_token")):
        refused = httpx.get(f"{url}files", params={"path": path})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "path_not_allowed"
    gone = httpx.get(f"{url}files", params={"path": str(data / "renders" / "gone.wav")})
    assert gone.status_code == 404


def test_foreign_origin_and_host_are_refused(web_server: RunningServer) -> None:
    url = web_url(web_server)
    port = web_server.services.endpoints["http"]
    same = post(web_server, "system/ping", headers={"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200
    for headers in ({"Origin": "http://evil.example"}, {"Origin": f"http://127.0.0.1:{port + 1}"},
                    {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        refused = post(web_server, "system/ping", headers=headers)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "bad_origin", headers
    rebound = post(web_server, "system/ping", headers={"Host": f"evil.example:{port}"})
    assert rebound.status_code == 421 and rebound.json()["error"]["code"] == "bad_host"
    assert httpx.get(url, headers={"Host": "evil.example"}).status_code == 421  # the page itself too
    with pytest.raises(InvalidStatus) as refused_ws:
        connect(ws_url(web_server), additional_headers={"Origin": "http://evil.example"}, open_timeout=5)
    assert refused_ws.value.response.status_code == 403
    # A rebound name: the socket reaches 127.0.0.1, the handshake names evil.example.
    with pytest.raises(InvalidStatus) as rebound_ws:
        connect(f"ws://evil.example:{port}/ws", sock=socket.create_connection(("127.0.0.1", port)), open_timeout=5)
    assert rebound_ws.value.response.status_code == 403


def test_a_page_from_another_origin_cannot_change_anything(web_server: RunningServer, page: Any, clip: Path) -> None:
    bridge = web_url(web_server)
    clip_id = httpx.post(f"{bridge}api/memory/add", json={"path": str(clip), "wait": True}, timeout=60).json()["result"]["added"][0]
    # A "simple" cross-origin POST (text/plain, no preflight) as any web page may send: only the guard stops it.
    script = (f"fetch('{bridge}api/memory/tag', {{method: 'POST', headers: {{'Content-Type': 'text/plain'}}, "
              f"body: JSON.stringify({{clip_id: {clip_id}, tags: 'pwned'}})}}).then(() => document.title = 'sent', "
              "() => document.title = 'failed');")
    html = f"<!doctype html><title>foreign</title><script>{script}</script>".encode()
    seen: list[str] = []

    class Foreign(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: Any) -> None:
            seen.append(self.path)

    foreign = ThreadingHTTPServer(("127.0.0.1", 0), Foreign)
    threading.Thread(target=foreign.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{foreign.server_address[1]}/")
        page.wait_for_function("() => document.title !== 'foreign'")
    finally:
        foreign.shutdown()
    store = web_server.services.memory()
    assert "pwned" not in store.get(clip_id).tags
    # The bridge's own page does the same thing, and it works.
    open_page(page, web_server, "memory")
    done = page.evaluate(f"""() => fetch('/api/memory/tag', {{method: 'POST', body: JSON.stringify({{clip_id: {clip_id}, tags: 'mine'}})}})
        .then(r => r.status)""")
    assert done == 200 and "mine" in store.get(clip_id).tags


def test_clients_beyond_loopback_need_the_studio_token(web_server: RunningServer) -> None:
    """Through the transport's own ASGI app, with the client address another machine would have."""
    services = web_server.services
    transport = HttpTransport(services.config, services.router, services.endpoints)
    transport.token = "s" * 32
    transport.port = 80

    def ask(client: str, **headers: str) -> int:
        asgi = httpx.ASGITransport(app=transport.app(), client=(client, 50000))

        async def go() -> int:
            async with httpx.AsyncClient(transport=asgi, base_url="http://127.0.0.1") as c:
                return (await c.post("/api/system/ping", json={}, headers=headers)).status_code

        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:  # a thread of its own: Playwright's sync API keeps a loop in this one
            return pool.submit(asyncio.run, go()).result()

    assert ask("10.1.2.3") == 401
    assert ask("10.1.2.3", Authorization="Bearer wrong-token-wrong-token") == 401
    assert ask("10.1.2.3", Authorization=f"Bearer {'s' * 32}") == 200
    assert ask("10.1.2.3", Cookie=f"grym_token={'s' * 32}") == 200
    assert ask("127.0.0.1") == 200


def test_grym_open_finds_the_page(web_server: RunningServer) -> None:
    from grym_bridge.cli.serve import banner

    port = web_server.services.endpoints["http"]
    assert f"  Web   http://127.0.0.1:{port}/  (grym open)" in banner(web_server.services).splitlines()
    result = CliRunner().invoke(cli, ["open", "--port", str(port), "--print-url"])
    assert result.exit_code == 0 and result.output.strip() == f"http://127.0.0.1:{port}/"
    web_server.stop()
    closed = CliRunner().invoke(cli, ["open", "--port", str(port), "--print-url"])
    assert closed.exit_code == 1 and "grym serve" in closed.output


def test_the_page_can_be_switched_off(config: Config) -> None:
    from tests.web.conftest import start_web_server

    config.http.enabled = False
    server = start_web_server(config)
    try:
        assert "http" not in server.services.endpoints and "web" not in server.services.endpoints
        with server.client() as c:
            assert c.request("/grym/system/ping")[0] == "/grym/system/ping"  # the rest serves as before
    finally:
        server.stop()


def test_serving_beyond_loopback_answers_to_every_address_of_the_machine() -> None:
    import ifaddr

    from grym_bridge.transports.http.guard import machine_names

    v4 = {ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if isinstance(ip.ip, str)}
    assert v4 and v4 <= machine_names("0.0.0.0")
    assert machine_names("127.0.0.1") == {"localhost", "127.0.0.1", "::1"}  # loopback: loopback names only
