"""Finding a child and reading their record: practitioners, LA teams and emergency staff."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
