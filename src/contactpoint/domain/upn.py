"""Unique Pupil Number form: a letter then twelve characters, as schools issue it."""

from __future__ import annotations

import re

_UPN = re.compile(r"^[A-Z][0-9]{11}[0-9A-Z]$")


def normalise_upn(value: str) -> str | None:
    compact = "".join(value.split()).upper()
    return compact if _UPN.match(compact) else None
