"""Approval policies: which aliases move only through an approved promotion request (docs/governance.md).

A policy is set on a project (every collection in it) or on one collection; for
each alias the nearest setting wins, so a collection can ask for more reviews
than its project, or be exempted with ``requiredApprovals: 0``. While a policy
governs an alias nobody moves it directly, admins included: ``setAlias``,
``linkVersion(aliases:)``, a version's aliases on commit and ``removeAlias``
answer APPROVAL_REQUIRED, and so does deleting or unlinking the version that
holds it. ``rollbackAlias`` is the one way round a policy (the emergency brake).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import refs
from ..errors import ApprovalRequired, BadInput, NotFound
from ..records import ApprovalPolicyRec, CollectionRec
from ..store import approvals as store
from ..store import protection as protection_store
from . import find
from .runtime import Runtime, Tx, write

MAX_APPROVALS = 10
APPROVER_ROLES = ("member", "admin")  # approving moves an alias: a write, never a viewer's
MAX_EXPIRY_HOURS = 24 * 366


def check_policy(*, alias: str, required_approvals: int, approver_role: str, expires_after_hours: int | None,
                 on_collection: bool) -> None:
    refs.check_alias(alias)
    if alias == "latest":
        raise BadInput("'latest' is moved by the server on every commit and link; it can't need approval")
    low = 0 if on_collection else 1
    if not low <= required_approvals <= MAX_APPROVALS:
        raise BadInput(f"requiredApprovals must be {low} to {MAX_APPROVALS}, got {required_approvals}"
                       + ("" if on_collection else " (0 exempts one collection from its project's policy: set it "
                                                   "with collection:)"), requiredApprovals=required_approvals)
    if approver_role not in APPROVER_ROLES:
        raise BadInput(f"approverRole must be member or admin (approving moves an alias, which viewers may not), "
                       f"got {approver_role!r}")
    if expires_after_hours is not None and not 1 <= expires_after_hours <= MAX_EXPIRY_HOURS:
        raise BadInput(f"expiresAfterHours must be 1 to {MAX_EXPIRY_HOURS} (or null: requests never expire), "
                       f"got {expires_after_hours}")


async def _scope(tx: Tx, project: str | None, collection: str | None) -> tuple[int, CollectionRec | None, str]:
    if collection is not None:
        coll = await find.collection(tx.conn, refs.parse_collection(collection))
        return coll.project_id, coll, coll.project
    proj = await find.project(tx.conn, project)  # type: ignore[arg-type]
    return proj.id, None, proj.name


def _payload(rec: ApprovalPolicyRec) -> dict[str, Any]:
    return dict(scope=rec.scope_ref, requiredApprovals=rec.required_approvals, approverRole=rec.approver_role,
                allowSelfApproval=rec.allow_self_approval, expiresAfterHours=rec.expires_after_hours)


def _one_scope(project: str | None, collection: str | None) -> None:
    if (project is None) == (collection is None):
        raise BadInput("give exactly one of project or collection")


async def set_policy(rt: Runtime, *, actor: str | None, alias: str, required_approvals: int, project: str | None,
                     collection: str | None, approver_role: str, allow_self_approval: bool,
                     expires_after_hours: int | None) -> ApprovalPolicyRec:
    _one_scope(project, collection)
    check_policy(alias=alias, required_approvals=required_approvals, approver_role=approver_role,
                 expires_after_hours=expires_after_hours, on_collection=collection is not None)

    async def work(tx: Tx) -> ApprovalPolicyRec:
        project_id, coll, project_name = await _scope(tx, project, collection)
        await protection_store.guard(tx.conn, project_id, changing=True)  # after the moves that read "no policy"
        await store.upsert(tx.conn, tx.dialect, dict(
            scope=protection_store.scope_key(project_id, coll.id if coll else None), project_id=project_id,
            collection_id=coll.id if coll else None, alias=alias, required_approvals=required_approvals,
            approver_role=approver_role, allow_self_approval=allow_self_approval,
            expires_after_hours=expires_after_hours, updated_at=tx.at, updated_by=tx.actor))
        rec = await store.get(tx.conn, project_id, coll.id if coll else None, alias)
        assert rec is not None
        await tx.event("approval_policy.set", project_id=project_id, project=project_name, collection=coll,
                       alias=alias, **_payload(rec))
        return rec

    return await write(rt, actor=actor, work=work)


async def remove_policy(rt: Runtime, *, actor: str | None, alias: str, project: str | None,
                        collection: str | None) -> bool:
    """Requests already made keep the rules they were made under (each carries its own copy)."""
    _one_scope(project, collection)
    refs.check_alias(alias)

    async def work(tx: Tx) -> bool:
        project_id, coll, project_name = await _scope(tx, project, collection)
        await protection_store.guard(tx.conn, project_id, changing=True)
        rec = await store.get(tx.conn, project_id, coll.id if coll else None, alias)
        if rec is None or not await store.delete(tx.conn, project_id, coll.id if coll else None, alias):
            where = coll.ref if coll else f"project {project_name!r}"
            raise NotFound(f"no approval policy for {alias!r} is set on {where}; approvalPolicies on the registered "
                           "model lists the ones in force and where each is set")
        await tx.event("approval_policy.removed", project_id=project_id, project=project_name, collection=coll,
                       alias=alias, **_payload(rec))
        return True

    return await write(rt, actor=actor, work=work)


async def governing(tx: Tx, coll: CollectionRec, alias: str) -> ApprovalPolicyRec | None:
    """The policy in force on ``alias`` of ``coll`` (None: none, or exempted with 0 approvals), read in the
    transaction that acts on it, ordered against policy changes."""
    await protection_store.guard(tx.conn, coll.project_id, changing=False)
    rec = await store.effective(tx.conn, coll.project_id, coll.id, alias)
    return rec if rec is not None and rec.required_approvals > 0 else None


async def check_ungoverned(tx: Tx, coll: CollectionRec, names: Sequence[str], *, doing: str = "moving") -> None:
    """APPROVAL_REQUIRED, naming the alias and the way to move it, when a policy governs one of ``names``."""
    if not names:
        return
    await protection_store.guard(tx.conn, coll.project_id, changing=False)
    governed = await store.governed_aliases(tx.conn, coll.project_id, coll.id, sorted(set(names)))
    if governed:
        alias, rec = sorted(governed.items())[0]
        raise ApprovalRequired(
            f"{alias!r} on {coll.ref} needs approval: {rec.required_approvals} review(s) by a project "
            f"{rec.approver_role} (policy set on {rec.scope_ref}), so {doing} it directly is refused, for admins "
            f"too. Ask for the move with requestPromotion(collection: {coll.ref!r}, alias: {alias!r}, version: "
            "...); in an emergency, rollbackAlias moves it back to its previous version",
            alias=alias, collection=coll.ref)
