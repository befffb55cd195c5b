"""Token changes write registry events: who made or revoked which token, how, with which role and expiry;
never the secret nor its hash. A refused or no-op revocation writes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from support.cli import run_cli

from lineage_reg.config import Settings
from lineage_reg.errors import BadInput
from lineage_reg.event_kinds import EVENT_KINDS, PROJECT_KINDS, REGISTRY_KINDS
from lineage_reg.records import EventRec
from lineage_reg.services import events as event_service
from lineage_reg.services import tokens
from lineage_reg.services.actors import hash_secret
from lineage_reg.services.lifecycle import open_runtime
from lineage_reg.services.runtime import Runtime, write


@pytest.fixture
async def rt(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings, events=False) as runtime:
        yield runtime


async def token_events(rt: Runtime) -> list[EventRec]:
    return [e async for e in event_service.replay(rt, after=0) if e.kind.startswith("token.")]


def test_token_kinds_are_registry_kinds() -> None:
    assert REGISTRY_KINDS == ("token.created", "token.revoked")
    assert set(EVENT_KINDS) == set(PROJECT_KINDS) | set(REGISTRY_KINDS)
    assert not set(PROJECT_KINDS) & set(REGISTRY_KINDS)


async def test_bootstrap_token_is_recorded_as_made_at_first_start(rt: Runtime, dialect: str) -> None:
    secret = await tokens.bootstrap_admin_token(rt)
    assert secret is not None
    [made] = await token_events(rt)
    assert (made.kind, made.actor, made.project_id, made.project) == ("token.created", None, None, "")
    assert made.payload == {"token": made.payload["token"], "name": "bootstrap-admin", "role": "admin",
                            "expiresAt": None, "via": "first start"}
    assert await tokens.bootstrap_admin_token(rt) is None  # a second start makes no token, so no event
    assert len(await token_events(rt)) == 1


async def test_created_and_revoked_say_who_how_and_what_never_the_secret(rt: Runtime, dialect: str) -> None:
    secret = await tokens.create_token(rt, name="ci", role="member", expires_in=timedelta(days=30),
                                       actor="ann", via="api")
    [row] = [r for r in await tokens.list_tokens(rt) if r.name == "ci"]
    assert await tokens.revoke_token(rt, token_id=row.id, actor="bob", via="api")

    made, revoked = await token_events(rt)
    assert (made.kind, made.actor, made.project_id, made.project) == ("token.created", "ann", None, "")
    assert made.payload == {"token": row.id, "name": "ci", "role": "member",
                            "expiresAt": row.expires_at.isoformat(), "via": "api"}
    assert (revoked.kind, revoked.actor, revoked.project_id) == ("token.revoked", "bob", None)
    assert revoked.payload == made.payload
    assert revoked.at >= made.at
    for event in (made, revoked):
        text = json.dumps(event.payload)
        assert secret not in text and hash_secret(secret) not in text and "lrt_" not in text


async def test_no_event_for_a_refused_create_or_a_no_op_revoke(rt: Runtime, dialect: str) -> None:
    with pytest.raises(BadInput):
        await tokens.create_token(rt, name="x", role="emperor")
    assert await token_events(rt) == []
    await tokens.create_token(rt, name="x", role="viewer")
    [row] = await tokens.list_tokens(rt)
    assert await tokens.revoke_token(rt, token_id=row.id)
    assert not await tokens.revoke_token(rt, token_id=row.id)  # already revoked
    assert not await tokens.revoke_token(rt, token_id=row.id + 1000)  # no such token
    assert [e.kind for e in await token_events(rt)] == ["token.created", "token.revoked"]


async def test_registry_event_takes_only_registry_kinds(rt: Runtime, dialect: str) -> None:
    async def work(tx):  # type: ignore[no-untyped-def]
        await tx.registry_event("member.added", user="x")

    with pytest.raises(ValueError, match="not a registry event kind"):
        await write(rt, actor=None, work=work)
    assert [e async for e in event_service.replay(rt, after=0)] == []


def test_the_command_line_is_recorded_as_such(settings: Settings, dialect: str) -> None:
    where = ("--data-dir", str(settings.data_dir), "--database-url", settings.effective_database_url)
    made = run_cli("token", "create", "--user", "alice", *where)
    assert made.returncode == 0, made.stderr
    [line] = run_cli("token", "list", *where).stdout.splitlines()
    token_id = int(line.split("\t")[0])
    assert run_cli("token", "revoke", str(token_id), *where).returncode == 0
    assert run_cli("token", "revoke", str(token_id), *where).returncode != 0  # nothing to revoke: no event

    async def read() -> list[EventRec]:
        async with open_runtime(settings, events=False, migrate=False) as rt:
            return await token_events(rt)

    import asyncio

    got = [(e.kind, e.actor, e.payload["name"], e.payload["role"], e.payload["via"]) for e in asyncio.run(read())]
    assert got == [("token.created", None, "alice", "user", "command line"),
                   ("token.revoked", None, "alice", "user", "command line")]
    assert made.stdout.strip() not in json.dumps([e.payload for e in asyncio.run(read())])
