"""Promotion requests: "move this alias to that version, because…", reviewed, and applied by the deciding review.

A request copies the policy in force when it is made (approvals needed, who may
review, self-approval, expiry), so changing the policy later affects only new
requests. States: PENDING → APPLIED (the last approval moves the alias in its
own transaction) | REJECTED (one REJECT) | CANCELLED (the requester or a project
admin; or the version was deleted or unlinked) | EXPIRED (past ``expires_at``:
every reader sees EXPIRED at once; the sweep, or the next request for the same
version, records it with a ``promotion.expired`` event).

Races end in one state: a request's row is locked by whoever reviews or cancels
it (SQLite's writer lock serialises anyway), and one PENDING request per
(collection, alias, version) is a unique key, so of N concurrent requests one
is made and the others get CONFLICT naming it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from .. import ids, refs
from ..clock import utcnow
from ..errors import BadInput, Conflict, Forbidden, NotFound
from ..records import PROMOTION_STATES, CollectionRec, Page, PromotionRequestRec, VersionRec
from ..store import links as link_store
from ..store import projects as project_store
from ..store import promotions as store
from . import aliases, approvals, find
from .actors import ROLES
from .runtime import Runtime, Tx, write

log = logging.getLogger(__name__)

DECISIONS = ("APPROVE", "REJECT")
MAX_COMMENT = 2000
SWEEP_SECONDS = 30.0
SWEEP_BATCH = 500
NOBODY = "anonymous"  # who requested or reviewed when anonymous writes are configured


def request_id_of(global_id: str) -> int:
    return ids.decode_as(global_id, "PromotionRequest")


def _gid(rec: PromotionRequestRec | int) -> str:
    return ids.encode("PromotionRequest", rec if isinstance(rec, int) else rec.id)


async def _event(tx: Tx, kind: str, rec: PromotionRequestRec, coll: CollectionRec, **payload: Any) -> None:
    await tx.event(kind, project_id=rec.project_id, project=rec.project, collection=coll, alias=rec.alias,
                   to_version=rec.version_id, request=_gid(rec), **payload)


async def _collection(tx: Tx, rec: PromotionRequestRec) -> CollectionRec:
    return (await project_store.collections_by_id(tx.conn, [rec.collection_id]))[rec.collection_id]


async def _reread(tx: Tx, request_id: int) -> PromotionRequestRec:
    return (await store.by_id(tx.conn, [request_id]))[request_id]


async def request_promotion(rt: Runtime, *, actor: str | None, collection: str, alias: str, version: str,
                            reason: str | None) -> PromotionRequestRec:
    """A PENDING request for a committed version of the collection (for a registered model: a version already
    linked into it; link it first)."""
    coll_ref = refs.parse_collection(collection)
    refs.check_alias(alias)
    aliases.check_reason(reason, required=False)

    async def work(tx: Tx) -> PromotionRequestRec:
        coll = await find.collection(tx.conn, coll_ref)
        aliases.check_settable(alias, coll)
        await project_store.lock_collection(tx.conn, tx.dialect, coll.id)
        policy = await approvals.governing(tx, coll, alias)
        if policy is None:
            raise BadInput(f"no approval policy governs {alias!r} on {coll.ref}: move it with setAlias, or ask a "
                           "project admin to set one with setApprovalPolicy", alias=alias, collection=coll.ref)
        target = await find.version(tx.conn, version)
        await aliases.check_target(tx, coll, target)
        previous = await link_store.alias_target(tx.conn, coll.id, alias)
        if previous == target.id:
            raise BadInput(f"{target.ref} already holds {alias!r} on {coll.ref}: there is nothing to request")
        key = store.pending_key(coll.id, alias, target.id)
        existing = await store.pending_with_key(tx.conn, key)
        if existing is not None and existing.state_at(tx.at) == "EXPIRED":
            await _expire(tx, existing, coll)
        elif existing is not None:
            raise Conflict(f"a request to move {alias!r} on {coll.ref} to {target.ref} is already pending: "
                           f"{_gid(existing)} by {existing.requested_by}; review or cancel that one",
                           request=_gid(existing))
        expires_at = tx.at + timedelta(hours=policy.expires_after_hours) if policy.expires_after_hours else None
        request_id = await store.insert(tx.conn, dict(
            project_id=coll.project_id, collection_id=coll.id, alias=alias, version_id=target.id,
            previous_version_id=previous, state="PENDING", pending_key=key, reason=reason,
            requested_by=tx.actor or NOBODY, requested_at=tx.at, required_approvals=policy.required_approvals,
            approver_role=policy.approver_role, allow_self_approval=policy.allow_self_approval,
            expires_at=expires_at))
        rec = await _reread(tx, request_id)
        await _event(tx, "promotion.requested", rec, coll, version=target.ref, reason=reason,
                     previous=await _ref(tx, previous), requiredApprovals=rec.required_approvals,
                     approverRole=rec.approver_role, expiresAt=expires_at.isoformat() if expires_at else None)
        return rec

    return await write(rt, actor=actor, work=work)


async def _ref(tx: Tx, version_id: int | None) -> str | None:
    return None if version_id is None else (await find.version_by_id(tx.conn, version_id)).ref


def _still_pending(rec: PromotionRequestRec, now: datetime, doing: str) -> None:
    state = rec.state_at(now)
    if state == "EXPIRED":
        raise Conflict(f"request {_gid(rec)} expired at {rec.expires_at.isoformat()} and can no longer be "  # type: ignore[union-attr]
                       f"{doing}; make a new one with requestPromotion", request=_gid(rec), state=state)
    if state != "PENDING":
        raise Conflict(f"request {_gid(rec)} is {state} (decided {rec.decided_at.isoformat() if rec.decided_at else ''}"
                       f" by {rec.decided_by or 'the registry'}); only a PENDING request can be {doing}",
                       request=_gid(rec), state=state)


async def review(rt: Runtime, *, actor: str | None, role: str | None, request_id: int, decision: str,
                 comment: str | None) -> PromotionRequestRec:
    """Record ``actor``'s review (``role``: theirs in the request's project). One REJECT rejects; the approval
    that reaches the required number moves the alias, in this transaction."""
    if decision not in DECISIONS:
        raise BadInput(f"decision must be APPROVE or REJECT, got {decision!r}")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise BadInput(f"comment is {len(comment)} characters; at most {MAX_COMMENT}")
    reviewer = actor or NOBODY

    async def work(tx: Tx) -> PromotionRequestRec:
        rec = await store.locked(tx.conn, request_id)
        if rec is None:
            raise NotFound(f"promotion request {_gid(request_id)} not found")
        _still_pending(rec, tx.at, "reviewed")
        if role is None or ROLES.index(role) < ROLES.index(rec.approver_role):
            raise Forbidden(f"reviewing {_gid(rec)} needs the {rec.approver_role} role in project {rec.project!r}; "
                            f"you have {role or 'no role'} (a project admin can add you with addMember)")
        if reviewer == rec.requested_by and not rec.allow_self_approval:
            raise Forbidden(f"{_gid(rec)} is your own request, and its policy does not allow self-approval: ask "
                            f"another project {rec.approver_role} to review it")
        coll = await _collection(tx, rec)
        earlier = {r.reviewer: r for r in (await store.reviews_of(tx.conn, [rec.id])).get(rec.id, [])}
        await store.upsert_review(tx.conn, tx.dialect, dict(request_id=rec.id, reviewer=reviewer, decision=decision,
                                                            comment=comment, at=tx.at))
        replaced = earlier.get(reviewer)
        await _event(tx, "promotion.reviewed", rec, coll, reviewer=reviewer, decision=decision, comment=comment,
                     replaces=replaced.decision if replaced else None)
        if decision == "REJECT":
            await store.decide(tx.conn, rec.id, state="REJECTED", at=tx.at, by=reviewer)
            await _event(tx, "promotion.rejected", rec, coll, reviewer=reviewer, comment=comment)
            return await _reread(tx, rec.id)
        approvers = {r.reviewer for r in earlier.values() if r.decision == "APPROVE"} | {reviewer}
        if len(approvers) >= rec.required_approvals:
            await _apply(tx, rec, coll)
        return await _reread(tx, rec.id)

    return await write(rt, actor=actor, work=work)


async def _apply(tx: Tx, rec: PromotionRequestRec, coll: CollectionRec) -> None:
    """Move the alias on top of whatever holds it now (a rollback or another request may have moved it since
    the request was made); ``previous`` becomes what it replaced."""
    await project_store.lock_collection(tx.conn, tx.dialect, coll.id)
    target = await find.version_by_id(tx.conn, rec.version_id)
    await aliases.check_target(tx, coll, target)  # deleting or unlinking it cancels the request: still, check
    previous = await link_store.alias_target(tx.conn, coll.id, rec.alias, for_update=True)
    await store.decide(tx.conn, rec.id, state="APPLIED", at=tx.at, by=tx.actor or NOBODY,
                       previous_version_id=previous, set_previous=True)
    await aliases.move(tx, coll, rec.alias, target, request=_gid(rec))
    await _event(tx, "promotion.applied", rec, coll, version=target.ref, previous=await _ref(tx, previous),
                 moved=previous != target.id)


async def cancel(rt: Runtime, *, actor: str | None, may_cancel_any: bool, request_id: int) -> PromotionRequestRec:
    """The requester cancels their own request; a project admin (``may_cancel_any``) anyone's."""

    async def work(tx: Tx) -> PromotionRequestRec:
        rec = await store.locked(tx.conn, request_id)
        if rec is None:
            raise NotFound(f"promotion request {_gid(request_id)} not found")
        if not may_cancel_any and (actor or NOBODY) != rec.requested_by:
            raise Forbidden(f"{_gid(rec)} was requested by {rec.requested_by}: only they, or someone with the admin "
                            f"role in project {rec.project!r}, may cancel it (reject it with reviewPromotion instead)")
        _still_pending(rec, tx.at, "cancelled")
        await store.decide(tx.conn, rec.id, state="CANCELLED", at=tx.at, by=actor or NOBODY)
        await _event(tx, "promotion.cancelled", rec, await _collection(tx, rec), why="cancelled")
        return await _reread(tx, rec.id)

    return await write(rt, actor=actor, work=work)


async def cancel_naming(tx: Tx, version: VersionRec, *, collection: CollectionRec | None, why: str) -> None:
    """Cancel the PENDING requests for ``version`` (in one collection, or in all): it was unlinked or deleted,
    so no review can apply them any more. In the transaction that removed it."""
    for rec in await store.pending_naming(tx.conn, version.id, collection.id if collection else None):
        if await store.decide(tx.conn, rec.id, state="CANCELLED", at=tx.at, by=tx.actor or NOBODY):
            await _event(tx, "promotion.cancelled", rec, collection or await _collection(tx, rec), why=why)


async def _expire(tx: Tx, rec: PromotionRequestRec, coll: CollectionRec) -> bool:
    if not await store.decide(tx.conn, rec.id, state="EXPIRED", at=tx.at, by=None):
        return False  # another sweep (another process) recorded it first
    await _event(tx, "promotion.expired", rec, coll, expiresAt=rec.expires_at.isoformat() if rec.expires_at else None)
    return True


async def expire_due(rt: Runtime, *, now: datetime | None = None) -> int:
    """Record the expiry of PENDING requests past ``expires_at`` (state EXPIRED, a ``promotion.expired`` event
    each), a batch per transaction. Returns how many. Safe to run in every process at once."""
    total = 0
    while True:
        async with rt.db.reader() as r:  # most sweeps find nothing: no write transaction (nor NOTIFY) for that
            if not await store.due(r, now or utcnow(), 1):
                return total

        async def work(tx: Tx) -> int:
            done = 0
            for rec in await store.due(tx.conn, now or tx.at, SWEEP_BATCH):
                done += await _expire(tx, rec, await _collection(tx, rec))
            return done

        done = await write(rt, actor=None, work=work)
        total += done
        if done < SWEEP_BATCH:
            return total


async def periodic_expiry(rt: Runtime) -> None:
    """The server's sweep: readers compute EXPIRED without it; this writes the events bots wait for."""
    while True:
        try:
            await expire_due(rt)
        except Exception:  # a database hiccup must not end the loop
            log.exception("promotion expiry sweep failed; trying again in %s s", SWEEP_SECONDS)
        await asyncio.sleep(SWEEP_SECONDS)


# --- reads ---


def check_states(states: list[str] | None) -> list[str]:
    wanted = sorted(set(states or ()))
    unknown = [s for s in wanted if s not in PROMOTION_STATES]
    if unknown:
        raise BadInput(f"unknown state {unknown[0]!r}; states are {', '.join(PROMOTION_STATES)}")
    return wanted


async def page_of(rt: Runtime, *, project_ids: list[int] | None, collection_id: int | None, states: list[str],
                  first: int, after: object, now: datetime) -> Page[PromotionRequestRec]:
    """Requests newest first; ``project_ids`` None: every project (a global reader)."""
    async with rt.db.reader() as r:
        return await store.page(r, project_ids=project_ids, collection_id=collection_id, states=states, now=now,
                                first=first, after=after)


async def count_of(rt: Runtime, *, project_ids: list[int] | None, collection_id: int | None, states: list[str],
                   now: datetime) -> int:
    async with rt.db.reader() as r:
        return await store.count(r, project_ids=project_ids, collection_id=collection_id, states=states, now=now)
