"""SQL for garbage collection: abandoned uploads and blobs nothing live references.

A blob is live while a COMMITTED version, or a PENDING one (an upload in
flight), lists it in its manifest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from . import schema as s
from ..records import VersionRec
from .db import Conn

LIVE_STATES = ("COMMITTED", "PENDING")


def _live_reference(sha: sa.ColumnElement[str]) -> sa.Exists:
    return (
        sa.select(sa.literal(1))
        .select_from(s.version_file.join(s.version, s.version.c.id == s.version_file.c.version_id))
        .where(s.version_file.c.sha256 == sha, s.version.c.state.in_(LIVE_STATES))
        .exists()
    )


async def abandoned_pending(conn: Conn, created_before: datetime, limit: int = 10_000) -> list[VersionRec]:
    stmt = (
        s.select_versions()
        .where(s.version.c.state == "PENDING", s.version.c.created_at < created_before)
        .order_by(s.version.c.id)
        .limit(limit)
    )
    return [VersionRec.from_row(r) for r in (await conn.execute(stmt)).all()]


async def mark_abandoned(conn: Conn, version_id: int) -> bool:
    stmt = sa.update(s.version).where(s.version.c.id == version_id, s.version.c.state == "PENDING")
    return bool((await conn.execute(stmt.values(state="DELETED"))).rowcount)


async def unreferenced_blobs(conn: Conn, created_before: datetime, limit: int = 10_000) -> list[tuple[str, int]]:
    stmt = (
        sa.select(s.blob.c.sha256, s.blob.c.size)
        .where(s.blob.c.created_at < created_before, ~_live_reference(s.blob.c.sha256))
        .order_by(s.blob.c.sha256)
        .limit(limit)
    )
    return [(r[0], int(r[1])) for r in (await conn.execute(stmt)).all()]


async def delete_blob_if_unreferenced(conn: Conn, sha256: str) -> bool:
    """Re-checked at delete time: a version created since the scan keeps its blob."""
    stmt = sa.delete(s.blob).where(s.blob.c.sha256 == sha256, ~_live_reference(s.blob.c.sha256))
    return bool((await conn.execute(stmt)).rowcount)


async def live_references(conn: Conn, shas: Sequence[str]) -> set[str]:
    """Of these shas, the ones a live version's manifest lists."""
    if not shas:
        return set()
    stmt = (
        sa.select(s.version_file.c.sha256)
        .join(s.version, s.version.c.id == s.version_file.c.version_id)
        .where(s.version_file.c.sha256.in_(list(shas)), s.version.c.state.in_(LIVE_STATES))
    )
    return set((await conn.execute(stmt)).scalars())


async def known_or_referenced(conn: Conn, shas: Sequence[str]) -> set[str]:
    """Of these shas, the ones with a blob row or a live manifest reference."""
    if not shas:
        return set()
    rows = await conn.execute(sa.select(s.blob.c.sha256).where(s.blob.c.sha256.in_(list(shas))))
    return set(rows.scalars()) | await live_references(conn, shas)
