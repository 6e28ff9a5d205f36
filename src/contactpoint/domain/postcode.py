"""UK postcode form: checked and normalised, never looked up (no address file here)."""

from __future__ import annotations

import re

_POSTCODE = re.compile(
    r"^(?:GIR0AA|"
    r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|"
    r"[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r"[0-9][ABD-HJLNP-UW-Z]{2})$"
)


def normalise_postcode(value: str) -> str | None:
    """``ls14ab`` -> ``LS1 4AB``; None when it is not a well-formed UK postcode."""
    compact = "".join(value.split()).upper()
    if not _POSTCODE.match(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def outward_code(postcode: str) -> str:
    """The district part (``LS1``), coarse enough to block on."""
    return postcode.split(" ", 1)[0]
