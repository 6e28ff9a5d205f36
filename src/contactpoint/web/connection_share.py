"""Keeping the keep-alive connections spread evenly over the worker processes.

The kernel hands each new connection to one worker's socket by a hash of its
addresses (``SO_REUSEPORT``), and a keep-alive connection then stays with that
worker for as long as its client keeps it. A few dozen long-lived connections (a
reverse proxy's pool, the benchmark's clients) rarely split evenly: 32 split 17
to 15, and the clients of the worker holding 17 waited 82 ms a search against 72
on the other (docs/benchmarks.md). Each worker's process gets the same share of
the cores, so a worker's latency grows with the connections it holds.

Each worker writes how many connections it holds into a table shared by all the
workers. A worker holding more than its fair share (the total over the workers,
rounded up) asks one client at a time to reconnect, by ending a response with
``Connection: close`` as HTTP/1.1 allows; the client's next connection lands
wherever the kernel's hash puts it, so the split evens out within seconds. A
worker at or under its share never closes, so an even split stays put.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, MutableSequence
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLOSE_GAP: Final = 0.25
"""Seconds between two connections asked to close by one worker: time for the first to
go and its client to land again, so one worker never sheds several at once."""


@dataclass
class ConnectionShare:
    """One worker's slot in the table of connections held by each worker."""

    counts: MutableSequence[int]
    """Shared by all the workers (a ``multiprocessing.Array`` of ints); one slot each."""
    index: int
    held: Callable[[], int]
    """How many connections this worker holds now."""
    clock: Callable[[], float] = time.monotonic
    last_close: float = field(default=-math.inf)

    def should_close(self) -> bool:
        """Record this worker's count; True (at most once per :data:`CLOSE_GAP`) when it
        holds more than its fair share."""
        mine = self.held()
        self.counts[self.index] = mine
        fair = math.ceil(sum(self.counts) / len(self.counts))
        now = self.clock()
        if mine <= fair or now - self.last_close < CLOSE_GAP:
            return False
        self.last_close = now
        return True


class ShareConnections:
    """ASGI middleware: ends a response with ``Connection: close`` when this worker holds
    more than its share of connections. Without a share (one process) it passes through."""

    def __init__(self, app: ASGIApp, share: ConnectionShare | None) -> None:
        self.app = app
        self.share = share

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        share = self.share
        if scope["type"] != "http" or share is None:
            await self.app(scope, receive, send)
            return

        async def send_sharing(message: Message) -> None:
            if message["type"] == "http.response.start" and share.should_close():
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_sharing)
