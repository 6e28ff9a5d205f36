"""The body of every error answer the API documents: one sentence saying what to do next."""

from __future__ import annotations

from pydantic import BaseModel


class Problem(BaseModel):
    detail: str
