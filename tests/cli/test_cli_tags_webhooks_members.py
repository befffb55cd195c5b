"""`lineage-reg tag`, `webhook` and `member` against a real server (typer's runner, real HTTP)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from conftest import Api, LiveServer
from typer.testing import CliRunner, Result

from lineage_reg.cli import app
from lineage_reg.client import Registry

SECRET = "s3cret-for-the-cli-tests-0123456789"
pytestmark = pytest.mark.dialects("sqlite")  # the commands are the subject, not the database


class Cli:
    def __init__(self, live: LiveServer, tmp_path: Path, token: str) -> None:
        self.env = {"LINEAGE_REG_URL": live.url, "LINEAGE_REG_TOKEN": token,
                    "LINEAGE_REG_CREDENTIALS": str(tmp_path / "creds.json")}
        self.runner = CliRunner()

    def run(self, *args: str) -> Result:
        return self.runner.invoke(app, list(args), env=self.env)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.exit_code == 0, (args, done.stdout, done.stderr)
        return done.stdout

    def json(self, *args: str) -> object:
        return json.loads(self.ok(*args, "--json"))


@pytest.fixture
def cli(live: LiveServer, tmp_path: Path, dialect: str) -> Cli:
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        src = tmp_path / "model.bin"
        src.write_bytes(b"weights")
        version = reg.log_artifact("churn", "clf", type="model", path=src)
        reg.link(version, "churn/prod", aliases=["staging"])
    return Cli(live, tmp_path, live.admin_token())


def tags_of(live: LiveServer, ref: str) -> list[str]:
    with Registry(live.url, live.admin_token()) as reg:
        return reg.resolve(ref).tags


def test_tag_add_and_rm_on_versions_and_collections(cli: Cli, live: LiveServer) -> None:
    assert cli.ok("tag", "add", "churn/clf:v0", "reviewed", "gpu").strip() == "churn/clf:v0: reviewed, gpu"
    assert cli.json("tag", "add", "churn/clf:v0", "gpu", "q3") == {"target": "churn/clf:v0",
                                                                   "tags": ["reviewed", "gpu", "q3"]}
    assert tags_of(live, "churn/clf:v0") == ["reviewed", "gpu", "q3"]
    assert cli.ok("tag", "rm", "churn/clf:v0", "gpu", "never-had").strip() == "churn/clf:v0: reviewed, q3"
    # Through a registered model's alias: the version it names.
    cli.ok("tag", "add", "churn/prod:staging", "candidate")
    assert tags_of(live, "churn/clf:v0") == ["reviewed", "q3", "candidate"]
    # A whole artifact, a whole registered model.
    assert cli.json("tag", "add", "churn/clf", "tabular")["tags"] == ["tabular"]  # type: ignore[index]
    assert cli.json("tag", "add", "churn/prod", "tier-1")["tags"] == ["tier-1"]  # type: ignore[index]
    with Registry(live.url, live.admin_token()) as reg:
        data = reg.query('{ artifact(project: "churn", name: "clf") { tags } '
                         'registeredModel(project: "churn", name: "prod") { tags } }')
    assert data == {"artifact": {"tags": ["tabular"]}, "registeredModel": {"tags": ["tier-1"]}}
    assert cli.ok("tag", "rm", "churn/prod", "tier-1").strip() == "churn/prod: (no tags)"

    missing = cli.run("tag", "add", "churn/nothing", "x")
    assert missing.exit_code == 3 and "no artifact or registered model churn/nothing" in missing.stderr
    bad = cli.run("tag", "add", "churn/clf:v0", "has space")
    assert bad.exit_code == 5 and "BAD_INPUT" in bad.stderr
    assert cli.run("tag", "add", "churn/clf:v0").exit_code == 2  # no tag at all: a usage error


def test_webhook_create_ls_update_ping_deliveries_rm(cli: Cli) -> None:
    created = cli.ok("webhook", "create", "churn", "https://hooks.example.com/lineage", "--kind", "alias.set",
                     "--kind", "alias.removed", "--collection", "churn/prod", "--secret", SECRET)
    assert created.startswith("created webhook ") and "-> https://hooks.example.com/lineage" in created
    assert len(created.splitlines()) == 1, created
    hook_id = created.split()[2]
    [hook] = cli.json("webhook", "ls", "churn")  # type: ignore[misc]
    assert hook["id"] == hook_id and hook["kinds"] == ["alias.removed", "alias.set"]
    assert hook["collection"] == "churn/prod" and hook["active"] is True and "secret" not in hook
    table = cli.ok("webhook", "ls", "churn")
    assert hook_id in table and "alias.removed, alias.set" in table

    updated = cli.json("webhook", "update", hook_id, "--paused", "--collection", "")
    assert updated == [{**hook, "active": False, "collection": None}]

    assert cli.ok("webhook", "ping", hook_id).startswith("ping ")
    [delivery] = cli.json("webhook", "deliveries", hook_id)  # type: ignore[misc]
    assert delivery["kind"] == "ping" and delivery["event"] is None

    assert cli.ok("webhook", "rm", hook_id).strip() == f"deleted webhook {hook_id}"
    assert cli.json("webhook", "ls", "churn") == []

    no_kind = cli.run("webhook", "create", "churn", "https://hooks.example.com/x", "--secret", SECRET)
    assert no_kind.exit_code == 2 and "--kind" in no_kind.stderr
    short = cli.run("webhook", "create", "churn", "https://hooks.example.com/x", "--kind", "alias.set",
                    "--secret", "short")
    assert short.exit_code == 5 and "BAD_INPUT" in short.stderr


def token_for(live: LiveServer, role: str, name: str) -> str:
    async def create() -> str:
        async with httpx.AsyncClient() as http:
            return await Api(live, http, live.admin_token()).token_for(role, name)

    return asyncio.run(create())


def test_member_add_ls_rm_and_what_a_member_may_then_do(cli: Cli, live: LiveServer, tmp_path: Path) -> None:
    alice = token_for(live, "user", "alice")
    as_alice = Cli(live, tmp_path, alice)
    assert as_alice.run("webhook", "ls", "churn").exit_code == 4  # no role in churn yet

    members = cli.json("member", "add", "churn", "alice", "--role", "admin")
    assert [(m["user"], m["role"]) for m in members] == [("alice", "admin")]  # type: ignore[index]
    assert "alice" in cli.ok("member", "ls", "churn")
    # A project admin manages the project's webhooks and members.
    assert as_alice.ok("webhook", "create", "churn", "https://hooks.example.com/a", "--kind", "alias.set",
                       "--secret", SECRET).startswith("created webhook")
    as_alice.ok("member", "add", "churn", "bob")
    assert {(m["user"], m["role"]) for m in as_alice.json("member", "ls", "churn")} == {  # type: ignore[union-attr]
        ("alice", "admin"), ("bob", "viewer")}

    assert [m["user"] for m in cli.json("member", "rm", "churn", "alice")] == ["bob"]  # type: ignore[index]
    assert as_alice.run("member", "ls", "churn").exit_code == 4
    assert cli.ok("member", "rm", "churn", "bob").strip() == "no members in churn (global roles still count)"
    assert cli.json("member", "ls", "churn") == []
    assert cli.run("member", "add", "churn", "carol", "--role", "owner").exit_code == 2  # not a project role
