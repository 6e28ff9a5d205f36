"""The local authority team's user management: add, disable, reset the second factor."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
