"""SQL for artifact versions, their files and blobs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import schema as s
from ..records import FileRec, VersionRec
from .db import Conn


IN_CHUNK = 10_000  # values per IN (...): well within SQLite's 32,766 and PostgreSQL's 65,535 parameters

# The write path's statements, built once: bind parameters instead of a new statement per call.
_BY_IDS = s.select_versions().where(s.version.c.id.in_(sa.bindparam("ids", expanding=True)))
_BY_IDS_FOR_UPDATE = _BY_IDS.with_for_update(of=s.version)
_LATEST_COMMITTED = (
    s.select_versions()
    .where(s.version.c.artifact_id == sa.bindparam("artifact_id"), s.version.c.state == "COMMITTED")
    .order_by(s.version.c.index.desc())
    .limit(1)
)
_PENDING_WITH_DIGEST = s.select_versions().where(
    s.version.c.artifact_id == sa.bindparam("artifact_id"), s.version.c.digest == sa.bindparam("digest"),
    s.version.c.state == "PENDING",
).limit(1)
_NEXT_INDEX = sa.select(sa.func.max(s.version.c.index)).where(s.version.c.artifact_id == sa.bindparam("artifact_id"))
_MISSING_OF_VERSION = (
    sa.select(s.version_file.c.sha256, sa.func.max(s.version_file.c.size))
    .outerjoin(s.blob, s.blob.c.sha256 == s.version_file.c.sha256)
    .where(s.version_file.c.version_id == sa.bindparam("version_id"), s.blob.c.sha256.is_(None))
    .group_by(s.version_file.c.sha256)
    .order_by(s.version_file.c.sha256)
)
_BLOB_SIZES = sa.select(s.blob.c.sha256, s.blob.c.size).where(s.blob.c.sha256.in_(sa.bindparam("shas", expanding=True)))
# A file is unsettled while its blob has no row (never uploaded) or a row of another size (stored since create by
# another upload of the same sha256): commit refuses both, and one statement finds both.
_UNSETTLED_OF_VERSION = (
    sa.select(s.version_file.c.path, s.version_file.c.size, s.version_file.c.sha256, s.blob.c.size)
    .outerjoin(s.blob, s.blob.c.sha256 == s.version_file.c.sha256)
    .where(s.version_file.c.version_id == sa.bindparam("version_id"),
           sa.or_(s.blob.c.sha256.is_(None), s.blob.c.size != s.version_file.c.size))
    .order_by(s.version_file.c.path)
)


async def versions_by_id(conn: Conn, ids: Sequence[int], *, for_update: bool = False) -> dict[int, VersionRec]:
    stmt = _BY_IDS_FOR_UPDATE if for_update else _BY_IDS
    return {r.id: VersionRec.from_row(r) for r in (await conn.execute(stmt, {"ids": list(ids)})).all()}


_PROJECTS_OF = (
    sa.select(s.version.c.id, s.collection.c.project_id)
    .join(s.collection, s.collection.c.id == s.version.c.artifact_id)
    .where(s.version.c.id.in_(sa.bindparam("ids", expanding=True)))
)


async def projects_of_versions(conn: Conn, ids: Sequence[int]) -> dict[int, int]:
    """version id → its project id, for the ids that exist (access checks need no more than this)."""
    return {int(r[0]): int(r[1]) for r in (await conn.execute(_PROJECTS_OF, {"ids": list(ids)})).all()}


async def version_by_id(conn: Conn, version_id: int, *, for_update: bool = False) -> VersionRec | None:
    return (await versions_by_id(conn, [version_id], for_update=for_update)).get(version_id)


async def version_by_index(conn: Conn, artifact_id: int, index: int) -> VersionRec | None:
    stmt = s.select_versions().where(s.version.c.artifact_id == artifact_id, s.version.c.index == index)
    row = (await conn.execute(stmt)).first()
    return VersionRec.from_row(row) if row else None


async def versions_by_digest_prefix(conn: Conn, collection_id: int, kind: str, prefix: str) -> list[VersionRec]:
    """Versions of an artifact (``kind`` "artifact") or linked into a registered model whose digest starts with
    ``prefix``; at most two matches: enough to tell unique from ambiguous."""
    if kind == "artifact":
        scope = s.version.c.artifact_id == collection_id
    else:
        scope = s.version.c.id.in_(sa.select(s.link.c.version_id).where(s.link.c.model_id == collection_id))
    stmt = (
        s.select_versions()
        .where(scope, s.version.c.digest.startswith(prefix, autoescape=True), s.version.c.state != "DELETED")
        .order_by(s.version.c.id)
        .limit(2)
    )
    return [VersionRec.from_row(r) for r in (await conn.execute(stmt)).all()]


async def latest_committed(conn: Conn, artifact_id: int) -> VersionRec | None:
    row = (await conn.execute(_LATEST_COMMITTED, {"artifact_id": artifact_id})).first()
    return VersionRec.from_row(row) if row else None


async def pending_with_digest(conn: Conn, artifact_id: int, digest: str) -> VersionRec | None:
    row = (await conn.execute(_PENDING_WITH_DIGEST, {"artifact_id": artifact_id, "digest": digest})).first()
    return VersionRec.from_row(row) if row else None


async def next_index(conn: Conn, artifact_id: int) -> int:
    current = (await conn.execute(_NEXT_INDEX, {"artifact_id": artifact_id})).scalar()
    return 0 if current is None else int(current) + 1


async def insert_version(conn: Conn, values: dict[str, Any], files: Iterable[FileRec]) -> int:
    version_id = await s.insert_returning_id(conn, s.version, values)
    rows = [{"version_id": version_id, "path": f.path, "size": f.size, "sha256": f.sha256} for f in files]
    if rows:
        await conn.execute(sa.insert(s.version_file), rows)
    return version_id


async def mark_committed(conn: Conn, version_id: int, at: datetime) -> None:
    stmt = sa.update(s.version).where(s.version.c.id == version_id).values(state="COMMITTED", committed_at=at)
    await conn.execute(stmt)


async def mark_deleted(conn: Conn, version_id: int) -> None:
    await conn.execute(sa.update(s.version).where(s.version.c.id == version_id).values(state="DELETED"))


async def update_annotations(conn: Conn, version_id: int, values: dict[str, Any]) -> None:
    """Set ``description`` and/or ``metadata``: never a file, the digest or the state."""
    assert set(values) <= {"description", "metadata"}, values
    await conn.execute(sa.update(s.version).where(s.version.c.id == version_id).values(**values))


async def set_version_tags(conn: Conn, version_id: int, tags: list[str]) -> None:
    await conn.execute(sa.update(s.version).where(s.version.c.id == version_id).values(tags=tags))


async def pending_aliases(conn: Conn, version_id: int) -> list[str]:
    stmt = sa.select(s.version.c.pending_aliases).where(s.version.c.id == version_id)
    return list((await conn.execute(stmt)).scalar() or [])


async def set_pending_aliases(conn: Conn, version_id: int, names: Sequence[str]) -> None:
    await conn.execute(sa.update(s.version).where(s.version.c.id == version_id).values(pending_aliases=list(names)))


async def files_of(conn: Conn, version_ids: Sequence[int]) -> dict[int, list[FileRec]]:
    stmt = (
        sa.select(s.version_file)
        .where(s.version_file.c.version_id.in_(version_ids))
        .order_by(s.version_file.c.version_id, s.version_file.c.path)
    )
    out: dict[int, list[FileRec]] = {v: [] for v in version_ids}
    for r in (await conn.execute(stmt)).all():
        out[r.version_id].append(FileRec(path=r.path, size=r.size, sha256=r.sha256))
    return out


async def missing_blobs_with_size(conn: Conn, version_id: int) -> list[tuple[str, int]]:
    """(sha256, size) of the version's blobs the database has no row for."""
    rows = (await conn.execute(_MISSING_OF_VERSION, {"version_id": version_id})).all()
    return [(r[0], int(r[1])) for r in rows]


async def blob_sizes(conn: Conn, shas: Sequence[str]) -> dict[str, int]:
    """sha256 -> size of the stored blobs among ``shas``."""
    found: dict[str, int] = {}
    for start in range(0, len(shas), IN_CHUNK):
        rows = (await conn.execute(_BLOB_SIZES, {"shas": list(shas[start:start + IN_CHUNK])})).all()
        found.update((r[0], int(r[1])) for r in rows)
    return found


@dataclass
class Unsettled:
    """What stops a version's commit: the first file (by path) whose declared size is not its stored blob's
    (path, declared, sha256, stored), and the sha256s that have no blob row yet (sorted)."""

    size_conflict: tuple[str, int, str, int] | None
    missing: list[str]


async def unsettled_files(conn: Conn, version_id: int) -> Unsettled:
    conflict, missing = None, set()
    for path, declared, sha256, stored in (await conn.execute(_UNSETTLED_OF_VERSION, {"version_id": version_id})).all():
        if stored is None:
            missing.add(sha256)
        elif conflict is None:
            conflict = (path, int(declared), sha256, int(stored))
    return Unsettled(size_conflict=conflict, missing=sorted(missing))


async def blob_size(conn: Conn, sha256: str) -> int | None:
    stmt = sa.select(s.blob.c.size).where(s.blob.c.sha256 == sha256)
    size = (await conn.execute(stmt)).scalar()
    return None if size is None else int(size)


def insert_blob_stmt(dialect: str, *, sha256: str, size: int, at: datetime) -> Any:
    """Record a verified blob; a concurrent upload of the same bytes is not an error."""
    if dialect == "postgresql":
        return postgresql.insert(s.blob).values(sha256=sha256, size=size, created_at=at).on_conflict_do_nothing()
    return sqlite.insert(s.blob).values(sha256=sha256, size=size, created_at=at).on_conflict_do_nothing()


# The deploy bot's hot read: a reference (project/name:alias or :vN) to its version in one prebuilt statement.
# Statements are built once with bind parameters, so SQLAlchemy's cache key and compiled form are computed once
# per process, not per request.
_coll = s.collection.alias("target")
_proj = s.project.alias("target_project")
_in_collection = sa.and_(
    _coll.c.project_id == _proj.c.id,
    _proj.c.name == sa.bindparam("project"),
    _coll.c.name == sa.bindparam("name"),
)

_BY_ALIAS = s.select_versions().where(
    s.version.c.id == sa.select(s.alias.c.version_id)
    .join(_coll, _coll.c.id == s.alias.c.collection_id)
    .join(_proj, _in_collection)
    .where(s.alias.c.name == sa.bindparam("alias"))
    .scalar_subquery()
)

_BY_INDEX = s.select_versions().where(
    s.version.c.id.in_(
        sa.union_all(
            sa.select(s.version.c.id)
            .join(_coll, sa.and_(_coll.c.id == s.version.c.artifact_id, _coll.c.kind == "artifact"))
            .join(_proj, _in_collection)
            .where(s.version.c.index == sa.bindparam("index")),
            sa.select(s.link.c.version_id)
            .join(_coll, sa.and_(_coll.c.id == s.link.c.model_id, _coll.c.kind == "model"))
            .join(_proj, _in_collection)
            .where(s.link.c.index == sa.bindparam("index")),
        )
    )
)


async def version_named_by_alias(conn: Conn, project: str, name: str, alias: str) -> VersionRec | None:
    row = (await conn.execute(_BY_ALIAS, {"project": project, "name": name, "alias": alias})).first()
    return VersionRec.from_row(row) if row else None


async def version_named_by_index(conn: Conn, project: str, name: str, index: int) -> VersionRec | None:
    row = (await conn.execute(_BY_INDEX, {"project": project, "name": name, "index": index})).first()
    return VersionRec.from_row(row) if row else None
