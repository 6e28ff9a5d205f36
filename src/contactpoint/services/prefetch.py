"""Preparing the next piece of work on a thread while this one is written.

The database's round trips release the GIL, so validation, blocking tokens and
encryption of the next batch run while this batch waits on the server: on a
two-core machine the client and the database then work side by side instead
of taking turns. Used by ingest.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_DONE = object()


class Prefetch(Generic[T]):
    """Run ``produce`` on a thread, at most two items ahead of the consumer.

    An exception in the producer is raised in the consumer; leaving the
    ``with`` block early stops the producer at its next item.
    """

    def __init__(self, produce: Iterator[T], ahead: int = 2) -> None:
        self._produce = produce
        self._results: queue.Queue[object] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="prefetch", daemon=True)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._results.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        try:
            for item in self._produce:
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as exc:  # handed to the consuming thread, which raises it
            self._put(exc)

    def __enter__(self) -> Iterator[T]:
        self._thread.start()
        return self._consume()

    def _consume(self) -> Iterator[T]:
        while True:
            item = self._results.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
