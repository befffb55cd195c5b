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
from dataclasses import dataclass

from ..errors import Forbidden, NotFound, Unauthenticated, not_found_or_unreadable
from ..services import scope
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


@dataclass(frozen=True)
class Granted:
    """What ``grant`` found: who acts (for the event log) and what they may do in the target's project."""

    name: str | None
    project_id: int
    may_move_protected: bool  # admin there: may move its protected aliases


async def grant(info: Info, role: str, target_of: Callable[[], Awaitable[scope.Target]]) -> Granted:
    """``role`` in the project an argument belongs to.

    Authentication, and whether the actor holds ``role`` anywhere at all, are checked before anything is
    looked up. A target that doesn't exist and one in a project the actor may not read get the same
    NOT_FOUND, so a caller without rights learns nothing about what exists; a reader of the project who
    lacks ``role`` is told FORBIDDEN (existence is no secret to them)."""
    actor = require_somewhere(info, role)
    target = await target_of()
    if target.project_id is None and actor.reads_everything:
        raise NotFound(f"{target.what} not found")  # it may read everything: nothing to hide from it
    if target.project_id is None or not actor.has_in(target.project_id, "viewer"):
        raise not_found_or_unreadable(target.what)
    check_in(actor, target.project_id, role)
    return Granted(actor.name, target.project_id, actor.has_in(target.project_id, "admin"))


async def authorize(info: Info, role: str, target_of: Callable[[], Awaitable[scope.Target]]) -> str | None:
    """``grant``, for callers that need only the actor's name."""
    return (await grant(info, role, target_of)).name


async def require_readable(info: Info, target_of: Callable[[], Awaitable[scope.Target]]) -> Actor:
    """Read access to what an argument names, answered like ``grant`` (no existence oracle). An actor who reads
    every project skips the lookup: the read itself says precisely what is missing."""
    actor = actor_of(info)
    if not actor.reads_everything:
        await grant(info, "viewer", target_of)
    return actor


def require_somewhere(info: Info, role: str) -> Actor:
    """``role`` globally or in at least one project (for what belongs to no project yet)."""
    actor = actor_of(info)
    if not (actor.has(role) or any(ROLES.index(r) >= ROLES.index(role) for _, r in actor.grants)):
        raise Forbidden(f"this needs the {role} role in some project; your token has {actor.role}")
    return actor
