"""Who a request acts as: the roles, the ``Actor`` a token stands for, and reading that from a header.

Roles are ordered viewer < member < admin. A token is looked up by its sha256 hash in one indexed read. The
answer is cached until a revocation or role change is announced (PostgreSQL: the NOTIFY of that
transaction, at once in the process that made it; SQLite: the access epoch that transaction bumps, read again
whenever data_version moves), so it applies to the next request or event in every process; and for at most
``CACHE_SECONDS`` in any case, which bounds what no process announces (a revocation typed into psql by hand).

Creating and revoking tokens: ``services/tokens.py``; roles in a project: ``services/members.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..clock import utcnow
from ..store import tokens as token_store
from .runtime import Runtime

ROLES = ("user", "viewer", "member", "admin")  # "user": no global rights, only its projects' roles
PROJECT_ROLES = ("viewer", "member", "admin")
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
    """What the token store keeps of a secret, and looks it up by."""
    return hashlib.sha256(secret.encode()).hexdigest()


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
