"""The HTTP transport: the web page, the JSON API, the websocket, uploads and downloads.

Starlette routes the requests; uvicorn serves them inside grym's own event
loop (`Server.serve()` on a socket bound here, its signal handling off:
`grym serve` keeps its own). Every request passes `HostOriginGuard` first.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import json
import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from grym_bridge import __version__
from grym_bridge.api.routes import ERROR_ADDRESS, Router
from grym_bridge.api.views import VIEWS
from grym_bridge.errors import GrymError, error_code, error_message
from grym_bridge.paths import download_roots
from grym_bridge.transports.auth import is_loopback, load_token
from grym_bridge.transports.http.api import describe_routes, error_response, make_endpoint
from grym_bridge.transports.http.files import receive_upload, send_file
from grym_bridge.transports.http.guard import TOKEN_COOKIE, HostOriginGuard, machine_names
from grym_bridge.transports.http.peers import SocketPeer

if TYPE_CHECKING:
    from grym_bridge.config import Config

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[2] / "web" / "static"
#: The page loads nothing from elsewhere, and nothing elsewhere may frame it.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
                                 b"connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]
WS_MAX_MESSAGE_BYTES = 1024 * 1024


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: `grym serve` owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _with_headers(app: Any) -> Any:
    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def send_with(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await app(scope, receive, send_with if scope["type"] == "http" else send)

    return wrapped


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `port`, or on any free port when that one is taken (said in the log)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in (port, 0):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE or candidate == 0:
                raise
            log.warning("port %d (http.port) is taken; the web page uses a free port instead", port)
            continue
        sock.listen(128)
        sock.setblocking(False)
        return sock
    raise OSError(errno.EADDRINUSE, "no free port")


class HttpTransport:
    """One web server for one `grym serve`: start it, read `url`, close it."""

    def __init__(self, config: "Config", router: Router, endpoints: dict[str, Any],
                 apps: dict[str, Any] | None = None) -> None:
        """`apps`: more ASGI apps by path (the root's MCP endpoint at /mcp), behind the same guard."""
        self.config = config
        self.apps = dict(apps or {})
        self.endpoints = endpoints
        self.router = router
        self.host = config.server.host
        self.pages: dict[Any, SocketPeer] = {}
        self.port = 0
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.uploads_root = config.data_dir / "uploads"
        self.download_roots = download_roots(config)
        self.token = load_token(config, create=not is_loopback(self.host))

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else ("[::1]" if self.host == "::" else self.host)
        return f"http://{shown}:{self.port}/"

    def app(self) -> Any:
        endpoint = make_endpoint(self)
        routes = [
            *(Route(path, app) for path, app in self.apps.items()),
            Route("/", self._index),
            Route("/api/routes", self._routes),
            Route("/api/upload", self._upload, methods=["POST"]),
            Route("/api/web/{view}", self._view),
            Route("/api/{rest:path}", endpoint, methods=["POST"]),
            Route("/files", self._file),
            WebSocketRoute("/ws", self._socket),
            Mount("/static", StaticFiles(directory=STATIC_DIR)),
        ]
        names = machine_names(self.host) | {h.lower() for h in self.config.http.allowed_hosts}
        guarded = HostOriginGuard(Starlette(routes=routes), names=names, port_of=lambda: self.port, token=self.token)
        return _with_headers(guarded)

    async def start(self) -> None:
        sock = bind_socket(self.host, self.config.http.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), lifespan="off", log_config=None, log_level="warning", access_log=False,
                                server_header=False, ws="websockets-sansio", ws_max_size=WS_MAX_MESSAGE_BYTES,
                                timeout_graceful_shutdown=2)
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # a failed start raises here
            await asyncio.sleep(0.01)
        self.endpoints.update({"http": self.port, "web": self.url})

    async def close(self) -> None:
        for page in list(self.pages.values()):
            page.close()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.gather(self._task, return_exceptions=True)

    # -- endpoints ----------------------------------------------------------------

    async def _index(self, request: Request) -> Response:
        response = FileResponse(STATIC_DIR / "index.html", media_type="text/html")
        token = request.query_params.get("token")
        if token and self.token and hmac.compare_digest(token.encode(), self.token.encode()):  # keep it for the page's calls
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    async def _routes(self, request: Request) -> JSONResponse:
        doc = describe_routes(self.router)
        doc["version"] = __version__
        return JSONResponse(doc)

    async def _upload(self, request: Request) -> Response:
        return await receive_upload(request, self.uploads_root, self.config.http.max_upload_bytes)

    async def _file(self, request: Request) -> Response:
        return await send_file(request, self.download_roots)

    async def _view(self, request: Request) -> Response:
        view = VIEWS.get(request.path_params["view"])
        if view is None:
            return error_response("unknown_address", f"no view {request.path_params['view']!r}; "
                                  f"views: {', '.join(VIEWS)}", request.url.path)
        try:
            return JSONResponse(await asyncio.to_thread(view, self.router.services, dict(request.query_params)))
        except GrymError as exc:
            return error_response(error_code(exc), error_message(exc), request.url.path)

    async def _socket(self, ws: WebSocket) -> None:
        """A page's socket: requests in (OSC-shaped JSON), replies, job events and updates out."""
        await ws.accept()
        peer = SocketPeer(asyncio.get_running_loop())
        peer.host = ws.client.host if ws.client else ""  # whose machine: job ownership (jobs.cancel_by)
        self.pages[peer.key] = peer
        peer.send("/grym/web/welcome", [peer.key, __version__])
        sender = asyncio.create_task(self._pump(ws, peer))
        try:
            while not peer.closed:
                text = await ws.receive_text()
                try:
                    message = json.loads(text)
                    address, args = str(message["address"]), list(message.get("args", []))
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    peer.send(ERROR_ADDRESS, ["", "", "malformed",
                                              f"websocket messages are {{\"address\": ..., \"args\": [...]}} JSON ({exc})"])
                    continue
                self.router.dispatch(address, args, peer)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the page closed or reloaded
        finally:
            peer.close()
            self.pages.pop(peer.key, None)
            self.router.forget(peer)
            await asyncio.gather(sender, return_exceptions=True)

    @staticmethod
    async def _pump(ws: WebSocket, peer: SocketPeer) -> None:
        while True:
            text = await peer.queue.get()
            if text is None:
                with contextlib.suppress(Exception):
                    await ws.close()
                return
            try:
                await ws.send_text(text)
            except Exception:  # noqa: BLE001 - a socket that broke mid-send: the reader ends the page
                peer.close()
                return

    def banner_line(self) -> str:
        note = "  (token required from other machines)" if not is_loopback(self.host) else ""
        return f"  Web   {self.url}{note}"
