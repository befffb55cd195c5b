"""The one place access is decided. Checks fail closed: no actor, no role, no access.

A token acts as its user (the token's name) with a global role (``user`` = none,
``viewer``, ``member``, ``admin``) and, per project, the role its membership
gives (``addMember``); in a project the stronger of the two counts.

The vocabulary, each name saying which role it asks about:

- ``actor_of(info)`` / ``authenticated(actor)``: who acts; UNAUTHENTICATED if nobody may.
- ``global_role(info, role)``: the token's own role (creating projects; reading every project).
- ``role_somewhere(info, role)``: ``role`` globally or in at least one project (what belongs to no project yet).
- ``project_role(info, role, target_of)``: ``role`` in the project an argument belongs to, answered without an
  existence oracle; ``project_reader(info, target_of)`` is its read-only form.
- ``in_project(actor, project_id, role)``: ``role`` in a project already known (raises);
  ``may_read(actor, project_id)``: the same question for reading, as a yes/no (filters, hidden labels).
- ``may_read_event(actor, project_id)``: ``may_read`` for an event; a registry event (no project: tokens made
  or revoked) only for a global admin.

Root fields check the project they touch; every field of a project-scoped object is checked again, and every
field at all authenticated, by ``ProjectAccess`` (a schema extension, ``access.py``), so an object reached
through another project's lineage or links is never read without access and no resolver repeats the check.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from .. import ids, refs
from ..errors import Forbidden, NotFound, Unauthenticated, not_found_or_unreadable
from ..services import owners
from ..services.actors import ROLES, Actor
from .context import Info

NOT_VALID = "the token sent is not valid, expired or was revoked; create one with `lineage-reg token create`"


def actor_of(info: Info) -> Actor:
    context = info.context
    return authenticated(context.actor, getattr(context, "auth_problem", None))  # getattr: contexts built by hand


def authenticated(actor: Actor | None, problem: str | None = None) -> Actor:
    """The actor, if it may do anything at all; UNAUTHENTICATED otherwise (``problem``: what was wrong with the
    header, when something was)."""
    if actor is None:
        raise Unauthenticated(problem or NOT_VALID)
    if actor.role is None:
        raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")
    return actor


def global_role(info: Info, role: str) -> Actor:
    """At least ``role`` as the token's own (global) role: memberships don't count."""
    actor = actor_of(info)
    if not actor.has(role):
        raise Forbidden(f"this needs the global {role} role; your token has {actor.role}")
    return actor


def role_somewhere(info: Info, role: str) -> Actor:
    """``role`` globally or in at least one project (for what belongs to no project yet)."""
    actor = actor_of(info)
    if not (actor.has(role) or any(ROLES.index(r) >= ROLES.index(role) for _, r in actor.grants)):
        raise Forbidden(f"this needs the {role} role in some project; your token has {actor.role}")
    return actor


def in_project(actor: Actor, project_id: int, role: str = "viewer") -> Actor:
    """At least ``role`` in one known project (global role or membership)."""
    if not actor.has_in(project_id, role):
        have = actor.role_in(project_id) or "no role"
        raise Forbidden(f"this needs the {role} role in this project; you have {have} "
                        "(a project admin can add you with addMember)")
    return actor


def may_read(actor: Actor | None, project_id: int) -> bool:
    """Whether ``actor`` may read the project: for filtering and hiding, where a refusal would be wrong."""
    return actor is not None and actor.role is not None and actor.has_in(project_id, "viewer")


def may_read_event(actor: Actor | None, project_id: int | None) -> bool:
    """Whether ``actor`` may read an event of that project; a registry event (``project_id`` None) is the global
    admin's alone, as the tokens it tells of are."""
    if project_id is None:
        return actor is not None and actor.has("admin")
    return may_read(actor, project_id)


@dataclass(frozen=True)
class Granted:
    """What ``project_role`` found: who acts (for the event log) and what they may do in the target's project."""

    name: str | None
    project_id: int
    may_move_protected: bool  # admin there: may move its protected aliases


async def project_role(info: Info, role: str, target_of: Callable[[], Awaitable[owners.Target]]) -> Granted:
    """``role`` in the project an argument belongs to.

    Authentication, and whether the actor holds ``role`` anywhere at all, are checked before anything is
    looked up. A target that doesn't exist and one in a project the actor may not read get the same
    NOT_FOUND, so a caller without rights learns nothing about what exists; a reader of the project who
    lacks ``role`` is told FORBIDDEN (existence is no secret to them)."""
    actor = role_somewhere(info, role)
    target = await target_of()
    if target.project_id is None and actor.reads_everything:
        raise NotFound(f"{target.what} not found")  # it may read everything: nothing to hide from it
    if target.project_id is None or not actor.has_in(target.project_id, "viewer"):
        raise not_found_or_unreadable(target.what)
    in_project(actor, target.project_id, role)
    return Granted(actor.name, target.project_id, actor.has_in(target.project_id, "admin"))


async def project_reader(info: Info, target_of: Callable[[], Awaitable[owners.Target]]) -> Actor:
    """Read access to what an argument names, answered like ``project_role`` (no existence oracle). An actor
    who reads every project skips the lookup: the read itself says precisely what is missing."""
    actor = actor_of(info)
    if not actor.reads_everything:
        await project_role(info, "viewer", target_of)
    return actor


async def metrics_writer(info: Info, versions: list[str]) -> str | None:
    """``member`` in the project of every version a metrics request names: each distinct project once (a
    reference names its project; global ids are looked up together, in one read). Who acts."""
    rt = info.context.rt
    actor = actor_of(info)
    if actor.has("member"):  # member of every project by its global role: nothing to look up, nothing to hide
        return actor.name  # (a version that doesn't exist is the service's NOT_FOUND, naming the point)
    name: str | None = None
    distinct = list(dict.fromkeys(versions))
    by_id = [t for t in distinct if ids.looks_like_id(t)]
    targets = await owners.versions(rt, global_ids=by_id) if by_id else {}
    checked: set[object] = set()
    for text in by_id:
        target = targets[text]
        key = target.project_id if target.project_id is not None else text  # a missing one: answered as itself
        if key not in checked:
            checked.add(key)
            name = (await project_role(info, "member", partial(_known, target))).name
    for project in dict.fromkeys(refs.parse_version_ref(t).project for t in distinct if t not in targets):
        name = (await project_role(info, "member", partial(owners.project, rt, name=project))).name
    return name


async def _known(target: owners.Target) -> owners.Target:
    return target
