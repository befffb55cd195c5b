"""Root fields of governance: approval policies, promotion requests, rollback and alias history.

``Query`` and ``Mutation`` inherit these (one slice, one file, as ``search``
would be if it had mutations). Access is checked here, before the service
runs; the service re-checks what depends on the request itself (its approver
role, self-approval) inside the transaction that acts on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import strawberry

from .. import ids
from ..clock import utcnow
from ..errors import BadInput
from ..list_names import ListName
from ..services import aliases, alias_history, approvals, owners, promotions, protection
from ..services import lists as list_service
from .context import Info
from .permissions import actor_of, in_project, project_reader, project_role, role_somewhere
from .relay import Connection, Edge, PageInfo, connection
from .types.aliases import Alias
from .types.artifacts import ArtifactVersion
from .types.governance import AliasMove, ApprovalPolicy, PromotionRequest, PromotionState, ReviewDecision


def _scope_target(info: Info, project: str | None, collection: str | None
                  ) -> Callable[[], Awaitable[owners.Target]]:
    if (project is None) == (collection is None):
        raise BadInput("give exactly one of project or collection")
    rt = info.context.rt
    if collection is not None:
        return lambda: owners.collection(rt, ref=collection)
    return lambda: owners.project(rt, name=project)  # type: ignore[arg-type]


@strawberry.type
class GovernanceQuery:
    @strawberry.field(description="Promotion requests, newest first: of one project, one collection (project/name), "
                      "or every project you can read; `states` narrows them (EXPIRED is computed: a PENDING request "
                      "past `expiresAt` is EXPIRED).")
    async def promotion_requests(
        self, info: Info, project: str | None = None, collection: str | None = None,
        states: list[PromotionState] | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[PromotionRequest]:
        rt = info.context.rt
        actor = actor_of(info)
        wanted = promotions.check_states([s.value for s in states or ()])
        size = list_service.page_size(rt, first=first)
        after_key = ids.decode_cursor(after) if after else None
        project_ids: list[int] | None = None
        collection_id: int | None = None
        if collection is not None:
            await project_reader(info, lambda: owners.collection(rt, ref=collection))  # type: ignore[arg-type]
            collection_id = (await alias_history.collection_of(rt, collection=collection)).id
        elif project is not None:
            granted = await project_role(info, "viewer", lambda: owners.project(rt, name=project))  # type: ignore[arg-type]
            project_ids = [granted.project_id]
        elif not actor.reads_everything:
            project_ids = list(actor.readable_projects())
        now = utcnow()
        page = await promotions.page_of(rt, project_ids=project_ids, collection_id=collection_id, states=wanted,
                                        first=size, after=after_key, now=now)
        cursors = [ids.encode_cursor(k) for k in page.keys]
        return Connection(
            edges=[Edge(cursor=c, node=PromotionRequest.of(r)) for c, r in zip(cursors, page.items, strict=True)],
            page_info=PageInfo(has_next_page=page.has_next, has_previous_page=page.has_previous,
                               start_cursor=cursors[0] if cursors else None,
                               end_cursor=cursors[-1] if cursors else None),
            _count=lambda: promotions.count_of(rt, project_ids=project_ids, collection_id=collection_id,
                                               states=wanted, now=now),
        )

    @strawberry.field(description="Which version held `alias` in `collection` at time `at` (null if none), from "
                      "the event log: exact for any time since the registry began, deleted versions included.")
    async def alias_at(self, info: Info, collection: str, alias: str, at: datetime) -> ArtifactVersion | None:
        actor = await project_reader(info, lambda: owners.collection(info.context.rt, ref=collection))
        rec = await alias_history.holder_at(info.context.rt, collection=collection, alias=alias, at=at)
        if rec is None:
            return None
        in_project(actor, rec.project_id)  # a registered model may hold a version of a project it can't read
        return ArtifactVersion.of(rec)

    @strawberry.field(description="Every move of one alias, newest first (setAlias, promotions, rollbacks, "
                      "removals, deletions and unlinks of the version holding it).")
    async def alias_history(self, info: Info, collection: str, alias: str, first: int | None = None,
                            after: str | None = None) -> Connection[AliasMove]:
        await project_reader(info, lambda: owners.collection(info.context.rt, ref=collection))
        coll = await alias_history.collection_of(info.context.rt, collection=collection, alias=alias)
        return await connection(info, ListName.ALIAS_HISTORY, coll.id, AliasMove.of, first=first, after=after,
                                arg=alias)


@strawberry.type
class GovernanceMutation:
    @strawberry.mutation(description="Project admin: moves of `alias` in this project or collection need approval "
                         "(nearest setting wins). `requiredApprovals: 0` on a collection exempts it from its "
                         "project's policy. See docs/governance.md.")
    async def set_approval_policy(
        self, info: Info, alias: str, required_approvals: int, project: str | None = None,
        collection: str | None = None, approver_role: str = "admin", allow_self_approval: bool = False,
        expires_after_hours: int | None = None,
    ) -> ApprovalPolicy:
        role_somewhere(info, "admin")
        granted = await project_role(info, "admin", _scope_target(info, project, collection))
        rec = await approvals.set_policy(
            info.context.rt, actor=granted.name, alias=alias, required_approvals=required_approvals, project=project,
            collection=collection, approver_role=approver_role, allow_self_approval=allow_self_approval,
            expires_after_hours=expires_after_hours)
        return ApprovalPolicy.of(rec)

    @strawberry.mutation(description="Project admin: remove the approval policy set on this project or collection "
                         "for `alias`. Pending requests keep the rules they were made under.")
    async def remove_approval_policy(self, info: Info, alias: str, project: str | None = None,
                                     collection: str | None = None) -> bool:
        role_somewhere(info, "admin")
        granted = await project_role(info, "admin", _scope_target(info, project, collection))
        return await approvals.remove_policy(info.context.rt, actor=granted.name, alias=alias, project=project,
                                             collection=collection)

    @strawberry.mutation(description="Member: ask for `alias` of `collection` to move to `version` (a reference or "
                         "id of a committed version; for a registered model, one already linked into it).")
    async def request_promotion(self, info: Info, collection: str, alias: str, version: str,
                                reason: str | None = None) -> PromotionRequest:
        rt = info.context.rt
        granted = await project_role(info, "member", lambda: owners.collection(rt, ref=collection))
        await project_role(info, "viewer", lambda: owners.version(rt, ref=version))
        rec = await promotions.request_promotion(rt, actor=granted.name, collection=collection, alias=alias,
                                                 version=version, reason=reason)
        return PromotionRequest.of(rec)

    @strawberry.mutation(description="Approve or reject a PENDING request (needs the request's approver role in its "
                         "project). The approval that reaches `requiredApprovals` moves the alias; one REJECT "
                         "rejects it.")
    async def review_promotion(self, info: Info, request: strawberry.ID, decision: ReviewDecision,
                               comment: str | None = None) -> PromotionRequest:
        rt = info.context.rt
        # Approving moves an alias: a write, so reviewers are members at least (the request may ask for admins).
        granted = await project_role(info, "member", lambda: owners.promotion_request(rt, global_id=request))
        role = actor_of(info).role_in(granted.project_id)
        rec = await promotions.review(rt, actor=granted.name, role=role,
                                      request_id=promotions.request_id_of(request), decision=decision.value,
                                      comment=comment)
        return PromotionRequest.of(rec)

    @strawberry.mutation(description="Withdraw a PENDING request: its requester, or a project admin.")
    async def cancel_promotion(self, info: Info, request: strawberry.ID) -> PromotionRequest:
        rt = info.context.rt
        granted = await project_role(info, "member", lambda: owners.promotion_request(rt, global_id=request))
        rec = await promotions.cancel(rt, actor=granted.name, may_cancel_any=granted.may_move_protected,
                                      request_id=promotions.request_id_of(request))
        return PromotionRequest.of(rec)

    @strawberry.mutation(description="Move the alias back to the version it held before its last move (any "
                         "collection). Allowed to whoever may move the alias without approval (rollback is the "
                         "emergency brake); recorded with `reason`.")
    async def rollback_alias(self, info: Info, collection: str, alias: str, reason: str) -> Alias:
        rt = info.context.rt
        granted = await project_role(info, "member", lambda: owners.collection(rt, ref=collection))
        done = await aliases.rollback(rt, actor=granted.name, collection=collection, alias=alias, reason=reason,
                                      may_move_protected=granted.may_move_protected)
        protected = done.alias.name in await protection.protected_for(rt, collection=collection)
        return Alias(name=done.alias.name, protected=protected, _version_id=done.alias.version_id)
