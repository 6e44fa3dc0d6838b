"""Who may talk to the web API: `Host` and `Origin` checked on every request and websocket.

Loopback is trusted less than it looks: any web page open in the producer's
browser can send requests to 127.0.0.1, and a DNS-rebinding trick can make a
foreign name resolve to it. So, for every HTTP request and websocket:

- the `Host` header must name this bridge (loopback names, this machine's
  names and addresses, `http.allowed_hosts`): a rebound name is refused;
- an `Origin` header, when sent, must be this page's own origin, and a
  browser's `Sec-Fetch-Site` must say same-origin (or a typed address):
  another site's page can neither call the API nor embed its files;
- a client that is not on loopback must present the studio token, as a
  `Bearer` header, or the cookie the page sets when opened with `?token=`.
"""

from __future__ import annotations

import hmac
import json
import socket
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import parse_qs, urlsplit

from grym_bridge.transports.auth import is_loopback

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_COOKIE = "grym_token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def machine_names(bind_host: str) -> set[str]:
    """Names this machine answers to when serving on `bind_host` (loopback names always)."""
    names = set(LOOPBACK_NAMES)
    if not is_loopback(bind_host):
        if bind_host not in ("0.0.0.0", "::", ""):
            names.add(bind_host)
        hostname = socket.gethostname()
        names.update({hostname, f"{hostname}.local", socket.getfqdn()})
        import ifaddr  # every interface's addresses: the machine's name may resolve to 127.0.1.1 only

        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                names.add(str(ip.ip[0] if isinstance(ip.ip, tuple) else ip.ip))
    return {n.lower() for n in names}


def split_host(value: str) -> tuple[str, int | None]:
    """`host[:port]` or `[v6]:port` as (lower-case host, port or None)."""
    try:
        parts = urlsplit("//" + value)
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", None


class HostOriginGuard:
    """ASGI middleware that refuses requests from other sites, rebound names and tokenless remote clients."""

    def __init__(self, app: ASGIApp, *, names: Iterable[str], port_of: Callable[[], int],
                 token: str | None) -> None:
        self.app = app
        self.names = {n.lower().strip("[]") for n in names}
        self.port_of = port_of
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = self.refusal(scope)
        if problem is not None:
            status, code, message = problem
            await _refuse(scope, receive, send, status, code, message)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """(status, code, message) when the request must be refused, else None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host, port = split_host(headers.get("host", ""))
        if host not in self.names:
            return 421, "bad_host", (f"this bridge does not answer to the host name {headers.get('host', '')!r}; "
                                     "open it by its address (add the name to http.allowed_hosts to allow it)")
        origin = headers.get("origin")
        if origin is not None:
            o_host, o_port = split_host(urlsplit(origin).netloc) if "://" in origin else ("", None)
            if (urlsplit(origin).scheme != "http" or o_host not in self.names
                    or (o_port or 80) != self.port_of()):
                return 403, "bad_origin", f"requests from {origin} are refused: only this bridge's own page may call it"
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return 403, "bad_origin", f"a {site} request is refused: only this bridge's own page may call it"
        client = scope.get("client") or ("", 0)
        if not is_loopback(str(client[0])) and (self.token is None or not self._has_token(scope, headers)):
            return 401, "unauthorized", ("this bridge needs the studio token from other machines: open the page "
                                         "with ?token=<token> (grym serve prints it) or send 'Authorization: Bearer <token>'")
        return None

    def _has_token(self, scope: Scope, headers: dict[str, str]) -> bool:
        token = self.token or ""
        offered: list[str] = []
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            offered.append(auth[7:].strip())
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == TOKEN_COOKIE:
                offered.append(value)
        offered += parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [])
        return any(hmac.compare_digest(t.encode(), token.encode()) for t in offered)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
    if scope["type"] == "websocket":
        await receive()  # the websocket.connect event; closing before accepting refuses the handshake (403)
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
