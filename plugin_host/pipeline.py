"""Overlapping a render's reading and writing with its processing.

pedalboard, libsndfile (through cffi) and numpy's large-array operations all
release the GIL, so a render can read and meter the next block and write and
meter the previous one while the chain processes the current one. On one core
this changes nothing; on two it hides the file I/O and loudness metering
behind the effects (bench/render.py measures both). Queues are short (a few
blocks), so memory stays bounded whatever the file's length.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterator

_DEPTH = 3
_DONE = object()


def prefetch(produce: Callable[[], Any | None], depth: int = _DEPTH) -> Iterator[Any]:
    """Yield what `produce()` returns, called ahead in a thread, until it returns None.

    An exception in `produce` is raised here, in the consumer; closing the
    iterator early (the consumer failed or was cancelled) stops the thread.
    """
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                item = produce()
                if item is None:
                    break
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.05)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # handed to the consumer, raised there
            items.put(exc)
            return
        items.put(_DONE)

    thread = threading.Thread(target=run, name="plugin_host-read", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # let a blocked producer finish its put
            try:
                items.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()


class Consumer:
    """Runs `consume(item)` for each `put` item in a thread; errors surface on the next put or on exit.

    Use as a context manager: leaving the block waits until every item is
    consumed (or, when leaving on an exception, until the item in progress is).
    """

    def __init__(self, consume: Callable[[Any], Any], depth: int = _DEPTH) -> None:
        self._consume = consume
        self._items: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._abandon = threading.Event()
        self._thread = threading.Thread(target=self._run, name="plugin_host-write", daemon=True)

    def _run(self) -> None:
        while True:
            item = self._items.get()
            if item is _DONE:
                return
            if self._error is not None or self._abandon.is_set():
                continue  # drain: the render has failed
            try:
                self._consume(item)
            except BaseException as exc:
                self._error = exc

    def put(self, item: Any) -> None:
        if self._error is not None:
            raise self._error
        self._items.put(item)

    def __enter__(self) -> "Consumer":
        self._thread.start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self._abandon.set()
        self._items.put(_DONE)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error
