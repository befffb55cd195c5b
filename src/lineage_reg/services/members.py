"""Roles in a project: who may read, write or administer it beyond their global role.

Every change is an event of the project (``member.added``, ``member.changed``, ``member.removed``) and takes
effect in every process at once (``Tx.change_access``).
"""

from __future__ import annotations

from typing import Any

from ..errors import BadInput
from ..store import tokens as token_store
from . import find
from .actors import PROJECT_ROLES
from .runtime import Runtime, Tx, write


async def set_member(rt: Runtime, *, actor: str | None, project_id: int, user: str, role: str) -> None:
    """Give ``user`` ``role`` in the project; the event (``member.added`` or ``member.changed``) records who did."""
    if role not in PROJECT_ROLES:
        raise BadInput(f"a project role is one of {', '.join(PROJECT_ROLES)}, not {role!r}")
    if not (0 < len(user) <= 128):
        raise BadInput("user name must be 1-128 characters (the name its tokens were created with)")

    async def work(tx: Tx) -> None:
        project = await find.project_by_id(tx.conn, project_id)
        previous = await token_store.member_role(tx.conn, project_id, user, for_update=True)
        if previous == role:
            return  # nothing changes: no event
        values = dict(project_id=project_id, user=user, role=role, created_at=tx.at, created_by=actor)
        await token_store.upsert_member(tx.conn, tx.dialect, values)
        await tx.change_access()
        if previous is None:
            await tx.event("member.added", project_id=project_id, project=project.name, user=user, role=role)
        else:
            await tx.event("member.changed", project_id=project_id, project=project.name, user=user, role=role,
                           previousRole=previous)

    await write(rt, actor=actor, work=work)


async def remove_member(rt: Runtime, *, actor: str | None, project_id: int, user: str) -> bool:
    """False when ``user`` has no role in the project; otherwise ``member.removed`` records who took it."""

    async def work(tx: Tx) -> bool:
        project = await find.project_by_id(tx.conn, project_id)
        previous = await token_store.member_role(tx.conn, project_id, user, for_update=True)
        if previous is None or not await token_store.delete_member(tx.conn, project_id, user):
            return False
        await tx.change_access()
        await tx.event("member.removed", project_id=project_id, project=project.name, user=user,
                       previousRole=previous)
        return True

    return await write(rt, actor=actor, work=work)


async def members_of(rt: Runtime, *, project_id: int) -> list[Any]:
    """The project's members (user, role, created_at, created_by)."""
    async with rt.db.reader() as r:
        return await token_store.members_of(r, project_id)
