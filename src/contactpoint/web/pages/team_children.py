"""The local authority team's records of children no feed covers, and shielding a child."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
