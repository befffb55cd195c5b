"""Promotion requests, rollback and alias history from a terminal (the SDK underneath; docs/governance.md).

    lineage-reg promote request COLLECTION ALIAS VERSION [--reason TEXT]
    lineage-reg promote approve|reject REQUEST-ID [--comment TEXT]
    lineage-reg promote cancel REQUEST-ID
    lineage-reg promote list [--project P | --collection C] [--state PENDING] [--json]
    lineage-reg rollback COLLECTION ALIAS --reason TEXT
    lineage-reg history COLLECTION --alias production [--at 2026-11-30T12:00]   (in client.py)
    lineage-reg comment TARGET ["text"]
    lineage-reg card show TARGET | card export REF [--format hf|markdown] [-o README.md]
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .client import Json, Url, out, session, table

promote_app = typer.Typer(help="Promotion requests: ask for an alias move, review it (docs/governance.md).",
                          no_args_is_help=True)

Comment = Annotated[Optional[str], typer.Option(help="recorded with the review")]  # noqa: UP045
REQUEST_COLUMNS = ["id", "collection", "alias", "version", "previous", "state", "requestedBy", "approvals",
                   "requestedAt"]


def _say(request: dict[str, Any], what: str) -> None:
    approvals = sum(1 for r in request["reviews"] if r["decision"] == "APPROVE")
    out.print(f"{what} {request['id']}: {request['alias']} of {request['collection']} -> {request['version']}, "
              f"{request['state']} ({approvals}/{request['requiredApprovals']} approvals)", highlight=False,
              markup=False)


@promote_app.command("request")
def request(collection: Annotated[str, typer.Argument(help="project/registered-model or project/artifact")],
            alias: str, version: Annotated[str, typer.Argument(help="a reference (project/name:v3) or an id")],
            reason: Annotated[Optional[str], typer.Option(help="why: evaluation results, a ticket")] = None,  # noqa: UP045
            url: Url = None) -> None:
    """Ask for ALIAS of COLLECTION to move to VERSION; prints the request's id for the reviewers."""
    with session(url) as reg:
        _say(reg.request_promotion(collection, alias, version, reason=reason), "requested")


@promote_app.command("approve")
def approve(request_id: str, comment: Comment = None, url: Url = None) -> None:
    """Approve a request; the approval that reaches the policy's number moves the alias."""
    with session(url) as reg:
        _say(reg.review(request_id, approve=True, comment=comment), "approved")


@promote_app.command("reject")
def reject(request_id: str, comment: Comment = None, url: Url = None) -> None:
    """Reject a request (one rejection ends it)."""
    with session(url) as reg:
        _say(reg.review(request_id, approve=False, comment=comment), "rejected")


@promote_app.command("cancel")
def cancel(request_id: str, url: Url = None) -> None:
    """Withdraw a pending request (your own, or any as a project admin)."""
    with session(url) as reg:
        _say(reg.cancel_promotion(request_id), "cancelled")


@promote_app.command("list")
def list_requests(project: Annotated[Optional[str], typer.Option(help="only this project")] = None,  # noqa: UP045
                  collection: Annotated[Optional[str], typer.Option(help="only this collection")] = None,  # noqa: UP045
                  state: Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
                      help="PENDING, APPLIED, REJECTED, CANCELLED or EXPIRED (repeat for several)")] = None,
                  limit: Annotated[int, typer.Option(min=0)] = 50, as_json: Json = False, url: Url = None) -> None:
    """Promotion requests, newest first."""
    with session(url) as reg:
        found = list(reg.promotions(project=project, collection=collection, states=state, limit=limit))
    if as_json:
        table(found, [], True)
        return
    rows = [{**r, "approvals": f"{sum(1 for v in r['reviews'] if v['decision'] == 'APPROVE')}/"
                               f"{r['requiredApprovals']}"} for r in found]
    if rows:
        table(rows, REQUEST_COLUMNS, False)
    else:
        out.print("no promotion requests match", highlight=False, markup=False)


def rollback(collection: Annotated[str, typer.Argument(help="project/registered-model or project/artifact")],
             alias: str, reason: Annotated[str, typer.Option(help="why: recorded with the move")],
             url: Url = None) -> None:
    """Move ALIAS back to the version it held before its last move (no approval needed: the emergency brake)."""
    with session(url) as reg:
        ref = reg.rollback(collection, alias, reason=reason)
    out.print(f"{alias} of {collection} rolled back to {ref}", highlight=False, markup=False)


def alias_history(collection: str, alias: str, at: datetime | None, as_json: bool, url: str | None) -> None:
    """``history COLLECTION --alias A [--at T]``: the moves of one alias, or what it held at T."""
    with session(url) as reg:
        if at is not None:
            held = reg.alias_at(collection, alias, at)
            if as_json:
                table([{"alias": alias, "at": at.isoformat(), "version": held.ref if held else None}], [], True)
            else:
                out.print(f"{alias} of {collection} at {at.isoformat()}: {held.ref if held else '(none)'}",
                          highlight=False, markup=False)
            return
        moves = list(reg.alias_history(collection, alias))
    rows = [{**m, "kind": m["event"]["kind"], "sequence": int(m["event"]["sequence"]),
             "how": "rollback" if m["rollback"] else ("request " + m["request"]) if m["request"] else ""}
            for m in moves]
    table(rows, ["sequence", "at", "kind", "actor", "previous", "version", "how", "reason"], as_json)


def comment(target: Annotated[str, typer.Argument(
                help="a version (project/name:v3), a registered model (project/name) or a promotion request id")],
            text: Annotated[Optional[str], typer.Argument(help="the comment; leave out to list them")] = None,  # noqa: UP045
            as_json: Json = False, url: Url = None) -> None:
    """Comment on TARGET, or (without TEXT) list its comments, oldest first."""
    with session(url) as reg:
        if text is not None:
            said = reg.comment(target, text)
            out.print(f"commented on {target} as {said['author']}: {said['id']}", highlight=False, markup=False)
            return
        found = list(reg.comments(target))
    table(found, ["at", "author", "text", "editedAt", "id"], as_json)


card_app = typer.Typer(help="Model cards: show and export (docs/governance.md#model-cards).", no_args_is_help=True)


@card_app.command("show")
def card_show(target: Annotated[str, typer.Argument(help="a registered model (project/name) or a version")],
              as_json: Json = False, url: Url = None) -> None:
    """The card as stored: its markdown, then its fields."""
    with session(url) as reg:
        found = reg.card(target)
    if as_json:
        table([found], [], True)
        return
    out.print(found["markdown"] or "(no markdown)", highlight=False, markup=False)
    out.print(json.dumps(found["fields"], indent=2, sort_keys=True), highlight=False, markup=False)


@card_app.command("export")
def card_export(ref: Annotated[str, typer.Argument(help="a version reference, e.g. project/model:production")],
                format: Annotated[str, typer.Option("--format", help="hf (Hugging Face README) or markdown")] = "hf",
                output: Annotated[Optional[Path], typer.Option("-o", "--output", help="write here, not to stdout")  # noqa: UP045
                                  ] = None, url: Url = None) -> None:
    """The card as a document: a Hugging Face README.md (front matter filled from lineage and metrics)."""
    with session(url) as reg:
        text = reg.export_card(ref, format)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        out.print(f"wrote {output}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(promote_app, name="promote")
    app.add_typer(card_app, name="card")
    app.command()(rollback)
    app.command()(comment)
