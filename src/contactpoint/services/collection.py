"""Python's cyclic garbage collector held back during a batch, and run between batches.

Ingest into a large index keeps hundreds of thousands of decrypted match features
in memory and makes hundreds of thousands of short-lived objects a batch. Left to
itself, the collector starts a collection every few hundred allocations and every
so often walks everything the process holds: into an index of 1,000,000 children
it took 43 s of a 135 s ingest (measured with ``gc.callbacks``), none of it
freeing anything, since what a batch throws away has no cycles and goes as soon as
it is dropped. Here the automatic collector is off while a feed is processed and
the young generations are collected after every ``COLLECT_EVERY`` batches, so what
a batch leaves in a cycle (a session, an exception's frames) is still freed a few
batches later. A collection walks every object made since the last one that is
still held, and at a batch's end that includes the next batch's lines and its
candidates being read ahead: collected after every batch, an ingest of 100,000
lines into a million children spent 10.1 s in collections that freed 2,819
objects in all; after every tenth, 4.3 s. The web server settles its collector differently
(``web/workers.py``): its requests never end in a pause of its choosing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collected_between_batches() -> Iterator[None]:
    """Automatic collection off inside the block (as it was after it); call
    :func:`collect_after_batch` at the end of each batch."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


COLLECT_EVERY = 10


def collect_after_batch(batches_done: int) -> None:
    """After every ``COLLECT_EVERY`` batches, the objects made since the last
    collection looked at once: those still held go to the oldest generation, which
    only a full collection walks."""
    if batches_done % COLLECT_EVERY == 0:
        gc.collect(1)
