"""The one place access is decided. Checks fail closed: no actor, no role, no access."""

from __future__ import annotations

from ..errors import Forbidden, Unauthenticated
from ..services.auth import Actor
from .context import Info


def require(info: Info, role: str = "viewer") -> Actor:
    actor = info.context.actor
    if actor is None:
        raise Unauthenticated("the token sent is not valid, expired or was revoked; "
                              "create one with `lineage-reg token create`")
    if actor.role is None:
        raise Unauthenticated("authentication required: send 'Authorization: Bearer <token>'")
    if not actor.has(role):
        raise Forbidden(f"this needs the {role} role; your token has {actor.role}")
    return actor


def can_read(info: Info) -> None:
    require(info, "viewer")


def writer(info: Info) -> str | None:
    """Check the member role and return the actor's name for the event log."""
    return require(info, "member").name


def alias_writer(info: Info, alias: str) -> str | None:
    """Protected aliases (``production`` by default) move only with the admin role."""
    if alias in info.context.rt.settings.protected_aliases:
        return require(info, "admin").name
    return writer(info)
