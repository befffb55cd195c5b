"""Governance types: ApprovalPolicy, PromotionRequest and its reviews, AliasMove (docs/governance.md)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from ... import ids
from ...clock import utcnow
from ...records import ApprovalPolicyRec, CollectionRec, EventRec, PromotionRequestRec, ReviewRec
from ..context import Info
from ..relay import Connection
from .artifacts import ArtifactVersion
from .comments import Comment, comments_of
from .common import Node
from .events import Event


@strawberry.enum
class PromotionState(Enum):
    PENDING = "PENDING"
    APPLIED = "APPLIED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


@strawberry.enum
class ReviewDecision(Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


@strawberry.type
class Review:
    reviewer: str
    decision: ReviewDecision
    comment: str | None
    at: datetime

    @classmethod
    def of(cls, rec: ReviewRec) -> Review:
        return cls(reviewer=rec.reviewer, decision=ReviewDecision(rec.decision), comment=rec.comment, at=rec.at)


@strawberry.type(description="Moves of `alias` need `requiredApprovals` reviews by project members holding "
                 "`approverRole` or higher. Set on a project or one collection (`scope`); the nearest wins.")
class ApprovalPolicy:
    alias: str
    required_approvals: int
    approver_role: str
    allow_self_approval: bool
    expires_after_hours: int | None = strawberry.field(description="Requests expire this long after they are "
                                                       "made; null: never.")
    scope: str = strawberry.field(description="The project, or project/name of the collection, it is set on.")
    _rec: strawberry.Private[ApprovalPolicyRec]

    @classmethod
    def of(cls, rec: ApprovalPolicyRec) -> ApprovalPolicy:
        return cls(alias=rec.alias, required_approvals=rec.required_approvals, approver_role=rec.approver_role,
                   allow_self_approval=rec.allow_self_approval, expires_after_hours=rec.expires_after_hours,
                   scope=rec.scope_ref, _rec=rec)


async def _version(info: Info, version_id: int | None) -> ArtifactVersion | None:
    if version_id is None:
        return None
    rec = await info.context.loaders.version.load(version_id)
    return ArtifactVersion.of(rec) if rec else None


@strawberry.type(description="A request to move an alias governed by an approval policy (docs/governance.md).")
class PromotionRequest(Node):
    id: strawberry.ID
    collection: str = strawberry.field(description="project/name of the registered model or artifact.")
    alias: str
    reason: str | None
    requested_by: str
    requested_at: datetime
    required_approvals: int = strawberry.field(description="Approvals it needs: the policy's when it was made.")
    decided_at: datetime | None
    expires_at: datetime | None
    _rec: strawberry.Private[PromotionRequestRec]

    @classmethod
    def of(cls, rec: PromotionRequestRec) -> PromotionRequest:
        return cls(id=strawberry.ID(ids.encode("PromotionRequest", rec.id)), collection=rec.collection_ref,
                   alias=rec.alias, reason=rec.reason, requested_by=rec.requested_by, requested_at=rec.requested_at,
                   required_approvals=rec.required_approvals, decided_at=rec.decided_at, expires_at=rec.expires_at,
                   _rec=rec)

    @strawberry.field(description="EXPIRED as soon as `expiresAt` passes, whether or not the sweep has recorded "
                      "it yet.")
    def state(self) -> PromotionState:
        return PromotionState(self._rec.state_at(utcnow()))

    @strawberry.field(description="The version asked for.")
    async def version(self, info: Info) -> ArtifactVersion:
        found = await _version(info, self._rec.version_id)
        assert found is not None  # versions are never removed, only marked DELETED
        return found

    @strawberry.field(description="What held the alias when the request was made; once APPLIED, what the move "
                      "replaced (the alias may have moved in between).")
    async def previous(self, info: Info) -> ArtifactVersion | None:
        return await _version(info, self._rec.previous_version_id)

    @strawberry.field(description="One per reviewer (a later review replaces an earlier one), oldest first.")
    async def reviews(self, info: Info) -> list[Review]:
        return [Review.of(r) for r in await info.context.loaders.reviews_of_request.load(self._rec.id)]

    @strawberry.field(description="Who may review it: project members with this role or higher.")
    def approver_role(self) -> str:
        return self._rec.approver_role

    @strawberry.field
    def allow_self_approval(self) -> bool:
        return self._rec.allow_self_approval

    @strawberry.field(description="The discussion of the request, oldest first.")
    async def comments(self, info: Info, first: int | None = None, after: str | None = None
                       ) -> Connection[Comment]:
        return await comments_of(info, "PromotionRequest", self._rec.id, first=first, after=after)


@strawberry.type(description="One move of an alias, from the event log.")
class AliasMove:
    at: datetime
    actor: str | None
    _rec: strawberry.Private[EventRec]

    @classmethod
    def of(cls, rec: EventRec) -> AliasMove:
        return cls(at=rec.at, actor=rec.actor, _rec=rec)

    @strawberry.field(description="The version the alias moved to; null when the move removed it (removeAlias, "
                      "or its version was deleted or unlinked).")
    async def version(self, info: Info) -> ArtifactVersion | None:
        return await _version(info, self._rec.to_version_id if self._rec.kind == "alias.set" else None)

    @strawberry.field(description="The version it held before; null when it held none.")
    async def previous(self, info: Info) -> ArtifactVersion | None:
        return await _version(info, self._rec.from_version_id)

    @strawberry.field(description="The `alias.set` or `alias.removed` event.")
    def event(self) -> Event:
        return Event.of(self._rec)

    @strawberry.field(description="The promotion request whose approval made this move, if one did.")
    async def request(self, info: Info) -> PromotionRequest | None:
        global_id = self._rec.payload.get("request")
        if not isinstance(global_id, str):
            return None
        rec = await info.context.loaders.promotion_request.load(ids.decode_as(global_id, "PromotionRequest"))
        return PromotionRequest.of(rec) if rec else None

    @strawberry.field(description="True when rollbackAlias made this move; `reason` says why.")
    def rollback(self) -> bool:
        return bool(self._rec.payload.get("rollback"))

    @strawberry.field(description="A rollback's reason.")
    def reason(self) -> str | None:
        reason = self._rec.payload.get("reason")
        return reason if isinstance(reason, str) else None


async def policies_of(info: Info, coll: CollectionRec) -> list[ApprovalPolicy]:
    found = await info.context.loaders.policies_of_collection.load((coll.project_id, coll.id))
    return [ApprovalPolicy.of(r) for r in found]


async def pending_of(info: Info, coll: CollectionRec) -> list[PromotionRequest]:
    now = utcnow()
    found = await info.context.loaders.pending_of_collection.load(coll.id)
    return [PromotionRequest.of(r) for r in found if r.state_at(now) == "PENDING"]
