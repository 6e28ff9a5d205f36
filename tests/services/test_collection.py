"""The collector held back during a feed's batches, and run between them."""

from __future__ import annotations

import gc
import weakref

from contactpoint.services.collection import (
    COLLECT_EVERY,
    collect_after_batch,
    collected_between_batches,
)


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_a_cycle_a_batch_leaves_is_freed_a_few_batches_after_it() -> None:
    with collected_between_batches():
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        for done in range(1, COLLECT_EVERY):
            collect_after_batch(done)
        assert gone() is not None, "no collection inside the block, nor before the batch"
        collect_after_batch(COLLECT_EVERY)
        assert gone() is None


def test_the_collector_is_left_as_it_was_found() -> None:
    assert gc.isenabled()
    with collected_between_batches():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collected_between_batches():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
