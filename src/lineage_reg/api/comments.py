"""Root mutations of comments: add, edit, delete (docs/governance.md#comments). ``Mutation`` inherits them."""

from __future__ import annotations

import strawberry

from .. import ids
from ..errors import Forbidden
from ..services import comments as comment_service
from ..services import owners
from .context import Info
from .permissions import actor_of, project_role
from .types.comments import Comment


def named(info: Info) -> None:
    """Comments are signed: anonymous access (``--anonymous read``) reads, it never comments."""
    if actor_of(info).name is None:
        raise Forbidden("commenting needs a token of your own (anonymous access only reads); create one with "
                        "`lineage-reg token create`")


@strawberry.type
class CommentMutation:
    @strawberry.mutation(description="Comment on a version, registered model or promotion request (anyone who may "
                         f"read its project; at most {comment_service.MAX_TEXT:,} characters).")
    async def add_comment(self, info: Info, target: strawberry.ID, text: str) -> Comment:
        rt = info.context.rt
        named(info)
        granted = await project_role(info, "viewer", lambda: owners.comment_target(rt, global_id=target))
        return Comment.of(await comment_service.add(rt, actor=granted.name, target=target, text=text))

    @strawberry.mutation(description="Change a comment's text: its author, or a project admin.")
    async def edit_comment(self, info: Info, id: strawberry.ID, text: str) -> Comment:
        rt = info.context.rt
        named(info)
        granted = await project_role(info, "viewer", lambda: owners.comment(rt, global_id=id))
        rec = await comment_service.edit(rt, actor=granted.name, comment_id=ids.decode_as(id, "Comment"), text=text,
                                         may_moderate=granted.may_move_protected)
        return Comment.of(rec)

    @strawberry.mutation(description="Delete a comment: its author, or a project admin.")
    async def delete_comment(self, info: Info, id: strawberry.ID) -> bool:
        rt = info.context.rt
        named(info)
        granted = await project_role(info, "viewer", lambda: owners.comment(rt, global_id=id))
        return await comment_service.delete(rt, actor=granted.name, comment_id=ids.decode_as(id, "Comment"),
                                            may_moderate=granted.may_move_protected)
