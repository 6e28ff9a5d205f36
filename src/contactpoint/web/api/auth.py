"""``/api/v1/auth``: exchange username, password and TOTP code for a bearer token; revoke it."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from contactpoint.services.sign_in import Credentials, revoke, sign_in
from contactpoint.web.api.problem import Problem
from contactpoint.web.dependencies import ClientAddressDep, RuntimeDep, SignedIn

SIGN_IN_FAILED = (
    "Sign-in failed. Check your username, password and the current code from your "
    "authenticator app, then try again. If it keeps failing, wait 30 minutes or ask your "
    "ContactPoint administrator."
)

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    username: str = Field(min_length=1, max_length=256)
    password: SecretStr = Field(min_length=1, max_length=1024)
    totp: SecretStr = Field(min_length=1, max_length=16, description="The 6-digit code.")


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the scheme's name)
    expires_in: int = Field(description="Seconds until the token expires.")


@router.post(
    "/token",
    responses={status.HTTP_401_UNAUTHORIZED: {"model": Problem}},
    summary="Sign in: username, password and TOTP code for a short-lived bearer token",
)
def issue_token(body: TokenRequest, runtime: RuntimeDep, client: ClientAddressDep) -> TokenResponse:
    """Every failure gets the same answer, whichever part was wrong and whether the
    account exists or is locked; the audit log records which it was."""
    issued = sign_in(
        runtime.sessions,
        vault=runtime.vault,
        keyring=runtime.keyring,
        clock=runtime.clock,
        token_lifetime=runtime.settings.api_token_lifetime,
        credentials=Credentials(
            username=body.username,
            password=body.password.get_secret_value(),
            totp=body.totp.get_secret_value(),
        ),
        client=client,
    )
    if issued is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=SIGN_IN_FAILED,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return TokenResponse(access_token=issued.token, expires_in=issued.expires_in)


@router.post(
    "/revoke",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Sign out: revoke the token this request carries",
)
def revoke_token(caller: SignedIn, runtime: RuntimeDep, client: ClientAddressDep) -> Response:
    with runtime.sessions.begin() as session:
        revoke(
            session,
            audit_key=runtime.keyring.audit_key,
            clock=runtime.clock,
            principal=caller,
            client=client,
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
