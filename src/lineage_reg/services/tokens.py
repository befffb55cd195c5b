"""API tokens: create, list, revoke, and the first admin token of a new registry.

A secret is shown once and stored as its sha256 hash (``actors.hash_secret``); who a token makes a request
act as is ``services/actors.py``. Tokens belong to no project: creating and revoking one writes a registry
event (``token.created``, ``token.revoked``; ``Tx.registry_event``) in the same transaction, saying who did it
(``actor``, None from the command line) and how (``via``), never the secret nor its hash.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from .. import private
from ..errors import BadInput
from ..store import tokens as token_store
from .actors import ROLES, hash_secret
from .runtime import Runtime, Tx, write

TOKEN_PREFIX = "lrt_"
BOOTSTRAP_FILE = "admin.token"


VIA_CLI = "command line"
VIA_FIRST_START = "first start"


def _described(token_id: int, name: str, role: str, expires_at: datetime | None, via: str | None) -> dict[str, Any]:
    """What a token event says about the token: never its secret nor the secret's hash."""
    return dict(token=token_id, name=name, role=role,
                expiresAt=expires_at.isoformat() if expires_at is not None else None, via=via)


async def create_token(rt: Runtime, *, name: str, role: str, expires_in: timedelta | None = None,
                       actor: str | None = None, via: str | None = None) -> str:
    """Create a token for user ``name`` and return its secret; the secret is not stored and can't be shown again.
    With ``expires_in`` the token stops working after that long. ``token.created`` records ``actor`` (who
    asked; None without an authenticated one, e.g. the command line) and ``via`` (e.g. ``VIA_CLI``)."""
    if role not in ROLES:
        raise BadInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not (0 < len(name) <= 128):
        raise BadInput("token name must be 1-128 characters")
    if expires_in is not None and expires_in.total_seconds() <= 0:
        raise BadInput("a token's lifetime must be positive, e.g. 30d or 12h")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)

    async def work(tx: Tx) -> None:
        expires_at = tx.at + expires_in if expires_in is not None else None
        token_id = await token_store.insert_token(tx.conn, name=name, secret_hash=hash_secret(secret), role=role,
                                                  at=tx.at, expires_at=expires_at)
        await tx.registry_event("token.created", **_described(token_id, name, role, expires_at, via))

    await write(rt, actor=actor, work=work)
    return secret


def parse_lifetime(text: str) -> timedelta:
    """'90d', '12h', '30m' -> a timedelta."""
    m = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text)
    if m is None or int(m.group(1)) == 0:
        raise BadInput(f"lifetime {text!r}: write a positive number of days, hours or minutes, e.g. 90d, 12h, 30m")
    unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
    return timedelta(**{unit: int(m.group(1))})


async def list_tokens(rt: Runtime) -> list[Any]:
    """Every API token (id, name, role, created_at, revoked_at, expires_at), oldest first; never a secret."""
    async with rt.db.reader() as r:
        return await token_store.list_tokens(r)


async def revoke_token(rt: Runtime, *, token_id: int, actor: str | None = None, via: str | None = None) -> bool:
    """False when there is no active token with that id (and then no event). Every process stops accepting it at
    once (the transaction changes access: ``Tx.change_access``); ``token.revoked`` records who and how."""

    async def work(tx: Tx) -> bool:
        token = await token_store.revoke_token(tx.conn, token_id, tx.at)
        if token is None:
            return False
        await tx.change_access()
        await tx.registry_event("token.revoked", **_described(token_id, token.name, token.role, token.expires_at, via))
        return True

    return await write(rt, actor=actor, work=work)


async def bootstrap_admin_token(rt: Runtime) -> str | None:
    """On a registry with no tokens, create one admin token and keep it (mode 0600) in the data dir.

    Writes need a token from the first start on; this is how the first one appears.
    """
    async with rt.db.reader() as r:
        if await token_store.count_tokens(r) > 0:
            return None
    secret = await create_token(rt, name="bootstrap-admin", role="admin", via=VIA_FIRST_START)
    private.make_dir(rt.settings.data_dir)
    path = rt.settings.data_dir / BOOTSTRAP_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, private.FILE_MODE)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret
