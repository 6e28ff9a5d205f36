"""Random bytes for values that must be unique and unguessable but are not keys.

AES-GCM nonces, record UUIDs and ContactPoint IDs are drawn thousands of times a
second. Each ``os.urandom`` call is a system call that lets go of Python's global
lock, and getting it back behind a busy thread waits for the interpreter's switch
interval: measured here at about 1 µs a call alone and 344 µs beside one busy
thread, which made drawing them the largest single entry in a profile of an
ingest whose lines are prepared on a second thread. So bytes are read from the
operating system's generator 4 KiB at a time, per thread, and handed out in
order; each byte is still used once only.

Keys are never drawn from here (:mod:`contactpoint.vault` uses ``secrets``
directly for them). A forked child starts with nothing buffered, so it can never
hand out its parent's bytes again.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Final

REFILL_BYTES: Final = 4096


class _Buffers(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.offset = 0


_buffers = _Buffers()


def _forget_after_fork() -> None:
    global _buffers
    _buffers = _Buffers()


os.register_at_fork(after_in_child=_forget_after_fork)


def random_bytes(count: int) -> bytes:
    """``count`` bytes from the operating system's generator, never handed out twice."""
    buffers = _buffers
    end = buffers.offset + count
    if end > len(buffers.data):
        if count > REFILL_BYTES:
            return os.urandom(count)
        buffers.data = os.urandom(REFILL_BYTES)
        buffers.offset = 0
        end = count
    chunk = buffers.data[buffers.offset : end]
    buffers.offset = end
    return chunk


def random_bits(count: int) -> int:
    """A uniform whole number of ``count`` bits."""
    return int.from_bytes(random_bytes((count + 7) // 8), "big") >> (-count % 8)


def random_uuid() -> uuid.UUID:
    """A version 4 UUID, as :func:`uuid.uuid4` makes, from the buffered bytes."""
    return uuid.UUID(bytes=random_bytes(16), version=4)
