"""SQL for model cards."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import sqlalchemy as sa

from ..records import ModelCardRec
from . import schema as s
from .db import Conn
from .runs import _upsert

card = s.model_card


async def of_targets(conn: Conn, targets: Sequence[Hashable]) -> dict[str, ModelCardRec]:
    rows = (await conn.execute(sa.select(card).where(card.c.target.in_(list(targets))))).all()
    return {r.target: ModelCardRec.from_row(r) for r in rows}


async def locked(conn: Conn, target: str) -> ModelCardRec | None:
    row = (await conn.execute(sa.select(card).where(card.c.target == target).with_for_update())).first()
    return ModelCardRec.from_row(row) if row else None


async def upsert(conn: Conn, dialect: str, values: dict[str, Any]) -> None:
    insert = _upsert(dialect)(card).values(**values)
    await conn.execute(insert.on_conflict_do_update(
        index_elements=["target"], set_={c: insert.excluded[c] for c in ("markdown", "fields", "updated_at",
                                                                          "updated_by")}))
