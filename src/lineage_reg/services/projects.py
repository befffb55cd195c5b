"""Projects: namespaces for runs, artifacts and registered models."""

from __future__ import annotations

from .. import refs
from ..errors import BadInput, Conflict
from ..store import projects as project_store
from ..records import ProjectRec
from .runtime import Runtime, Tx, write

MAX_DESCRIPTION = 10_000


def check_description(description: str | None) -> str | None:
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise BadInput(f"description is {len(description)} characters; keep it under {MAX_DESCRIPTION}")
    return description


async def create_project(rt: Runtime, *, actor: str | None, name: str, description: str | None = None) -> ProjectRec:
    refs.check_project_name(name)
    check_description(description)

    async def work(tx: Tx) -> ProjectRec:
        if await project_store.project_by_name(tx.conn, name) is not None:
            raise Conflict(f"project {name!r} already exists; pick another name")
        project_id = await project_store.insert_project(
            tx.conn, name=name, description=description, at=tx.at, actor=tx.actor
        )
        await tx.event("project.created", project_id=project_id, project=name)
        return ProjectRec(id=project_id, name=name, description=description, created_at=tx.at)

    return await write(rt, actor=actor, work=work)
