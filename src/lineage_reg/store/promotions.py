"""SQL for promotion requests and their reviews."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from ..records import Page, PromotionRequestRec, ReviewRec
from . import pages
from . import schema as s
from .db import Conn
from .runs import _upsert

request = s.promotion_request
review = s.promotion_review

_SELECT = (
    sa.select(request, s.project.c.name.label("project"), s.collection.c.name.label("collection"),
              s.collection.c.kind.label("kind"))
    .join(s.collection, s.collection.c.id == request.c.collection_id)
    .join(s.project, s.project.c.id == request.c.project_id)
)
_LOCK = sa.select(request.c.id).where(request.c.id == sa.bindparam("id")).with_for_update()


def pending_key(collection_id: int, alias: str, version_id: int) -> str:
    return f"{collection_id}:{alias}:{version_id}"


async def insert(conn: Conn, values: dict[str, Any]) -> int:
    return await s.insert_returning_id(conn, request, values)


async def by_id(conn: Conn, ids: Sequence[Hashable]) -> dict[int, PromotionRequestRec]:
    rows = (await conn.execute(_SELECT.where(request.c.id.in_([int(i) for i in ids])))).all()  # type: ignore[call-overload]
    return {int(r.id): PromotionRequestRec.from_row(r) for r in rows}


async def locked(conn: Conn, request_id: int) -> PromotionRequestRec | None:
    """The request, its row locked until the transaction ends (PostgreSQL; SQLite's writer lock already
    serialises): two reviews, or a review and a cancel, of one request run one after the other."""
    if (await conn.execute(_LOCK, {"id": request_id})).first() is None:
        return None
    return (await by_id(conn, [request_id])).get(request_id)


async def pending_with_key(conn: Conn, key: str) -> PromotionRequestRec | None:
    row = (await conn.execute(_SELECT.where(request.c.pending_key == key))).first()
    return PromotionRequestRec.from_row(row) if row else None


async def pending_naming(conn: Conn, version_id: int, collection_id: int | None = None) -> list[PromotionRequestRec]:
    """PENDING requests (expired or not) for a version, in one collection or any."""
    stmt = _SELECT.where(request.c.version_id == version_id, request.c.state == "PENDING")
    if collection_id is not None:
        stmt = stmt.where(request.c.collection_id == collection_id)
    return [PromotionRequestRec.from_row(r) for r in (await conn.execute(stmt.order_by(request.c.id))).all()]


async def due(conn: Conn, now: datetime, limit: int) -> list[PromotionRequestRec]:
    """PENDING requests past their expiry, oldest first."""
    stmt = _SELECT.where(request.c.state == "PENDING", request.c.expires_at <= now).order_by(request.c.id)
    return [PromotionRequestRec.from_row(r) for r in (await conn.execute(stmt.limit(limit))).all()]


async def decide(conn: Conn, request_id: int, *, state: str, at: datetime, by: str | None,
                 previous_version_id: int | None = None, set_previous: bool = False) -> bool:
    """PENDING → ``state``; False when the request had already left PENDING (someone else decided first)."""
    values: dict[str, Any] = dict(state=state, pending_key=None, decided_at=at, decided_by=by)
    if set_previous:
        values["previous_version_id"] = previous_version_id
    stmt = sa.update(request).where(request.c.id == request_id, request.c.state == "PENDING").values(**values)
    return bool((await conn.execute(stmt)).rowcount)


async def upsert_review(conn: Conn, dialect: str, values: dict[str, Any]) -> None:
    insert_ = _upsert(dialect)(review).values(**values)
    await conn.execute(insert_.on_conflict_do_update(
        index_elements=["request_id", "reviewer"],
        set_={c: insert_.excluded[c] for c in ("decision", "comment", "at")}))


async def reviews_of(conn: Conn, request_ids: Sequence[Hashable]) -> dict[int, list[ReviewRec]]:
    stmt = sa.select(review).where(review.c.request_id.in_(list(request_ids))).order_by(review.c.at,
                                                                                         review.c.reviewer)
    out: dict[int, list[ReviewRec]] = {}
    for r in (await conn.execute(stmt)).all():
        out.setdefault(int(r.request_id), []).append(ReviewRec.from_row(r))
    return out


async def pending_of_collections(conn: Conn, collection_ids: Sequence[Hashable]) -> dict[int, list[PromotionRequestRec]]:
    """Stored-PENDING requests per collection, oldest first (readers drop the expired ones: ``state_at``)."""
    stmt = _SELECT.where(request.c.collection_id.in_(list(collection_ids)), request.c.state == "PENDING")
    out: dict[int, list[PromotionRequestRec]] = {}
    for r in (await conn.execute(stmt.order_by(request.c.id))).all():
        out.setdefault(int(r.collection_id), []).append(PromotionRequestRec.from_row(r))
    return out


# --- the list: newest first, by scope and state ---

_LIVE = sa.or_(request.c.expires_at.is_(None), request.c.expires_at > sa.bindparam("now"))


@cache
def _list_statement(scope: str, pending: bool, expired: bool, others: bool) -> sa.Select[Any]:
    """``scope``: "all", "projects" (:project_ids), "collection" (:collection_id). The states asked for, with
    EXPIRED computed: a stored-PENDING request past ``expires_at`` is EXPIRED, not PENDING."""
    stmt = _SELECT
    if scope == "projects":
        stmt = stmt.where(request.c.project_id.in_(sa.bindparam("project_ids", expanding=True)))
    elif scope == "collection":
        stmt = stmt.where(request.c.collection_id == sa.bindparam("collection_id"))
    if pending or expired or others:
        wanted = []
        if pending:
            wanted.append(sa.and_(request.c.state == "PENDING", _LIVE))
        if expired:
            wanted.append(sa.or_(request.c.state == "EXPIRED", sa.and_(request.c.state == "PENDING", sa.not_(_LIVE))))
        if others:
            wanted.append(request.c.state.in_(sa.bindparam("states", expanding=True)))
        stmt = stmt.where(sa.or_(*wanted))
    return stmt


def _statement(*, project_ids: Sequence[int] | None, collection_id: int | None, states: Sequence[str],
               now: datetime) -> tuple[sa.Select[Any], dict[str, Any]]:
    scope = "collection" if collection_id is not None else "projects" if project_ids is not None else "all"
    others = sorted(set(states) - {"PENDING", "EXPIRED"})
    stmt = _list_statement(scope, "PENDING" in states, "EXPIRED" in states, bool(others))
    params: dict[str, Any] = {"now": now}
    if project_ids is not None:
        params["project_ids"] = list(project_ids)
    if collection_id is not None:
        params["collection_id"] = collection_id
    if others:
        params["states"] = others
    return stmt, params


async def page(conn: Conn, *, project_ids: Sequence[int] | None, collection_id: int | None, states: Sequence[str],
               now: datetime, first: int, after: Any) -> Page[PromotionRequestRec]:
    stmt, params = _statement(project_ids=project_ids, collection_id=collection_id, states=states, now=now)
    return await pages.fetch_page(conn, stmt, key=request.c.id, first=first, after=after, descending=True,
                                  build=PromotionRequestRec.from_row, params=params)


async def count(conn: Conn, *, project_ids: Sequence[int] | None, collection_id: int | None, states: Sequence[str],
                now: datetime) -> int:
    stmt, params = _statement(project_ids=project_ids, collection_id=collection_id, states=states, now=now)
    counted = sa.select(sa.func.count()).select_from(stmt.subquery())
    return int((await conn.execute(counted, params)).scalar_one())
