"""The index's own identifying number for a child.

Random (so it reveals neither the order children were added nor anything about
them), in Crockford's base 32 so it can be read aloud and typed without 0/O or
1/I confusion, and closed by a Luhn mod 32 check character that catches every
single mistyped character and most swaps of neighbours.
"""

from __future__ import annotations

from contactpoint.entropy import random_bits

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
_BODY_LENGTH = 11


def _luhn_check_character(body: str) -> str:
    base = len(ALPHABET)
    factor = 2
    total = 0
    for ch in reversed(body):
        addend = factor * _VALUE[ch]
        factor = 1 if factor == 2 else 2
        total += addend // base + addend % base
    return ALPHABET[(base - total % base) % base]


def format_contactpoint_id(compact: str) -> str:
    return f"{compact[0:4]}-{compact[4:8]}-{compact[8:12]}"


def new_contactpoint_id() -> str:
    """Eleven characters from 55 random bits, drawn at once: a draw per character cost
    a system call each (two on average), and the initial load makes millions of IDs."""
    bits = random_bits(5 * _BODY_LENGTH)
    body = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(_BODY_LENGTH))
    return format_contactpoint_id(body + _luhn_check_character(body))


def parse_contactpoint_id(value: str) -> str | None:
    """The canonical ``XXXX-XXXX-XXXX`` form, or None if it is not a valid ID."""
    compact = "".join(ch for ch in value.upper() if ch not in " -").translate(_CONFUSABLE)
    if len(compact) != _BODY_LENGTH + 1 or any(ch not in _VALUE for ch in compact):
        return None
    if _luhn_check_character(compact[:-1]) != compact[-1]:
        return None
    return format_contactpoint_id(compact)
