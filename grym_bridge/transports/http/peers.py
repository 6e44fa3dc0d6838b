"""Where replies go: one HTTP request's answer, and each open page's websocket.

A request over HTTP is dispatched through the router like an OSC message; its
first reply (or `/grym/error`) answers the HTTP request. Job progress, done
and error, and subscription updates that follow, go to the websocket of the
page that sent the request (named by its `X-Grym-Client` header), so a page
hears about its own jobs exactly as an OSC client does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any, Hashable, Sequence

log = logging.getLogger(__name__)

DONE_ADDRESSES = ("/grym/job/done", "/grym/job/error")
#: Messages a page may fall behind by before its websocket is closed (it reconnects and re-reads state).
MAX_BACKLOG = 2000

_ids = itertools.count(1)


def decode_values(values: Sequence[Any]) -> list[Any]:
    """Reply arguments for a browser: JSON strings (objects, lists) become the values they hold."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass  # a plain string that happens to start with a bracket
        out.append(value)
    return out


def _on_loop(loop: asyncio.AbstractEventLoop, fn: Any, *args: Any) -> None:
    """Run `fn` on `loop` (now if this is the loop's thread): futures and queues are not thread-safe."""
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        fn(*args)
    else:
        loop.call_soon_threadsafe(fn, *args)


class SocketPeer:
    """One page's websocket: messages are queued here and written by the socket's sender task."""

    max_payload: int | None = None
    #: The address the page talks from (set by the server): whose machine, for job ownership.
    host: str = ""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.key: Hashable = f"web-{next(_ids)}"
        self.loop = loop
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.closed = False

    def send(self, address: str, args: Sequence[Any]) -> None:
        if self.closed:
            raise ConnectionError(f"page {self.key} went away")
        text = json.dumps({"address": address, "args": decode_values(args)}, default=str)
        _on_loop(self.loop, self._put, text)

    def _put(self, text: str) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= MAX_BACKLOG:
            log.info("page %s fell %d messages behind; closing its websocket", self.key, MAX_BACKLOG)
            self.close()
            return
        self.queue.put_nowait(text)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class RequestPeer:
    """One HTTP request: its first reply answers it; later messages go on to the page's socket.

    With `wait`, the request also waits for the job it started, and `outcome`
    resolves with that job's done or error message.
    """

    max_payload: int | None = None
    host: str = ""

    def __init__(self, loop: asyncio.AbstractEventLoop, page: SocketPeer | None) -> None:
        self.loop = loop
        self.page = page
        # Sharing the page's key keeps one subscription per page, and drops it when the page closes.
        self.key: Hashable = page.key if page is not None else f"http-{next(_ids)}"
        self.reply: asyncio.Future[tuple[str, list[Any]]] = loop.create_future()
        self.outcome: asyncio.Future[tuple[str, list[Any]]] = loop.create_future()
        self.job_id: Any = None

    def send(self, address: str, args: Sequence[Any]) -> None:
        _on_loop(self.loop, self._deliver, address, list(args))

    def _deliver(self, address: str, args: list[Any]) -> None:
        if not self.reply.done():
            self.reply.set_result((address, args))
            if address == "/grym/job/queued" and len(args) > 1:
                self.job_id = args[1]
            return
        if address in DONE_ADDRESSES and args and args[0] == self.job_id and not self.outcome.done():
            self.outcome.set_result((address, args))
        if self.page is not None and not self.page.closed:
            self.page.send(address, args)
