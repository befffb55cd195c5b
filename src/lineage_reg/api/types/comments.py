"""The Comment type and the ``comments`` connection of versions, registered models and promotion requests."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ... import ids
from ...list_names import ListName
from ...records import CommentRec
from ...services import comments as comment_service
from ..context import Info
from ..relay import Connection, connection
from .common import Node


@strawberry.type(description="A note by a collaborator; its text is the author's, shown as plain text.")
class Comment(Node):
    id: strawberry.ID
    author: str
    text: str
    at: datetime
    edited_at: datetime | None
    _rec: strawberry.Private[CommentRec]

    @classmethod
    def of(cls, rec: CommentRec) -> Comment:
        return cls(id=strawberry.ID(ids.encode("Comment", rec.id)), author=rec.author, text=rec.text, at=rec.at,
                   edited_at=rec.edited_at, _rec=rec)

    @strawberry.field(description="The id of what it is on: an ArtifactVersion, RegisteredModel or PromotionRequest.")
    def target(self) -> strawberry.ID:
        return strawberry.ID(comment_service.target_id(self._rec.target))


async def comments_of(info: Info, type_name: str, row_id: int, *, first: int | None,
                      after: str | None) -> Connection[Comment]:
    """Oldest first, as a conversation reads."""
    key = comment_service.target_key(type_name, row_id)
    return await connection(info, ListName.COMMENTS, key, Comment.of, first=first, after=after)
