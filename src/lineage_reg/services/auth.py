"""API tokens and who a request acts as.

Roles are ordered viewer < member < admin. Secrets are shown once and stored
as sha256 hashes; a lookup costs one indexed read. Its answer is cached until
a revocation or role change is announced (PostgreSQL: the NOTIFY of that
transaction, at once in the process that made it; SQLite: the access epoch
that transaction bumps, read again whenever data_version moves), so it applies to the next request or event in every
process; and for at most ``CACHE_SECONDS`` in any case, which bounds what no
process announces (a revocation typed into psql by hand).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .. import private
from ..errors import BadInput
from ..store import tokens as token_store
from ..clock import utcnow
from . import lookup
from .runtime import Runtime, Tx, write

ROLES = ("user", "viewer", "member", "admin")  # "user": no global rights, only its projects' roles
PROJECT_ROLES = ("viewer", "member", "admin")
TOKEN_PREFIX = "lrt_"
CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class Actor:
    name: str | None  # None: anonymous
    role: str | None  # global role; None: may do nothing
    grants: tuple[tuple[int, str], ...] = ()  # (project id, role) from project membership

    @property
    def access_key(self) -> tuple[object, ...]:
        """Everything access decisions depend on: two actors with the same key may share answers."""
        return (self.role, self.grants)

    def has(self, role: str) -> bool:
        """The global role is at least ``role``."""
        return self.role is not None and ROLES.index(self.role) >= ROLES.index(role)

    def role_in(self, project_id: int) -> str | None:
        """The stronger of the global role and the role in that project."""
        best = self.role if self.role in PROJECT_ROLES else None
        for pid, role in self.grants:
            if pid == project_id and (best is None or ROLES.index(role) > ROLES.index(best)):
                best = role
        return best

    def has_in(self, project_id: int, role: str) -> bool:
        mine = self.role_in(project_id)
        return mine is not None and ROLES.index(mine) >= ROLES.index(role)

    @property
    def reads_everything(self) -> bool:
        return self.has("viewer")

    def readable_projects(self) -> tuple[int, ...]:
        """Projects readable through membership (everything, if ``reads_everything``)."""
        return tuple(sorted({pid for pid, _ in self.grants}))


ANONYMOUS_ROLES = {"none": None, "read": "viewer", "write": "member", "admin": "admin"}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_token(rt: Runtime, *, name: str, role: str, expires_in: timedelta | None = None) -> str:
    """Create a token for user ``name`` and return its secret; the secret is not stored and can't be shown again.
    With ``expires_in`` the token stops working after that long."""
    if role not in ROLES:
        raise BadInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not (0 < len(name) <= 128):
        raise BadInput("token name must be 1-128 characters")
    if expires_in is not None and expires_in.total_seconds() <= 0:
        raise BadInput("a token's lifetime must be positive, e.g. 30d or 12h")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + expires_in if expires_in is not None else None
    await rt.db.transaction(lambda conn: token_store.insert_token(
        conn, name=name, secret_hash=hash_secret(secret), role=role, at=now, expires_at=expires_at))
    return secret


def parse_lifetime(text: str) -> timedelta:
    """'90d', '12h', '30m' -> a timedelta."""
    m = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text)
    if m is None or int(m.group(1)) == 0:
        raise BadInput(f"lifetime {text!r}: write a positive number of days, hours or minutes, e.g. 90d, 12h, 30m")
    unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
    return timedelta(**{unit: int(m.group(1))})


BEARER = "send 'Authorization: Bearer <token>' (the word Bearer, a space, then the token)"


def header_problem(authorization: str | None) -> str | None:
    """What is wrong with an Authorization header that is not shaped ``Bearer <token>``; None if it is (whether
    its token is valid is the token store's question) or if there is none (anonymous)."""
    if not authorization:
        return None
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return None if secret.strip() else f"the Authorization header has no token after Bearer: {BEARER}"
    if not secret:
        return f"the Authorization header has no scheme, only a token: {BEARER}"
    return f"the Authorization header uses the {scheme[:20]!r} scheme, which this server does not take: {BEARER}"


class Authenticator:
    def __init__(self, rt: Runtime, changes: Callable[[], int | None]) -> None:
        """``changes()``: a number that moves whenever a token may have been revoked or a role changed, in any
        process (None: nobody can tell, so nothing is cached)."""
        self._rt = rt
        self._changes = changes
        self._cache: dict[str, tuple[float, int, Actor | None]] = {}
        # One read per token at a time: when an entry expires, the 1,000 subscribers sharing a token must not
        # each send the same query at once (on PostgreSQL they would queue for the pool's connections).
        self._lookups: dict[str, tuple[int | None, asyncio.Future[Actor | None]]] = {}
        self.anonymous = Actor(name=None, role=ANONYMOUS_ROLES[rt.settings.anonymous])

    async def actor(self, authorization: str | None) -> Actor | None:
        """The actor a header names; None when a token was given but is not valid."""
        if not authorization:
            return self.anonymous
        if header_problem(authorization) is not None:
            return None
        key = hash_secret(authorization.strip().partition(" ")[2].strip())
        generation = self._changes()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic() and generation is not None and hit[1] == generation:
            return hit[2]
        pending = self._lookups.get(key)
        if pending is None or pending[0] != generation:  # none running, or one started before access changed
            pending = self._lookups[key] = (generation, asyncio.ensure_future(self._lookup(key, generation)))
        return await asyncio.shield(pending[1])  # a waiter that goes away leaves the read to the others

    async def _lookup(self, key: str, generation: int | None) -> Actor | None:
        now = time.monotonic()
        try:
            async with self._rt.db.reader() as r:
                found = await token_store.token_by_hash(r, key, utcnow())
                grants = tuple(sorted(await token_store.grants_of(r, found[1]))) if found else ()
        finally:
            if self._lookups.get(key, (None, None))[1] is asyncio.current_task():
                del self._lookups[key]
        actor = Actor(name=found[1], role=found[2], grants=grants) if found else None
        if generation is None:
            return actor
        lifetime = CACHE_SECONDS
        if found is not None and found[3] is not None:  # an expiring token is cached no longer than it lives
            lifetime = min(lifetime, (found[3] - utcnow()).total_seconds())
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now + lifetime, generation, actor)
        return actor


async def list_tokens(rt: Runtime) -> list[Any]:
    """Every API token (id, name, role, created_at, revoked_at, expires_at), oldest first; never a secret."""
    async with rt.db.reader() as r:
        return await token_store.list_tokens(r)


async def revoke_token(rt: Runtime, token_id: int) -> bool:
    """False when there is no active token with that id. Every process stops accepting it at once (the
    transaction changes access: ``Tx.change_access``)."""

    async def work(tx: Tx) -> bool:
        if not await token_store.revoke_token(tx.conn, token_id, tx.at):
            return False
        await tx.change_access()
        return True

    return await write(rt, actor=None, work=work)


async def set_member(rt: Runtime, *, actor: str | None, project_id: int, user: str, role: str) -> None:
    """Give ``user`` ``role`` in the project; the event (``member.added`` or ``member.changed``) records who did."""
    if role not in PROJECT_ROLES:
        raise BadInput(f"a project role is one of {', '.join(PROJECT_ROLES)}, not {role!r}")
    if not (0 < len(user) <= 128):
        raise BadInput("user name must be 1-128 characters (the name its tokens were created with)")

    async def work(tx: Tx) -> None:
        project = await lookup.project_by_id(tx.conn, project_id)
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
        project = await lookup.project_by_id(tx.conn, project_id)
        previous = await token_store.member_role(tx.conn, project_id, user, for_update=True)
        if previous is None or not await token_store.delete_member(tx.conn, project_id, user):
            return False
        await tx.change_access()
        await tx.event("member.removed", project_id=project_id, project=project.name, user=user,
                       previousRole=previous)
        return True

    return await write(rt, actor=actor, work=work)


async def members_of(rt: Runtime, project_id: int) -> list[Any]:
    async with rt.db.reader() as r:
        return await token_store.members_of(r, project_id)


BOOTSTRAP_FILE = "admin.token"


async def bootstrap_admin_token(rt: Runtime) -> str | None:
    """On a registry with no tokens, create one admin token and keep it (mode 0600) in the data dir.

    Writes need a token from the first start on; this is how the first one appears.
    """
    async with rt.db.reader() as r:
        if await token_store.count_tokens(r) > 0:
            return None
    secret = await create_token(rt, name="bootstrap-admin", role="admin")
    private.make_dir(rt.settings.data_dir)
    path = rt.settings.data_dir / BOOTSTRAP_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, private.FILE_MODE)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret
