"""What a route can ask FastAPI for: the runtime, the client's address, the signed-in caller.

The app keeps one :class:`~contactpoint.runtime.Runtime` in ``app.state``
(see :func:`contactpoint.web.app.create_app`); routes reach it only through
these dependencies, so a test can hand the app a runtime of its own. Declare
needs with the ``Annotated`` aliases::

    Practitioner = Annotated[Principal, Depends(require_role(Role.PRACTITIONER))]

    @router.post("/search")
    def search(body: SearchRequest, caller: Practitioner, runtime: RuntimeDep) -> ...:
        with runtime.sessions.begin() as session:
            ...  # record(..., actor=caller.actor(), ...)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from contactpoint.clock import Clock
from contactpoint.domain.vocabulary import Role
from contactpoint.runtime import Runtime
from contactpoint.services.sign_in import Principal, Refusal, authorise
from contactpoint.settings import Settings

NOT_SIGNED_IN = (
    "Sign in first: send a current token from POST /api/v1/auth/token as "
    "'Authorization: Bearer <token>'. Tokens last a short time; if yours has expired or "
    "been revoked, sign in again."
)
NOT_ALLOWED = "Your role does not allow this. Ask your ContactPoint administrator if you need it."
UNKNOWN_CLIENT = "unknown"


def runtime_of(request: Request) -> Runtime:
    runtime = getattr(request.app.state, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise RuntimeError("The app has no runtime: build it with contactpoint.web.app.create_app.")
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """``async`` though it waits for nothing, like the other dependencies here that only
    read what the request already holds: FastAPI runs a plain ``def`` dependency in its
    thread pool, a hand-over that costs more than the dependency."""
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


async def get_sessions(runtime: RuntimeDep) -> sessionmaker[Session]:
    """The session factory; a route opens its own transaction (``sessions.begin()``)."""
    return runtime.sessions


async def get_clock(runtime: RuntimeDep) -> Clock:
    return runtime.clock


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
ClockDep = Annotated[Clock, Depends(get_clock)]


def address_of(request: Request) -> str:
    """The client's address, for lockouts and the audit log.

    Behind a reverse proxy this is the proxy's address unless uvicorn is told
    to trust it (``--forwarded-allow-ips``), in which case uvicorn has already
    put the real client here from ``X-Forwarded-For``.
    """
    return request.client.host if request.client is not None else UNKNOWN_CLIENT


async def client_address(request: Request) -> str:
    return address_of(request)


ClientAddressDep = Annotated[str, Depends(client_address)]

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from POST /api/v1/auth/token, sent as 'Authorization: Bearer <token>'.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def not_signed_in(*, token_given: bool) -> HTTPException:
    challenge = 'Bearer error="invalid_token"' if token_given else "Bearer"
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=NOT_SIGNED_IN, headers={"WWW-Authenticate": challenge}
    )


def refused(refusal: Refusal) -> HTTPException:
    """The answer to a token that was given but refused: 401, or 403 for another role."""
    if refusal is Refusal.FORBIDDEN:
        return HTTPException(status.HTTP_403_FORBIDDEN, detail=NOT_ALLOWED)
    return not_signed_in(token_given=True)


def route_of(request: Request) -> str:
    """The route's template (``/api/v1/users/{username}/disable``), never the values in it."""
    path = getattr(request.scope.get("route"), "path", None)
    return f"{request.method} {path if isinstance(path, str) else 'unrouted'}"


def require_role(*roles: Role) -> Any:
    """A dependency giving the signed-in :class:`Principal` if their role is one of ``roles``.

    The token is checked against the database on every request, so a revoked
    token or a disabled user stops working at once. 401 (with
    ``WWW-Authenticate: Bearer``) for a missing, unknown, expired or revoked
    token or a disabled user; 403 for a signed-in user of another role.
    """
    if not roles:
        raise ValueError("require_role needs at least one role")
    allowed = frozenset(roles)

    def signed_in_principal(
        request: Request, runtime: RuntimeDep, client: ClientAddressDep, credentials: BearerDep
    ) -> Principal:
        if credentials is None:
            raise not_signed_in(token_given=False)
        found = authorise(
            runtime.sessions,
            keyring=runtime.keyring,
            clock=runtime.clock,
            token=credentials.credentials,
            roles=allowed,
            client=client,
            route=route_of(request),
        )
        if isinstance(found, Refusal):
            raise refused(found)
        return found

    return signed_in_principal


SignedIn = Annotated[Principal, Depends(require_role(*Role))]
"""Any signed-in user, whatever their role."""
LaAdmin = Annotated[Principal, Depends(require_role(Role.LA_ADMIN))]

__all__ = [
    "BearerDep",
    "ClientAddressDep",
    "ClockDep",
    "LaAdmin",
    "Principal",
    "RuntimeDep",
    "SessionsDep",
    "SettingsDep",
    "SignedIn",
    "client_address",
    "get_runtime",
    "require_role",
]
