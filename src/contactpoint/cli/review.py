"""``contactpoint review``, ``children`` and ``identity``: identity review at the console.

The operator at the console holds the keys, so ``review show`` decrypts and
shows the record beside its candidates; like every read of a child it is
audited. Every change prints its ID, which is what ``identity undo`` takes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from contactpoint.cli.app import app, operator
from contactpoint.cli.output import console
from contactpoint.domain.identity_change import ChildState
from contactpoint.domain.shielding import ShieldReason, UnshieldReason
from contactpoint.runtime import Runtime, open_runtime
from contactpoint.services import identity_changes, review, shielding
from contactpoint.services.identity_changes import ChangeResult

review_app = typer.Typer(help="The identity review queue.", no_args_is_help=True)
children_app = typer.Typer(help="Merge, split and shield children.", no_args_is_help=True)
identity_app = typer.Typer(help="Undo identity changes.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(children_app, name="children")
app.add_typer(identity_app, name="identity")

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _who(runtime: Runtime) -> dict[str, Any]:
    return {"clock": runtime.clock, "audit_key": runtime.keyring.audit_key, "actor": operator()}


def _describe(state: ChildState) -> str:
    words = [state.status.value]
    if state.merged_into:
        words.append(f"into {state.merged_into}")
    if state.shield.shielded:
        origin = state.shield.origin.value if state.shield.origin else "local_authority"
        words.append(f"shielded ({origin})")
    return ", ".join(words)


def render_change(result: ChangeResult) -> None:
    console.print(f"Change {result.change_id} ({result.kind.value}) recorded.", markup=False)
    for move in result.moves:
        console.print(
            f"  record {move.record_id}: {move.from_child} -> {move.to_child}", markup=False
        )
    for child_id, state in sorted(result.children.items()):
        console.print(f"  child {child_id}: {_describe(state)}", markup=False)
    for item_id in result.items:
        console.print(f"  review item {item_id}", markup=False)
    if result.new_child_id:
        console.print(f"New child: {result.new_child_id}", markup=False)


def _run(change: Callable[..., ChangeResult], **arguments: Any) -> None:
    runtime = open_runtime()
    with runtime.sessions.begin() as session:
        result = change(session, **_who(runtime), **arguments)
    render_change(result)


# --- review ----------------------------------------------------------------------------


@review_app.command("list")
def review_list(
    reason: Annotated[str | None, typer.Option(help="Only items with this reason.")] = None,
    limit: Annotated[int, typer.Option(help="Items per page (1 to 200).")] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="Where the previous page ended (it prints this).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Open review items, oldest first: identifiers and reasons only."""
    runtime = open_runtime()
    with runtime.sessions() as session:
        page = review.open_items(
            session, actor=operator(), limit=limit, cursor=cursor, reason=reason
        )
    if as_json:
        typer.echo(json.dumps(page.to_json(), indent=2))
        return
    table = Table(title=f"Open review items: {page.open_total}")
    for column in ("item", "reason", "child", "candidates (weight)", "created"):
        table.add_column(column, overflow="fold")
    for item in page.items:
        table.add_row(
            str(item.id),
            item.reason,
            item.child_id,
            ", ".join(f"{c.child_id} ({c.weight:.1f})" for c in item.candidates),
            item.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"More: contactpoint review list --cursor {page.next_cursor}", markup=False)


@review_app.command("show")
def review_show(
    item: Annotated[str, typer.Argument(help="The review item's ID.")],
    as_json: AsJson = False,
) -> None:
    """The record under review beside each candidate child (audited as a view of each)."""
    runtime = open_runtime()
    with runtime.sessions.begin() as session:
        comparison = review.compare(session, vault=runtime.vault, **_who(runtime), item_id=item)
    if as_json:
        typer.echo(json.dumps(comparison.to_json(), indent=2))
        return
    summary = comparison.item
    console.print(
        f"Review item {summary.id}: {summary.reason}, {summary.status}. "
        f"Record {summary.record_id}, now with child {comparison.holder_child_id}.",
        markup=False,
    )
    table = Table(show_lines=True)
    table.add_column("")
    table.add_column("record under review", overflow="fold")
    for side in comparison.candidates:
        state = f"\n{_describe(side.state)}" if side.state else "\nno longer exists"
        table.add_column(
            f"{side.candidate.child_id}\nweight {side.candidate.weight:.1f}{state}",
            overflow="fold",
        )
    for name, label in review.COMPARED_FIELDS:
        cells = [comparison.record.get(name) if comparison.record else None]
        cells += [side.fields.get(name) if side.fields else None for side in comparison.candidates]
        table.add_row(label, *[cell or "" for cell in cells])
    levels = sorted({name for side in comparison.candidates for name in side.candidate.levels})
    for name in levels:
        table.add_row(
            f"match: {name}",
            "",
            *[side.candidate.levels.get(name, "") for side in comparison.candidates],
        )
    console.print(table, markup=False)
    console.print(
        f"Decide with: contactpoint review accept {summary.id} --child CHILD, "
        f"or contactpoint review reject {summary.id}",
        markup=False,
    )


@review_app.command("accept")
def review_accept(
    item: Annotated[str, typer.Argument(help="The review item's ID.")],
    child: Annotated[str, typer.Option(help="The candidate child the record belongs to.")],
) -> None:
    """The record is this candidate child: it joins them."""
    _run(review.accept, item_id=item, child_id=child)


@review_app.command("reject")
def review_reject(item: Annotated[str, typer.Argument(help="The review item's ID.")]) -> None:
    """The record is none of the candidates: it stays a child of its own."""
    _run(review.reject, item_id=item)


# --- children --------------------------------------------------------------------------


@children_app.command("merge")
def children_merge(
    from_child: Annotated[str, typer.Argument(metavar="FROM", help="The child to merge away.")],
    into_child: Annotated[str, typer.Argument(metavar="INTO", help="The child that remains.")],
) -> None:
    """Two children are one: every record of FROM joins INTO."""
    _run(identity_changes.merge, from_child_id=from_child, into_child_id=into_child)


@children_app.command("split")
def children_split(
    child: Annotated[str, typer.Argument(help="The child holding the records.")],
    record: Annotated[
        list[str], typer.Option(help="A record ID to move to a new child; repeat for more.")
    ],
) -> None:
    """Some of a child's records are another child: they move to a new child."""
    _run(identity_changes.split, child_id=child, record_ids=record)


_SHIELD_CODES = ", ".join(r.value for r in ShieldReason)
_UNSHIELD_CODES = ", ".join(r.value for r in UnshieldReason)


@children_app.command("shield")
def children_shield(
    child: Annotated[str, typer.Argument(help="The child to shield.")],
    reason: Annotated[str, typer.Option(help=f"One of: {_SHIELD_CODES}.")],
) -> None:
    """Shield a child on the local authority's decision (regulation 6(5))."""
    _run(shielding.shield, child_id=child, reason_code=reason)


@children_app.command("unshield")
def children_unshield(
    child: Annotated[str, typer.Argument(help="The child whose shield is lifted.")],
    reason: Annotated[str, typer.Option(help=f"One of: {_UNSHIELD_CODES}.")],
) -> None:
    """Lift a child's shield on the local authority's decision."""
    _run(shielding.unshield, child_id=child, reason_code=reason)


# --- identity --------------------------------------------------------------------------


@identity_app.command("undo")
def identity_undo(
    change: Annotated[str, typer.Argument(help="The change ID a command printed.")],
) -> None:
    """Put back exactly what an identity change altered."""
    _run(identity_changes.undo, change_id=change)
