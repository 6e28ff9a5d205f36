"""``GET /api/v1/children/{child_id}``: one child, as the caller's role allows, for a reason.

Thin: the route checks the role and reads the ``X-Access-Reason`` header, then
calls :func:`contactpoint.services.child_view.view_child` in one transaction,
which audits the outcome. Refusals (a role that never sees children, a missing
or unknown reason) are audited in the same way before the answer goes back.
Every "not there" — malformed ID, unknown child, archived child — is the same
404, so the answer never tells which.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, HTTPException, status

from contactpoint.domain.reasons import parse_reason_header
from contactpoint.domain.views import may_view
from contactpoint.errors import ContactPointError
from contactpoint.services import child_view
from contactpoint.web.api.problem import Problem
from contactpoint.web.dependencies import RuntimeDep, SignedIn

router = APIRouter(prefix="/children", tags=["children"])

NOT_FOUND: Final = (
    "No child with that ContactPoint ID is available to you. Check the ID (it looks like "
    "7K2M-QX9D-4TB4), or search with what you know of the child."
)
REASON_HEADER_HELP: Final = (
    "Why you are looking: 'code' or 'code: free text', for example "
    "'child_protection_enquiry: s47 strategy meeting ref 2291'. Codes are in docs/access.md."
)


def _header_text(value: str) -> str:
    """Headers arrive as Latin-1 (RFC 9110); a client that sent UTF-8 gets its text back."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


@router.get(
    "/{child_id}",
    summary="One child's record, as your role allows",
    responses={
        status.HTTP_403_FORBIDDEN: {"model": Problem},
        status.HTTP_404_NOT_FOUND: {"model": Problem},
        status.HTTP_422_UNPROCESSABLE_CONTENT: {"model": Problem},
    },
)
def get_child(
    child_id: str,
    caller: SignedIn,
    runtime: RuntimeDep,
    x_access_reason: Annotated[str | None, Header(description=REASON_HEADER_HELP)] = None,
) -> dict[str, Any]:
    """The view of the child the caller's role allows (docs/access.md), audited with the
    reason given. An old ContactPoint ID of merged records leads to the child that holds
    them; the view's ``contactpoint_id`` is the one to use from then on."""
    problem: HTTPException | None = None
    view = None
    with runtime.sessions.begin() as session:

        def refuse(cause: child_view.RefusalCause) -> None:
            child_view.refuse(
                session,
                clock=runtime.clock,
                audit_key=runtime.keyring.audit_key,
                principal=caller,
                child_id=child_id,
                cause=cause,
            )

        if not may_view(caller.role):
            refuse(child_view.RefusalCause.ROLE)
            problem = HTTPException(status.HTTP_403_FORBIDDEN, detail=child_view.NOT_ALLOWED)
        else:
            try:
                reason = parse_reason_header(
                    None if x_access_reason is None else _header_text(x_access_reason)
                )
            except ContactPointError as exc:
                refuse(child_view.RefusalCause.NO_REASON)
                problem = HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    detail=f"{exc} Send it in the X-Access-Reason header.",
                )
            else:
                view = child_view.view_child(
                    session,
                    vault=runtime.vault,
                    clock=runtime.clock,
                    audit_key=runtime.keyring.audit_key,
                    principal=caller,
                    child_id=child_id,
                    reason=reason,
                    team_contact=runtime.settings.team_contact,
                )
    if problem is not None:
        raise problem
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=NOT_FOUND)
    return view.to_json()
