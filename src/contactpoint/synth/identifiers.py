"""Identifiers that are valid, unique and opaque without remembering any issued.

Eleven million children cannot be held in memory to check for duplicates, so
every identifier comes from a counter passed through a bijection of its number
space (an affine map modulo a power of ten): distinct counters give distinct
identifiers, and the numbers reveal neither the order children were generated
in nor anything about who they are.
"""

from __future__ import annotations

import random
from operator import mul

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
"""The DfE's check letters for UPNs: 23 letters, without I, O and S."""


class Permutation:
    """A seeded bijection of ``range(modulus)`` that hides the order of its inputs.

    A four-round Feistel network over an even number of decimal digits (each
    round adds a keyed hash of one half to the other, which is invertible
    whatever the hash), with cycle-walking when the modulus is not itself an
    even power of ten. Unlike an affine map, consecutive inputs give outputs with
    no visible step between them.
    """

    __slots__ = ("_half", "_keys", "modulus")

    def __init__(self, rng: random.Random, modulus: int) -> None:
        if modulus < 2:
            raise ValueError("a permutation needs at least two values")
        self.modulus = modulus
        digits = len(str(modulus - 1))
        self._half: int = 10 ** ((digits + 1) // 2)
        self._keys = tuple(rng.randrange(1 << 32) for _ in range(4))

    def _round_trip(self, n: int) -> int:
        half = self._half
        left, right = divmod(n, half)
        for key in self._keys:
            mixed = ((right ^ key) * 0x9E3779B1) & 0xFFFFFFFF
            mixed ^= mixed >> 15
            mixed = (mixed * 0x85EBCA6B) & 0xFFFFFFFF
            mixed ^= mixed >> 13
            left, right = right, (left + mixed) % half
        return left * half + right

    def __call__(self, n: int) -> int:
        if not 0 <= n < self.modulus:
            raise OverflowError(f"identifier space of {self.modulus} exhausted")
        n = self._round_trip(n)
        while n >= self.modulus:
            n = self._round_trip(n)
        return n


class _Counter:
    """A run of counter values handed out one by one, refusing to run past its end."""

    __slots__ = ("_next", "_stop")

    def __init__(self) -> None:
        self._next = 0
        self._stop = 0

    def restart(self, start: int, stop: int) -> None:
        """Continue from ``start``; values from ``stop`` on belong to someone else."""
        self._next, self._stop = start, stop

    def take(self) -> int:
        value = self._next
        if value >= self._stop:
            raise OverflowError("identifier range of this block exhausted")
        self._next = value + 1
        return value


class RecordIds(_Counter):
    """Opaque, stable record ids for one source: ``CB-`` and ten digits, say."""

    __slots__ = ("_permutation", "_prefix", "_width")

    def __init__(self, rng: random.Random, prefix: str, width: int = 10) -> None:
        super().__init__()
        self._prefix = prefix
        self._width = width
        self._permutation = Permutation(rng, 10**width)

    def issue(self, prefix: str | None = None) -> str:
        number = self._permutation(self.take())
        return f"{prefix or self._prefix}{number:0{self._width}d}"


SYNTHETIC_NHS_BASE = 900_000_000
"""NHS numbers issued here start with 9: England and Wales issue from the 400 and
600-799 million ranges (999 is the test range), so none can be a real child's."""


DUPLICATE_NHS_START = 50_000_000
"""Counters from here on number the second NHS numbers of duplicate PDS records, so they
never collide with a child's own number (the population's blocks use counters below it)."""

_WEIGHTS = tuple(range(10, 1, -1))


def _weighted_chunk(weights: tuple[int, ...]) -> tuple[int, ...]:
    """Weighted digit sums of every three-digit chunk, for a modulus 11 check in three lookups."""
    return tuple(
        weights[0] * (n // 100) + weights[1] * (n // 10 % 10) + weights[2] * (n % 10)
        for n in range(1000)
    )


_CHUNKS = (
    _weighted_chunk(_WEIGHTS[0:3]),
    _weighted_chunk(_WEIGHTS[3:6]),
    _weighted_chunk(_WEIGHTS[6:9]),
)


class NhsNumbers(_Counter):
    """Unique NHS numbers that pass the modulus 11 check.

    Instances built from identically seeded generators share one permutation, so
    numbers from disjoint counter ranges never collide: each block of children
    has its own range, and duplicate PDS records theirs from DUPLICATE_NHS_START.
    """

    __slots__ = ("_permutation",)

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self._permutation = Permutation(rng, 100_000_000)

    def issue(self) -> str:
        high, middle, low = _CHUNKS
        while True:
            body = SYNTHETIC_NHS_BASE + self._permutation(self.take())
            total = high[body // 1_000_000] + middle[body // 1000 % 1000] + low[body % 1000]
            digit = 11 - total % 11
            if digit == 11:
                digit = 0
            if digit != 10:
                return f"{body:09d}{digit}"


def upn_check_letter(body: str) -> str:
    """The DfE check letter for the twelve characters after it (weights 2..13, mod 23)."""
    total = sum(map(mul, map(int, body), range(2, 14)))
    return _UPN_LETTERS[total % 23]


class Upns(_Counter):
    """Unique Pupil Numbers: DfE check letter, the LA number, then nine digits.

    The DfE layout puts the admitting school's establishment number, the year and
    a serial after the LA number; a serial per school and year cannot be handed
    out without a global count, which would stop blocks of children being
    generated independently. So after the LA number come the last digit of the
    year of admission and eight digits from a permutation of the block's
    counter range: unique, valid, and carrying the LA a UPN is read for.
    """

    __slots__ = ("_permutation",)

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self._permutation = Permutation(rng, 100_000_000)

    def issue(self, la_code: str, year: int) -> str:
        body = f"{la_code}{year % 10}{self._permutation(self.take()):08d}"
        return upn_check_letter(body) + body
