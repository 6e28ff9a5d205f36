"""Normal forms of names for comparison and blind indexing.

Feeds disagree on case, spacing, accents and punctuation (``Zoë O'Brien`` and
``ZOE OBRIEN`` are the same name); these forms make them agree without losing
scripts other than Latin.
"""

from __future__ import annotations

import unicodedata

_FOLD = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"}
)


def normalise_name(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_FOLD)
    kept = "".join(
        ch if ch.isalpha() else (" " if ch in " -\u2010\u2011" else "") for ch in stripped
    )
    return " ".join(kept.split())


def first_given_name(given_names: str) -> str:
    parts = normalise_name(given_names).split()
    return parts[0] if parts else ""


def compact_postcode(postcode: str) -> str:
    return "".join(postcode.split()).upper()
