"""``ProjectAccess``: every field authenticates, and every field of a project-scoped object checks that the
actor may read its project.

Root fields check the project they are asked about; this catches everything
reached from there — a version used by another project's run, a registered
model in a shared registry project, an event in a subscription — without each
resolver having to remember (no nested resolver calls ``actor_of`` just to be
sure; a root field checks itself, as it must look at its arguments).
An object of a project the actor can't read answers FORBIDDEN on every field,
so nothing of it leaks; so does a registry event (no project) to anyone but a global admin. The check is synchronous: a refused field never creates
its resolver's coroutine.
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension

from ..errors import Forbidden
from ..records import EventRec, ProjectRec
from .permissions import actor_of


def project_scope(rec: Any) -> int | None:
    """The project a record belongs to; None for what belongs to none (datasets)."""
    if isinstance(rec, ProjectRec):
        return rec.id
    return getattr(rec, "project_id", None)


class ProjectAccess(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if info.path.prev is None:  # a root field: it decides itself, with its arguments (permissions.py)
            return _next(root, info, *args, **kwargs)
        actor = actor_of(info)  # no valid actor at all: UNAUTHENTICATED on every nested field, as at the root
        rec = getattr(root, "_rec", None)
        if isinstance(rec, EventRec) and rec.project_id is None and not actor.has("admin"):
            raise Forbidden("this is a registry event (a token made or revoked): only a global admin reads it")
        if rec is not None:
            project_id = project_scope(rec)
            if project_id is not None and not actor.has_in(project_id, "viewer"):
                raise Forbidden("this belongs to a project you have no role in; a project admin can add you "
                                "with addMember")
        return _next(root, info, *args, **kwargs)
