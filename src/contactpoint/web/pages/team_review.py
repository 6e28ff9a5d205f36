"""The local authority team's review queue: uncertain links compared side by side and resolved."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
