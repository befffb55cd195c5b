"""SQL for comments."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..records import CommentRec
from . import schema as s
from .db import Conn

t = s.comment
c = t.c
_LOCK = sa.select(c.id).where(c.id == sa.bindparam("id")).with_for_update()


async def insert(conn: Conn, values: dict[str, Any]) -> CommentRec:
    return CommentRec.from_row(await s.insert_returning_row(conn, t, values))


async def by_id(conn: Conn, ids: Sequence[Hashable]) -> dict[int, CommentRec]:
    rows = (await conn.execute(sa.select(t).where(c.id.in_([int(i) for i in ids])))).all()  # type: ignore[call-overload]
    return {int(r.id): CommentRec.from_row(r) for r in rows}


async def locked(conn: Conn, comment_id: int) -> CommentRec | None:
    """The comment, its row locked until the transaction ends (an edit and a delete run one after the other)."""
    if (await conn.execute(_LOCK, {"id": comment_id})).first() is None:
        return None
    return (await by_id(conn, [comment_id])).get(comment_id)


async def set_text(conn: Conn, comment_id: int, text: str, at: datetime) -> None:
    await conn.execute(sa.update(t).where(c.id == comment_id).values(text=text, edited_at=at))


async def delete(conn: Conn, comment_id: int) -> None:
    await conn.execute(sa.delete(t).where(c.id == comment_id))
