"""``/api/v1/users``: what a local authority's administrator may do to accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel

from contactpoint.services.sign_in import DisableOutcome, disable_user
from contactpoint.web.api.problem import Problem
from contactpoint.web.dependencies import ClientAddressDep, LaAdmin, RuntimeDep

router = APIRouter(prefix="/users", tags=["users"])


class Disabled(BaseModel):
    username: str
    disabled: bool
    tokens_revoked: int


@router.post(
    "/{username}/disable",
    responses={
        status.HTTP_403_FORBIDDEN: {"model": Problem},
        status.HTTP_404_NOT_FOUND: {"model": Problem},
    },
    summary="Disable a user: they cannot sign in, and their tokens stop working at once",
)
def disable(
    username: Annotated[str, Path(min_length=1, max_length=64)],
    caller: LaAdmin,
    runtime: RuntimeDep,
    client: ClientAddressDep,
) -> Disabled:
    with runtime.sessions.begin() as session:
        result = disable_user(
            session,
            keyring=runtime.keyring,
            clock=runtime.clock,
            actor=caller.actor(),
            username=username,
            within_area=caller.area,
            unrestricted=False,
            client=client,
        )
    if result.outcome is DisableOutcome.UNKNOWN_USER:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail="There is no user with that username: check the spelling.",
        )
    if result.outcome is DisableOutcome.OUTSIDE_AREA:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="That user belongs to another area: ask that area's administrator.",
        )
    return Disabled(
        username=username.strip().lower(), disabled=True, tokens_revoked=result.tokens_revoked
    )
