"""``POST /api/v1/search`` and ``POST /api/v1/emergency/search``: one child or nothing.

Thin: parse the body, check the bearer token and call
:func:`contactpoint.services.search.search` in one transaction (which audits every
outcome), and render its answer with the status CONTRACT.md section 3 fixes.

Unlike the other routes, the token is checked inside the search's own transaction
(:func:`~contactpoint.services.sign_in.authorise_in`) rather than by a
``require_role`` dependency: the check and the search then share one connection,
one commit and one hand-over to a worker thread, which is a large part of a
search's cost at hundreds a second. The answers are the same: 401 for a missing or
refused token, 403 for another role, with the refusal audited. The rules are in
:mod:`contactpoint.domain.search_policy` and docs/search.md.

Fields the body does not name are kept aside and refused by the service, so
that a search on an unknown field is audited like any other refusal.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Final, Literal

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from contactpoint.domain.search_policy import RawQuery, Scope, SearchLimits
from contactpoint.domain.vocabulary import Role
from contactpoint.runtime import Runtime
from contactpoint.services.search import Result, SearchTools, search
from contactpoint.services.sign_in import Refusal, authorise_in
from contactpoint.web.api.problem import Problem
from contactpoint.web.dependencies import (
    BearerDep,
    ClientAddressDep,
    RuntimeDep,
    not_signed_in,
    refused,
    route_of,
)

router = APIRouter(tags=["search"])

SEARCHERS: Final = frozenset({Role.PRACTITIONER, Role.LA_ADMIN})
EMERGENCY_USERS: Final = frozenset({Role.EMERGENCY})

TERM_MAX_LENGTH: Final = 1000
"""Far above any real value; the search policy refuses (and audits) anything over 100."""


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    code: str | None = Field(
        default=None, max_length=64, description="A reason code from docs/access.md."
    )
    detail: str | None = Field(
        default=None, max_length=TERM_MAX_LENGTH, description="Free text, e.g. a case reference."
    )


def _term(description: str) -> Any:
    return Field(default=None, max_length=TERM_MAX_LENGTH, description=description)


class SearchRequest(BaseModel):
    """What the searcher knows of the child. Which combinations are enough is in
    docs/search.md; too little gives 422 with advice on what to add."""

    model_config = ConfigDict(extra="allow", hide_input_in_errors=True)

    reason: Reason | None = Field(default=None, description="Why you are searching: required.")
    given_name: str | None = _term("The child's given name (a nickname is matched too).")
    family_name: str | None = _term("The child's family name.")
    date_of_birth: str | None = _term("The full date of birth, YYYY-MM-DD.")
    gender: str | None = _term("female, male, other or unknown.")
    postcode: str | None = _term("The full postcode of the child's address.")
    nhs_number: str | None = _term("The NHS number (ten digits).")
    upn: str | None = _term("The Unique Pupil Number.")
    child_id: str | None = _term("The ContactPoint ID, e.g. 7K2M-QX9D-4TB4.")

    def raw(self) -> RawQuery:
        return RawQuery(
            given_name=self.given_name,
            family_name=self.family_name,
            date_of_birth=self.date_of_birth,
            gender=self.gender,
            postcode=self.postcode,
            nhs_number=self.nhs_number,
            upn=self.upn,
            child_id=self.child_id,
        )


class Match(BaseModel):
    result: Literal["match"]
    child: dict[str, Any] = Field(description="The view of the child your role allows.")


class NoUniqueMatch(BaseModel):
    result: Literal["no_unique_match"]
    advice: str


class InsufficientDetail(BaseModel):
    result: Literal["insufficient_detail"]
    advice: str


RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status.HTTP_200_OK: {
        "model": Match | NoUniqueMatch,
        "description": "One child matched with confidence, or the one answer for none and "
        "for several.",
    },
    status.HTTP_422_UNPROCESSABLE_CONTENT: {
        "model": InsufficientDetail | Problem,
        "description": "Too little detail to search on (with advice on what to add), or no "
        "reason given.",
    },
    status.HTTP_429_TOO_MANY_REQUESTS: {
        "model": Problem,
        "description": "Past your search limit; see Retry-After.",
    },
}

STATUS: Final[dict[Result, int]] = {
    Result.MATCH: status.HTTP_200_OK,
    Result.NO_UNIQUE_MATCH: status.HTTP_200_OK,
    Result.INSUFFICIENT_DETAIL: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Result.NO_REASON: status.HTTP_422_UNPROCESSABLE_CONTENT,
    Result.RATE_LIMITED: status.HTTP_429_TOO_MANY_REQUESTS,
    Result.ROLE: status.HTTP_403_FORBIDDEN,
}


def search_tools(runtime: Runtime) -> SearchTools:
    settings = runtime.settings
    return SearchTools(
        vault=runtime.vault,
        indexer=runtime.indexer,
        model=runtime.linker.model,
        keyring=runtime.keyring,
        clock=runtime.clock,
        limits=SearchLimits(
            per_minute=settings.search_limit_per_minute,
            per_day=settings.search_limit_per_day,
            probe_weight=settings.search_probe_weight,
        ),
        team_contact=settings.team_contact,
    )


def _run(
    runtime: Runtime,
    token: str,
    roles: frozenset[Role],
    route: str,
    scope: Scope,
    body: SearchRequest,
    client: str,
) -> JSONResponse:
    reason = body.reason or Reason()
    with runtime.sessions.begin() as session:
        caller = authorise_in(
            session,
            keyring=runtime.keyring,
            clock=runtime.clock,
            token=token,
            roles=roles,
            client=client,
            route=route,
        )
        if isinstance(caller, Refusal):
            answer = None
        else:
            answer = search(
                session,
                search_tools(runtime),
                principal=caller,
                scope=scope,
                raw=body.raw(),
                reason_code=reason.code,
                reason_detail=reason.detail,
                unknown_terms=list(body.model_extra or {}),
                client=client,
                commit=True,
            )
    if answer is None:
        raise refused(caller if isinstance(caller, Refusal) else Refusal.UNAUTHENTICATED)
    headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after else None
    return JSONResponse(answer.to_json(), status_code=STATUS[answer.result], headers=headers)


async def _search(
    request: Request,
    runtime: Runtime,
    client: str,
    credentials: HTTPAuthorizationCredentials | None,
    roles: frozenset[Role],
    scope: Scope,
    body: SearchRequest,
) -> JSONResponse:
    """The token check and the search, on one worker thread in one transaction."""
    if credentials is None:
        raise not_signed_in(token_given=False)
    work = partial(
        _run, runtime, credentials.credentials, roles, route_of(request), scope, body, client
    )
    return await anyio.to_thread.run_sync(work, limiter=search_slots(request, runtime))


def search_slots(request: Request, runtime: Runtime) -> CapacityLimiter:
    """The process's searches at once (``CONTACTPOINT_SEARCH_THREADS``); one limiter an app,
    made at its first search (the event loop runs one request at a time up to here)."""
    slots: CapacityLimiter | None = getattr(request.app.state, "search_slots", None)
    if slots is None:
        slots = CapacityLimiter(runtime.settings.search_threads)
        request.app.state.search_slots = slots
    return slots


@router.post(
    "/search",
    responses=RESPONSES,
    summary="Find one child from what you know of them (practitioners, local authority teams)",
)
async def search_children(
    body: SearchRequest,
    request: Request,
    runtime: RuntimeDep,
    client: ClientAddressDep,
    credentials: BearerDep,
) -> JSONResponse:
    """Exactly one child that matches with confidence, as your role may see them; otherwise
    the same answer whether no child or several matched. Audited, with the reason."""
    return await _search(request, runtime, client, credentials, SEARCHERS, Scope.STANDARD, body)


@router.post(
    "/emergency/search",
    responses=RESPONSES,
    summary="Emergency search: fewer details, a minimal view, every use reviewed",
)
async def emergency_search(
    body: SearchRequest,
    request: Request,
    runtime: RuntimeDep,
    client: ClientAddressDep,
    credentials: BearerDep,
) -> JSONResponse:
    """For A&E and ambulance staff: the child's name and date of birth, whether they are on
    a child protection plan or looked after, and whom to call at any hour. Every use raises
    an alert that the local authority reviews."""
    return await _search(
        request, runtime, client, credentials, EMERGENCY_USERS, Scope.EMERGENCY, body
    )
