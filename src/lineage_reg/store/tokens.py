"""SQL for API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from . import schema as s
from .db import Conn


async def insert_token(conn: Conn, *, name: str, secret_hash: str, role: str, at: datetime,
                       expires_at: datetime | None = None) -> int:
    values = dict(name=name, secret_hash=secret_hash, role=role, created_at=at, expires_at=expires_at)
    return await s.insert_returning_id(conn, s.api_token, values)


async def token_by_hash(conn: Conn, secret_hash: str, now: datetime) -> tuple[int, str, str, datetime | None] | None:
    """The live token with this hash (not revoked, not expired): id, name, role, expiry."""
    t = s.api_token.c
    stmt = sa.select(t.id, t.name, t.role, t.expires_at).where(
        t.secret_hash == secret_hash, t.revoked_at.is_(None), sa.or_(t.expires_at.is_(None), t.expires_at > now))
    row = (await conn.execute(stmt)).first()
    return (int(row.id), row.name, row.role, row.expires_at) if row else None


async def bump_access_epoch(conn: Conn) -> None:
    """Say, in the transaction that takes access away, that token caches must forget (store/db.py reads it)."""
    await conn.execute(sa.update(s.access_epoch).values(n=s.access_epoch.c.n + 1))


async def count_tokens(conn: Conn) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(s.api_token))).scalar_one())


async def revoke_token(conn: Conn, token_id: int, at: datetime) -> Any:
    """Revoke the token if it is active: its (name, role, expires_at), or None when there was nothing to revoke."""
    t = s.api_token.c
    stmt = sa.update(s.api_token).where(t.id == token_id, t.revoked_at.is_(None)).values(revoked_at=at)
    return (await conn.execute(stmt.returning(t.name, t.role, t.expires_at))).first()


async def list_tokens(conn: Conn) -> list[Any]:
    t = s.api_token.c
    stmt = sa.select(t.id, t.name, t.role, t.created_at, t.revoked_at, t.expires_at).order_by(t.id)
    return list((await conn.execute(stmt)).all())


# --- project members ---


async def grants_of(conn: Conn, user: str) -> list[tuple[int, str]]:
    m = s.member.c
    return [(int(r.project_id), r.role) for r in (await conn.execute(
        sa.select(m.project_id, m.role).where(m.user == user))).all()]


async def upsert_member(conn: Conn, dialect: str, values: dict[str, Any]) -> None:
    from .runs import _upsert

    insert = _upsert(dialect)(s.member).values(**values)
    await conn.execute(insert.on_conflict_do_update(index_elements=["project_id", "user"],
                                                    set_={"role": insert.excluded.role}))


async def member_role(conn: Conn, project_id: int, user: str, *, for_update: bool = False) -> str | None:
    m = s.member.c
    stmt = sa.select(m.role).where(m.project_id == project_id, m.user == user)
    row = (await conn.execute(stmt.with_for_update() if for_update else stmt)).first()
    return row[0] if row else None


async def delete_member(conn: Conn, project_id: int, user: str) -> bool:
    m = s.member.c
    return bool((await conn.execute(sa.delete(s.member).where(m.project_id == project_id, m.user == user))).rowcount)


async def members_of(conn: Conn, project_id: int) -> list[Any]:
    m = s.member.c
    stmt = sa.select(m.user, m.role, m.created_at, m.created_by).where(m.project_id == project_id).order_by(m.user)
    return list((await conn.execute(stmt)).all())
