"""OSCQuery: the address space as JSON over HTTP, so OSC tools can build their own controls.

Follows the OSCQuery proposal (Vidvox): `GET /` returns the tree of containers
and methods with `FULL_PATH`, `CONTENTS`, `TYPE` (OSC type tags), `ACCESS`
(2: you send to it), `RANGE` (`MIN`/`MAX`/`VALS` per argument) and
`DESCRIPTION`; `GET /grym/analyze/file` returns one node; `GET /path?ATTR`
returns one attribute; `GET /?HOST_INFO` says where the OSC server listens
and which optional attributes are served. Unknown paths answer 404, unknown
attributes 400. Each method also carries `GRYM_ARGS` and `GRYM_OPTIONS` (names,
types, defaults, help) and `GRYM_REPLY`.

The first argument of every method is the client's request id (type `s`;
numbers work too). The tree is built once from the route table; the endpoint
holds no secrets (the token guards requests, not the description of them).
Served by the standard library's threading HTTP server on its own thread.
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
              "GRYM_ARGS", "GRYM_OPTIONS", "GRYM_REPLY")
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
                 osc_port: int) -> None:
        self.tree = build_tree(routes)
        self.host_info = {"NAME": name, "EXTENSIONS": EXTENSIONS, "OSC_IP": osc_ip, "OSC_PORT": osc_port,
                          "OSC_TRANSPORT": "UDP"}
        # A handler class of its own per server: http.server makes one handler object per request.
        handler = type("OscQueryHandler", (_Handler,), {"tree": self.tree, "host_info": self.host_info})
        self._httpd = ThreadingHTTPServer((host, port), handler)
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


class _Handler(BaseHTTPRequestHandler):
    tree: dict[str, Any] = {}
    host_info: dict[str, Any] = {}
    server_version = "grym-bridge-oscquery"

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
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the http.server signature
        log.debug("oscquery %s: " + format, self.address_string(), *args)
