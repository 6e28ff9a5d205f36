from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest

from contactpoint.services.prefetch import Prefetch


def test_items_arrive_in_order_and_all_of_them() -> None:
    with Prefetch(iter(range(1000))) as items:
        assert list(items) == list(range(1000))


def test_the_producers_error_is_raised_in_the_consumer() -> None:
    def produce() -> Iterator[int]:
        yield 1
        raise ValueError("bad line")

    with Prefetch(produce()) as items, pytest.raises(ValueError, match="bad line"):
        list(items)


def test_leaving_early_stops_the_producer() -> None:
    produced = itertools.count()
    with Prefetch(iter(produced)) as items:
        assert next(items) == 0
    assert not any(t.name == "prefetch" for t in threading.enumerate())
    assert next(produced) < 10, "the producer ran at most a few items ahead"


def test_the_producer_runs_on_another_thread() -> None:
    def produce() -> Iterator[str]:
        yield threading.current_thread().name

    with Prefetch(produce()) as items:
        assert list(items) == ["prefetch"]
