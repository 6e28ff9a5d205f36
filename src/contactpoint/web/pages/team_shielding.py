"""Shielding a child and lifting a shield: the local authority team's decision, with a reason.

The record page (reached only by a search) offers the action; this page asks
for the reason from the closed lists in :mod:`contactpoint.domain.shielding`
and calls the same services as the JSON API and the command line. The child's
ContactPoint ID travels in the form, never in a URL.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from contactpoint.domain.shielding import ShieldReason, UnshieldReason
from contactpoint.errors import ContactPointError
from contactpoint.services import shielding
from contactpoint.web.dependencies import RuntimeDep
from contactpoint.web.pages.dependencies import CheckedForm, PageRefused, TeamUser, form_text
from contactpoint.web.pages.templating import render

router = APIRouter(include_in_schema=False)

SHIELD_REASONS: Final[dict[str, str]] = {
    ShieldReason.RISK_OF_SIGNIFICANT_HARM: "Risk of significant harm if the child is found",
    ShieldReason.DOMESTIC_ABUSE_REFUGE: "The child is in a domestic abuse refuge",
    ShieldReason.COURT_ORDER: "A court order",
    ShieldReason.POLICE_REQUEST: "A request from the police",
    ShieldReason.ADOPTION_PLACEMENT: "An adoption placement",
}
UNSHIELD_REASONS: Final[dict[str, str]] = {
    UnshieldReason.RISK_ENDED: "The risk has ended",
    UnshieldReason.COURT_ORDER_ENDED: "The court order has ended",
    UnshieldReason.APPLIED_IN_ERROR: "The shield was applied in error",
}


def _reasons(action: str) -> dict[str, str]:
    if action == "shield":
        return SHIELD_REASONS
    if action == "unshield":
        return UNSHIELD_REASONS
    raise PageRefused(400, "Choose shield or lift the shield", "Go back to the child's record.")


def _form(
    request: Request, action: str, child_id: str, *, error: str | None = None
) -> HTMLResponse:
    reasons = _reasons(action)
    return render(
        request,
        "team_shielding/reason.html",
        {
            "action": action,
            "child_id": child_id,
            "reasons": [{"value": v, "text": t} for v, t in reasons.items()],
            "errors": [{"text": error, "href": "#reason_code"}] if error else [],
        },
        status_code=422 if error else 200,
    )


@router.post("/team/shielding")
def reason_form(request: Request, caller: TeamUser, form: CheckedForm) -> HTMLResponse:
    return _form(request, form_text(form, "action"), form_text(form, "child_id")[:32])


@router.post("/team/shielding/confirm")
def decide(
    request: Request, runtime: RuntimeDep, caller: TeamUser, form: CheckedForm
) -> HTMLResponse:
    action = form_text(form, "action")
    child_id = form_text(form, "child_id")[:32]
    reasons = _reasons(action)
    reason = form_text(form, "reason_code")
    if reason not in reasons:
        verb = "shielding this child" if action == "shield" else "lifting the shield"
        return _form(request, action, child_id, error=f"Choose the reason for {verb}")
    change = shielding.shield if action == "shield" else shielding.unshield
    try:
        with runtime.sessions.begin() as session:
            result = change(
                session,
                clock=runtime.clock,
                audit_key=runtime.keyring.audit_key,
                actor=caller.actor(),
                child_id=child_id,
                reason_code=reason,
            )
    except ContactPointError as exc:
        raise PageRefused(409, "That could not be done", str(exc)) from None
    state = result.children.get(child_id)
    return render(
        request,
        "team_shielding/done.html",
        {
            "action": action,
            "child_id": child_id,
            "shielded": state.shield.shielded if state is not None else action == "shield",
            "change_id": str(result.change_id),
        },
    )
