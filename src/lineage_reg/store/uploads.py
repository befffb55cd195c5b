"""SQL for upload sessions: the multipart uploads handed out for blobs of PENDING versions.

A session is live while its version is PENDING and its blob is not stored yet; only a live session
counts against the bounds and keeps its staged bytes from garbage collection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from . import schema as s
from .db import Conn

_LIVE = sa.and_(
    s.version.c.id == s.upload_session.c.version_id,
    s.version.c.state == "PENDING",
    ~sa.select(sa.literal(1)).where(s.blob.c.sha256 == s.upload_session.c.sha256).exists(),
)


async def of_version(conn: Conn, version_id: int) -> dict[str, str]:
    """sha256 -> upload id of the version's live sessions."""
    stmt = (
        sa.select(s.upload_session.c.sha256, s.upload_session.c.upload_id)
        .select_from(s.upload_session.join(s.version, _LIVE))
        .where(s.upload_session.c.version_id == version_id)
    )
    return {r[0]: r[1] for r in (await conn.execute(stmt)).all()}


async def live_count_of(conn: Conn, actor: str | None) -> int:
    who = s.upload_session.c.created_by.is_(None) if actor is None else s.upload_session.c.created_by == actor
    stmt = sa.select(sa.func.count()).select_from(s.upload_session.join(s.version, _LIVE)).where(who)
    return int((await conn.execute(stmt)).scalar() or 0)


async def live_among(conn: Conn, upload_ids: Sequence[str]) -> set[str]:
    """Of these upload ids, the ones a live session holds."""
    if not upload_ids:
        return set()
    stmt = (
        sa.select(s.upload_session.c.upload_id)
        .select_from(s.upload_session.join(s.version, _LIVE))
        .where(s.upload_session.c.upload_id.in_(list(upload_ids)))
    )
    return set((await conn.execute(stmt)).scalars())


async def replace(conn: Conn, version_id: int, sessions: dict[str, str], *, actor: str | None, at: datetime) -> None:
    """Record ``sessions`` (sha256 -> upload id) for the version, instead of any older one for the same blob."""
    if not sessions:
        return
    await conn.execute(sa.delete(s.upload_session).where(
        s.upload_session.c.version_id == version_id, s.upload_session.c.sha256.in_(list(sessions))))
    await conn.execute(sa.insert(s.upload_session), [
        {"upload_id": upload_id, "version_id": version_id, "sha256": sha, "created_by": actor, "created_at": at}
        for sha, upload_id in sessions.items()
    ])


async def finish(conn: Conn, upload_id: str) -> None:
    await conn.execute(sa.delete(s.upload_session).where(s.upload_session.c.upload_id == upload_id))


async def delete_dead(conn: Conn) -> int:
    """Forget sessions no longer live (version committed, deleted or abandoned, or blob stored)."""
    live = sa.select(s.upload_session.c.upload_id).select_from(s.upload_session.join(s.version, _LIVE))
    stmt = sa.delete(s.upload_session).where(s.upload_session.c.upload_id.not_in(live))
    return int((await conn.execute(stmt)).rowcount or 0)
