"""The one place access is decided. Checks fail closed: no actor, no role, no access.

A token acts as its user (the token's name) with a global role (``user`` = none,
``viewer``, ``member``, ``admin``) and, per project, the role its membership
gives (``addMember``); in a project the stronger of the two counts. Root fields
check the project they touch; every field of a project-scoped object is checked
again by ``ProjectAccess`` (a schema extension), so an object reached through
another project's lineage or links is never read without access.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..errors import Forbidden, Unauthenticated
from ..services import protection
from ..services.auth import ROLES, Actor
from .context import Info


def actor_of(info: Info) -> Actor:
    return authenticated(info.context.actor)


def authenticated(actor: Actor | None) -> Actor:
    """The actor, if it may do anything at all; UNAUTHENTICATED otherwise."""
    if actor is None:
        raise Unauthenticated("the token sent is not valid, expired or was revoked; "
                              "create one with `lineage-reg token create`")
    if actor.role is None:
        raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")
    return actor


def require(info: Info, role: str = "viewer") -> Actor:
    """A global role (creating projects, tokens; reading across every project)."""
    actor = actor_of(info)
    if not actor.has(role):
        raise Forbidden(f"this needs the global {role} role; your token has {actor.role}")
    return actor


def require_in(info: Info, project_id: int, role: str = "viewer") -> Actor:
    """At least ``role`` in one project (global role or membership)."""
    return check_in(actor_of(info), project_id, role)


def check_in(actor: Actor, project_id: int, role: str = "viewer") -> Actor:
    """The same for an actor already authenticated (one look at the request's actor per decision)."""
    if not actor.has_in(project_id, role):
        have = actor.role_in(project_id) or "no role"
        raise Forbidden(f"this needs the {role} role in this project; you have {have} "
                        "(a project admin can add you with addMember)")
    return actor


def can_read(info: Info, project_id: int | None = None) -> None:
    """Without a project: any authenticated actor (the caller filters what it returns)."""
    if project_id is None:
        actor_of(info)
    else:
        require_in(info, project_id, "viewer")


def readable(info: Info, project_id: int) -> bool:
    return readable_by(info.context.actor, project_id)


def readable_by(actor: Actor | None, project_id: int) -> bool:
    return actor is not None and actor.role is not None and actor.has_in(project_id, "viewer")


async def authorize(info: Info, role: str, project_of: Callable[[], Awaitable[int]]) -> str | None:
    """``role`` in the project an argument belongs to; returns the actor's name for the event log.

    Authentication, and whether the actor holds ``role`` anywhere at all, are checked before the
    project is looked up, so a caller without rights learns nothing about what exists."""
    require_somewhere(info, role)
    return require_in(info, await project_of(), role).name


def require_somewhere(info: Info, role: str) -> Actor:
    """``role`` globally or in at least one project (for what belongs to no project yet)."""
    actor = actor_of(info)
    if not (actor.has(role) or any(ROLES.index(r) >= ROLES.index(role) for _, r in actor.grants)):
        raise Forbidden(f"this needs the {role} role in some project; your token has {actor.role}")
    return actor


async def alias_role(info: Info, collection: str, *aliases: str) -> str:
    """Protected aliases of ``collection`` (``production`` unless set otherwise) move only with the admin role."""
    if not aliases:
        return "member"
    require_somewhere(info, "member")  # say FORBIDDEN before looking anything up
    protected = await protection.protected_for(info.context.rt, collection)
    return "admin" if any(a in protected for a in aliases) else "member"
