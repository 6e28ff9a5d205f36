"""The auditor's pages: search the audit log and verify its chain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
