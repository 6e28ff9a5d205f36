"""The collector held back during a feed's batches, and run between them."""

from __future__ import annotations

import gc
import weakref

from contactpoint.services.collection import collect_after_batch, collected_between_batches


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_a_cycle_a_batch_leaves_is_freed_after_the_batch() -> None:
    with collected_between_batches():
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None, "no automatic collection inside the block"
        collect_after_batch()
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
