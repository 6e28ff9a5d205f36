"""``/api/v1/review`` and ``/api/v1/children``: the local authority team's identity work.

Thin: each route parses, calls one service function in one transaction (which
writes its own audit entry), and renders. A request the current state does not
allow (an item already decided, an undo a later change blocks) is 409 with the
service's advice; an unknown or malformed identifier is 404 or 422.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from contactpoint.errors import ContactPointError
from contactpoint.services import identity_changes, review, shielding
from contactpoint.services.identity_changes import ChangeResult
from contactpoint.web.api.problem import Problem
from contactpoint.web.dependencies import LaAdmin, RuntimeDep

router = APIRouter(tags=["identity review"])

T = TypeVar("T")
CHILD_ID = Path(min_length=12, max_length=16, description="A ContactPoint ID")
CONFLICT: dict[int | str, dict[str, Any]] = {
    status.HTTP_404_NOT_FOUND: {"model": Problem},
    status.HTTP_409_CONFLICT: {"model": Problem},
}


class AcceptBody(BaseModel):
    child_id: str = Field(min_length=12, max_length=16, description="The candidate to join")


class MergeBody(BaseModel):
    from_child_id: str = Field(min_length=12, max_length=16)
    into_child_id: str = Field(min_length=12, max_length=16)


class SplitBody(BaseModel):
    record_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)


class ShieldBody(BaseModel):
    reason_code: str = Field(min_length=1, max_length=64)


def _decided(call: Callable[[], T]) -> T:
    """Run a service call, turning a refusal into an HTTP answer with its advice."""
    try:
        return call()
    except ContactPointError as exc:
        message = str(exc)
        if message.startswith("There is no such"):
            code = status.HTTP_404_NOT_FOUND
        elif message.startswith("That is not a"):
            code = status.HTTP_422_UNPROCESSABLE_CONTENT
        else:
            code = status.HTTP_409_CONFLICT
        raise HTTPException(code, detail=message) from None


@router.get("/review/items", summary="The open review queue, oldest first (identifiers only)")
def list_items(
    caller: LaAdmin,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=review.PAGE_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    reason: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    with runtime.sessions() as session:
        page = _decided(
            lambda: review.open_items(
                session, actor=caller.actor(), limit=limit, cursor=cursor, reason=reason
            )
        )
    return page.to_json()


@router.get(
    "/review/items/{item_id}",
    responses=CONFLICT,
    summary="The record under review beside each candidate child (audited as a read of each)",
)
def compare_item(item_id: uuid.UUID, caller: LaAdmin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.sessions.begin() as session:
        comparison = _decided(
            lambda: review.compare(
                session,
                vault=runtime.vault,
                clock=runtime.clock,
                audit_key=runtime.keyring.audit_key,
                actor=caller.actor(),
                item_id=item_id,
            )
        )
        return comparison.to_json()


def _change_kwargs(caller: LaAdmin, runtime: RuntimeDep) -> dict[str, Any]:
    return {
        "clock": runtime.clock,
        "audit_key": runtime.keyring.audit_key,
        "actor": caller.actor(),
    }


@router.post(
    "/review/items/{item_id}/accept",
    responses=CONFLICT,
    summary="The record is this candidate child: join it",
)
def accept_item(
    item_id: uuid.UUID, body: AcceptBody, caller: LaAdmin, runtime: RuntimeDep
) -> dict[str, Any]:
    with runtime.sessions.begin() as session:
        result = _decided(
            lambda: review.accept(
                session, item_id=item_id, child_id=body.child_id, **_change_kwargs(caller, runtime)
            )
        )
        return result.to_json()


@router.post(
    "/review/items/{item_id}/reject",
    responses=CONFLICT,
    summary="The record is none of the candidates: it stays a child of its own",
)
def reject_item(item_id: uuid.UUID, caller: LaAdmin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.sessions.begin() as session:
        result = _decided(
            lambda: review.reject(session, item_id=item_id, **_change_kwargs(caller, runtime))
        )
        return result.to_json()


@router.post("/children/merge", responses=CONFLICT, summary="Two children are one: merge them")
def merge_children(body: MergeBody, caller: LaAdmin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.sessions.begin() as session:
        result = _decided(
            lambda: identity_changes.merge(
                session,
                from_child_id=body.from_child_id,
                into_child_id=body.into_child_id,
                **_change_kwargs(caller, runtime),
            )
        )
        return result.to_json()


@router.post(
    "/children/{child_id}/split",
    responses=CONFLICT,
    summary="These records are another child: move them to a new one",
)
def split_child(
    child_id: Annotated[str, CHILD_ID], body: SplitBody, caller: LaAdmin, runtime: RuntimeDep
) -> dict[str, Any]:
    with runtime.sessions.begin() as session:
        result = _decided(
            lambda: identity_changes.split(
                session,
                child_id=child_id,
                record_ids=body.record_ids,
                **_change_kwargs(caller, runtime),
            )
        )
        return result.to_json()


@router.post(
    "/identity-changes/{change_id}/undo",
    responses=CONFLICT,
    summary="Put back exactly what a change altered",
)
def undo_change(change_id: uuid.UUID, caller: LaAdmin, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.sessions.begin() as session:
        result = _decided(
            lambda: identity_changes.undo(
                session, change_id=change_id, **_change_kwargs(caller, runtime)
            )
        )
        return result.to_json()


def _shield_decision(
    decide: Callable[..., ChangeResult],
    child_id: str,
    body: ShieldBody,
    caller: LaAdmin,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    with runtime.sessions.begin() as session:
        result = _decided(
            lambda: decide(
                session,
                child_id=child_id,
                reason_code=body.reason_code,
                **_change_kwargs(caller, runtime),
            )
        )
        return result.to_json()


@router.post("/children/{child_id}/shield", responses=CONFLICT, summary="Shield a child")
def shield_child(
    child_id: Annotated[str, CHILD_ID], body: ShieldBody, caller: LaAdmin, runtime: RuntimeDep
) -> dict[str, Any]:
    return _shield_decision(shielding.shield, child_id, body, caller, runtime)


@router.post("/children/{child_id}/unshield", responses=CONFLICT, summary="Lift a shield")
def unshield_child(
    child_id: Annotated[str, CHILD_ID], body: ShieldBody, caller: LaAdmin, runtime: RuntimeDep
) -> dict[str, Any]:
    return _shield_decision(shielding.unshield, child_id, body, caller, runtime)
