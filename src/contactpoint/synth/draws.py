"""Fast seeded draws for the hot loops.

``random.Random.randrange`` and ``randint`` check their arguments and loop on
rejection; for eleven million children that is minutes. Scaling one
``random()`` is several times faster and, for the small ranges used here, its
bias (below one part in 2**40) is far beneath anything the data is measured by.
Every draw still comes from the caller's seeded generator, never global state.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def index(rng: random.Random, n: int) -> int:
    """A uniform integer in ``range(n)``."""
    return int(rng.random() * n)


def between(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer from ``low`` to ``high`` inclusive."""
    return low + int(rng.random() * (high - low + 1))


def choice(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]
