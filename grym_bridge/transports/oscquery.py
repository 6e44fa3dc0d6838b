"""OSCQuery: the address space as JSON over HTTP, so OSC tools can build their own controls.

Follows the OSCQuery proposal (Vidvox): `GET /` returns the tree of containers
and methods with `FULL_PATH`, `CONTENTS`, `TYPE` (OSC type tags), `ACCESS`
(2: you send to it), `RANGE` (`MIN`/`MAX`/`VALS` per argument) and
`DESCRIPTION`; `GET /grym/analyze/file` returns one node; `GET /path?ATTR`
returns one attribute; `GET /?HOST_INFO` says where the OSC server listens
and which optional attributes are served. Unknown paths answer 404, unknown
attributes 400; an attribute of the proposal that a node does not have
(`?VALUE` of a write-only method) answers 204, as the proposal says. `HEAD`
answers as `GET` without the body. Each method also carries `GRYM_ARGS` and `GRYM_OPTIONS` (names,
types, defaults, help) and `GRYM_REPLY`.

The first argument of every method is the client's request id (type `s`;
numbers work too). The tree is built once from the route table; the endpoint
holds no secrets (the token guards requests, not the description of them).
Served by the standard library's threading HTTP server on its own thread,
bounded: at most `network.oscquery_max_connections` connections at once
(more are answered 503 and closed) and `network.oscquery_timeout_s` for a
silent connection, so no client can hold threads without limit.
"""

from __future__ import annotations

import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable
from urllib.parse import unquote, urlsplit

from grym_bridge.api.routes import Arg, Route

log = logging.getLogger(__name__)

_TAGS = {int: "i", float: "f", str: "s", bool: "i", dict: "s"}
ATTRIBUTES = ("FULL_PATH", "CONTENTS", "TYPE", "ACCESS", "RANGE", "DESCRIPTION",
              "GRYM_ARGS", "GRYM_OPTIONS", "GRYM_REPLY",
              # In the proposal but not served by this tree: asked for, they answer 204 (no content).
              "VALUE", "TAGS", "EXTENDED_TYPE", "UNIT", "CRITICAL", "CLIPMODE", "OVERLOADS")
EXTENSIONS = {"ACCESS": True, "VALUE": False, "RANGE": True, "DESCRIPTION": True, "TAGS": False,
              "EXTENDED_TYPE": False, "UNIT": False, "CRITICAL": False, "CLIPMODE": False,
              "LISTEN": False, "PATH_CHANGED": False, "PATH_RENAMED": False, "PATH_ADDED": False,
              "PATH_REMOVED": False}


def _range(arg: Arg) -> dict[str, Any] | None:
    if arg.choices is not None:
        return {"VALS": list(arg.choices)}
    if arg.type is bool:
        return {"MIN": 0, "MAX": 1}
    out = {k: v for k, v in (("MIN", arg.min), ("MAX", arg.max)) if v is not None}
    return out or None


def _arg_doc(arg: Arg) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": arg.name, "type": arg.type.__name__, "required": arg.required, "help": arg.help}
    if not arg.required:
        doc["default"] = arg.default
    return doc


def method_node(route: Route) -> dict[str, Any]:
    """The OSCQuery node of one route: req_id first, then its positional arguments."""
    tags = "s" + "".join(_TAGS.get(a.type, "s") for a in route.args)
    ranges: list[dict[str, Any] | None] = [None, *(_range(a) for a in route.args)]
    description = route.doc
    if route.options:
        description += " Options (name value pairs or one JSON object after the arguments): " + ", ".join(
            f"{o.name}={o.default}" for o in route.options) + "."
    return {
        "FULL_PATH": route.address, "TYPE": tags, "ACCESS": 2, "RANGE": ranges, "DESCRIPTION": description.strip(),
        "GRYM_ARGS": [{"name": "req_id", "type": "str", "required": True,
                       "help": "your request id; the reply echoes it"}, *(_arg_doc(a) for a in route.args)],
        "GRYM_OPTIONS": [_arg_doc(o) for o in route.options],
        "GRYM_REPLY": route.reply,
    }


def build_tree(routes: Iterable[Route]) -> dict[str, Any]:
    """The whole address space as nested OSCQuery nodes."""
    root: dict[str, Any] = {"FULL_PATH": "/", "ACCESS": 0, "DESCRIPTION": "grym-bridge", "CONTENTS": {}}
    for route in sorted(routes, key=lambda r: r.address):
        node = root
        parts = [p for p in route.address.split("/") if p]
        for i, part in enumerate(parts[:-1]):
            node = node["CONTENTS"].setdefault(part, {
                "FULL_PATH": "/" + "/".join(parts[: i + 1]), "ACCESS": 0, "CONTENTS": {}})
        node.setdefault("CONTENTS", {})[parts[-1]] = method_node(route)
    return root


def find(tree: dict[str, Any], path: str) -> dict[str, Any] | None:
    node = tree
    for part in (p for p in path.split("/") if p):
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


class OscQueryServer:
    """Serves one route table's OSCQuery JSON on host:port (port 0: any free port)."""

    def __init__(self, routes: Iterable[Route], host: str, port: int, *, name: str, osc_ip: str,
                 osc_port: int, max_connections: int = 32, timeout_s: float = 10.0) -> None:
        self.tree = build_tree(routes)
        self.host_info = {"NAME": name, "EXTENSIONS": EXTENSIONS, "OSC_IP": osc_ip, "OSC_PORT": osc_port,
                          "OSC_TRANSPORT": "UDP"}
        # A handler class of its own per server: http.server makes one handler object per request.
        handler = type("OscQueryHandler", (_Handler,), {"tree": self.tree, "host_info": self.host_info,
                                                         "timeout": timeout_s})
        self._httpd = _BoundedHTTPServer((host, port), handler, max_connections=max_connections)
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="grym-oscquery", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and free the port (blocks up to half a second: call it off the event loop)."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()


class _BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, but at most `max_connections` of them; more get a 503 and are closed."""

    def __init__(self, address: tuple[str, int], handler: type, *, max_connections: int) -> None:
        super().__init__(address, handler)
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._refused = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refused += 1
            if self._refused == 1 or self._refused % 100 == 0:
                log.warning("oscquery: %d connections refused so far (network.oscquery_max_connections = %d)",
                            self._refused, self.max_connections)
            try:
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n\r\n"
                                b'{"error": "too many OSCQuery connections (network.oscquery_max_connections)"}')
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Handler(BaseHTTPRequestHandler):
    tree: dict[str, Any] = {}
    host_info: dict[str, Any] = {}
    server_version = "grym-bridge-oscquery"

    #: Seconds a silent connection is kept (set per server from network.oscquery_timeout_s).
    timeout: float | None = 10.0
    _head = False

    def do_HEAD(self) -> None:  # noqa: N802 - the http.server naming
        self._head = True
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802 - the http.server naming
        url = urlsplit(self.path)
        path, query = unquote(url.path) or "/", url.query
        if query == "HOST_INFO":
            self._json(HTTPStatus.OK, self.host_info)
            return
        node = find(self.tree, path)
        if node is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no OSC container or method at {path}"})
        elif not query:
            self._json(HTTPStatus.OK, node)
        elif query not in ATTRIBUTES:
            self._json(HTTPStatus.BAD_REQUEST, {"error": f"unknown attribute {query}; known: {', '.join(ATTRIBUTES)}"})
        elif query not in node:
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()
        else:
            self._json(HTTPStatus.OK, {query: node[query]})

    def _json(self, status: HTTPStatus, obj: Any) -> None:
        body = json.dumps(obj, separators=(",", ":"), default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not self._head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
        log.debug("oscquery %s: " + format, self.address_string(), *args)
