"""Which given names are the same name: nicknames, short forms and sound-alikes.

Feeds disagree on a child's given name in predictable ways (``Elizabeth`` at the
surgery, ``Libby`` at school; ``Aidan`` and ``Aiden``). Nickname equivalence
comes from the hand-curated ``nicknames`` dataset (Carlton Northern and Nick
Crews, Apache-2.0), with the British, Irish, Polish and other short forms it
lacks written out in :mod:`~contactpoint.identity.diminutives`; neither is taken
from the synthetic generator's own lists, so the benchmark does not grade the
matcher against its own answer key.
"""

from __future__ import annotations

from functools import lru_cache

import jellyfish
from nicknames import NickNamer

from contactpoint.identity.diminutives import PAIRS

_NAMER = NickNamer()


@lru_cache(maxsize=1 << 16)
def name_forms(name: str) -> frozenset[str]:
    """The name with its nicknames and the formal names it may shorten."""
    if not name:
        return frozenset()
    return frozenset({name, *_NAMER.nicknames_of(name), *_NAMER.canonicals_of(name)})


@lru_cache(maxsize=1 << 16)
def sound(name: str) -> str:
    """A phonetic code (Metaphone) of a normalised name; empty for no name."""
    if not name:
        return ""
    return jellyfish.metaphone(name.replace(" ", ""))


def short_form_of(a: str, b: str) -> bool:
    """One name is a short form of the other in everyday British use (Olly, Oliver)."""
    return (a, b) in PAIRS
