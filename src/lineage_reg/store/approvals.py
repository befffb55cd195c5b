"""SQL for approval policies: per project or per collection, one row per (scope, alias)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import sqlalchemy as sa

from ..records import ApprovalPolicyRec
from . import schema as s
from .db import Conn
from .protection import scope_key
from .runs import _upsert

policy = s.approval_policy

_SELECT = (
    sa.select(policy, s.project.c.name.label("project"), s.collection.c.name.label("collection"))
    .join(s.project, s.project.c.id == policy.c.project_id)
    .outerjoin(s.collection, s.collection.c.id == policy.c.collection_id)
)


async def upsert(conn: Conn, dialect: str, values: dict[str, Any]) -> None:
    insert = _upsert(dialect)(policy).values(**values)
    changing = ("required_approvals", "approver_role", "allow_self_approval", "expires_after_hours", "updated_at",
                "updated_by")
    await conn.execute(insert.on_conflict_do_update(
        index_elements=["scope", "alias"], set_={c: insert.excluded[c] for c in changing}))


async def get(conn: Conn, project_id: int, collection_id: int | None, alias: str) -> ApprovalPolicyRec | None:
    stmt = _SELECT.where(policy.c.scope == scope_key(project_id, collection_id), policy.c.alias == alias)
    row = (await conn.execute(stmt)).first()
    return ApprovalPolicyRec.from_row(row) if row else None


async def delete(conn: Conn, project_id: int, collection_id: int | None, alias: str) -> bool:
    stmt = sa.delete(policy).where(policy.c.scope == scope_key(project_id, collection_id), policy.c.alias == alias)
    return bool((await conn.execute(stmt)).rowcount)


async def effective(conn: Conn, project_id: int, collection_id: int, alias: str) -> ApprovalPolicyRec | None:
    """The policy governing ``alias`` on a collection: its own, else its project's, else none."""
    scopes = [scope_key(project_id, collection_id), scope_key(project_id, None)]
    rows = (await conn.execute(_SELECT.where(policy.c.scope.in_(scopes), policy.c.alias == alias))).all()
    found = {r.scope: ApprovalPolicyRec.from_row(r) for r in rows}
    return next((found[k] for k in scopes if k in found), None)


async def effective_of_collections(conn: Conn, keys: Sequence[Hashable]) -> dict[Any, list[ApprovalPolicyRec]]:
    """For (project id, collection id) keys: the policies in force on each collection, one per alias (the
    collection's own wins over its project's), by alias. One statement for all keys."""
    pairs = [(int(key[0]), int(key[1])) for key in keys]  # type: ignore[index]
    scopes = sorted({scope_key(p, c) for p, c in pairs} | {scope_key(p, None) for p, _ in pairs})
    rows = (await conn.execute(_SELECT.where(policy.c.scope.in_(scopes)).order_by(policy.c.alias))).all()
    by_scope: dict[str, list[ApprovalPolicyRec]] = {}
    for r in rows:
        by_scope.setdefault(r.scope, []).append(ApprovalPolicyRec.from_row(r))
    out: dict[Any, list[ApprovalPolicyRec]] = {}
    for key, (p, c) in zip(keys, pairs, strict=True):
        merged = {rec.alias: rec for rec in by_scope.get(scope_key(p, None), [])}
        merged.update({rec.alias: rec for rec in by_scope.get(scope_key(p, c), [])})
        out[key] = [merged[a] for a in sorted(merged)]
    return out


async def governed_aliases(conn: Conn, project_id: int, collection_id: int, names: Sequence[str]
                           ) -> dict[str, ApprovalPolicyRec]:
    """Which of ``names`` a policy governs on this collection (a collection policy of 0 approvals exempts it)."""
    if not names:
        return {}
    scopes = [scope_key(project_id, collection_id), scope_key(project_id, None)]
    rows = (await conn.execute(_SELECT.where(policy.c.scope.in_(scopes), policy.c.alias.in_(list(names))))).all()
    nearest: dict[str, ApprovalPolicyRec] = {}
    for r in sorted(rows, key=lambda r: r.scope != scopes[0]):  # the collection's own first
        nearest.setdefault(r.alias, ApprovalPolicyRec.from_row(r))
    return {alias: rec for alias, rec in nearest.items() if rec.required_approvals > 0}
