"""The SDK's tags, webhooks and members, and what resolving a registered model's reference tells: a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from conftest import Api, LiveServer

from lineage_reg.client import (
    AsyncRegistry,
    BadInput,
    Forbidden,
    NotFound,
    Registry,
    Version,
)

SECRET = "s3cret-for-the-sdk-tests-0123456789"
pytestmark = pytest.mark.dialects("sqlite")  # the SDK is the subject, not the database


@pytest.fixture
def reg(live: LiveServer, tmp_path: Path, dialect: str) -> Registry:
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn", "churn prediction")
        src = tmp_path / "model.bin"
        src.write_bytes(b"weights")
        v0 = reg.log_artifact("churn", "clf", type="model", path=src, description="the first try")
        src.write_bytes(b"weights, again")
        v1 = reg.log_artifact("churn", "clf", type="model", path=src)
        reg.query('mutation { createRegisteredModel(project: "churn", name: "prod", '
                  'description: "what serves churn scores") { name } }')
        reg.link(v0, "churn/prod", aliases=["staging", "production"])
        reg.link(v1, "churn/prod", aliases=["challenger"])
        yield reg


def token_for(live: LiveServer, role: str, name: str) -> str:
    async def create() -> str:
        async with httpx.AsyncClient() as http:
            return await Api(live, http, live.admin_token()).token_for(role, name)

    return asyncio.run(create())


def test_tags_on_versions_and_collections(reg: Registry) -> None:
    assert reg.add_tags("churn/clf:v0", ["reviewed", "gpu"]) == ["reviewed", "gpu"]
    assert reg.add_tags("churn/clf:v0", ["gpu", "q3"]) == ["reviewed", "gpu", "q3"]  # no tag twice
    assert reg.remove_tags("churn/clf:v0", ["gpu", "never-had"]) == ["reviewed", "q3"]
    assert reg.resolve("churn/clf:v0").tags == ["reviewed", "q3"]
    v1 = reg.resolve("churn/clf:v1")
    assert reg.add_tags(v1, ["fresh"]) == ["fresh"]  # a Version itself
    assert reg.add_tags("churn/prod:production", ["live"]) == ["reviewed", "q3", "live"]  # the version it names
    assert reg.add_tags("churn/clf", ["tabular"]) == ["tabular"]
    assert reg.add_tags("churn/prod", ["tier-1"]) == ["tier-1"]
    assert reg.remove_tags("churn/prod", ["tier-1"]) == []
    data = reg.query('{ artifact(project: "churn", name: "clf") { tags } '
                     'registeredModel(project: "churn", name: "prod") { tags } }')
    assert data == {"artifact": {"tags": ["tabular"]}, "registeredModel": {"tags": []}}
    with pytest.raises(NotFound, match="no artifact or registered model churn/nothing"):
        reg.add_tags("churn/nothing", ["x"])
    with pytest.raises(BadInput):
        reg.add_tags("churn/clf:v0", ["has space"])


async def test_tags_from_async_code(reg: Registry, live: LiveServer) -> None:
    async with AsyncRegistry(live.url, live.admin_token()) as aio:
        assert await aio.add_tags("churn/clf:v1", ["async"]) == ["async"]
        assert await aio.remove_tags("churn/clf:v1", ["async"]) == []


def test_webhooks(reg: Registry) -> None:
    hook = reg.create_webhook("churn", "https://hooks.example.com/lineage", kinds=["alias.set"], secret=SECRET,
                              collection="churn/prod", alias_pattern="prod*")
    assert (hook["project"], hook["url"], hook["kinds"], hook["collection"], hook["aliasPattern"], hook["active"]) \
        == ("churn", "https://hooks.example.com/lineage", ["alias.set"], "churn/prod", "prod*", True)
    assert reg.webhooks("churn") == [hook]
    paused = reg.update_webhook(hook["id"], active=False, alias_pattern="")
    assert paused == {**hook, "active": False, "aliasPattern": None}
    ping = reg.ping_webhook(hook["id"])
    assert ping["kind"] == "ping"
    assert [d["id"] for d in reg.deliveries(hook["id"])] == [ping["id"]]
    reg.delete_webhook(hook["id"])
    assert reg.webhooks("churn") == []
    with pytest.raises(BadInput):
        reg.create_webhook("churn", "https://hooks.example.com/x", kinds=["alias.set"], secret="short")


def test_members(reg: Registry, live: LiveServer) -> None:
    with Registry(live.url, token_for(live, "user", "alice")) as alice:
        with pytest.raises(Forbidden):
            alice.members("churn")
        [added] = reg.add_member("churn", "alice", "member")
        assert (added["user"], added["role"]) == ("alice", "member")
        assert [m["user"] for m in alice.members("churn")] == ["alice"]
        with pytest.raises(Forbidden):  # a member, not an admin of the project
            alice.add_member("churn", "bob")
        assert [(m["user"], m["role"]) for m in reg.add_member("churn", "alice", "admin")] == [("alice", "admin")]
        assert {m["user"] for m in alice.add_member("churn", "bob")} == {"alice", "bob"}
        assert [m["user"] for m in reg.remove_member("churn", "alice")] == ["bob"]
        with pytest.raises(Forbidden):
            alice.members("churn")


def test_resolving_a_registered_models_reference_tells_the_models_aliases_and_description(reg: Registry) -> None:
    """Defect 10: the artifact's aliases (latest) alone hid the model's (production, staging)."""
    v = reg.resolve("churn/prod:production")
    assert v.ref == "churn/clf:v0" and v.aliases == []  # the artifact's own: v1 is its latest
    assert (v.registered_model, v.model_aliases, v.model_description) == (
        "churn/prod", ["production", "staging"], "what serves churn scores")
    assert v.description == "the first try"
    by_index = reg.resolve("churn/prod:v1")
    assert (by_index.ref, by_index.aliases, by_index.model_aliases) == ("churn/clf:v1", ["latest"], ["challenger", "latest"])
    plain = reg.resolve("churn/clf:latest")
    assert (plain.registered_model, plain.model_aliases, plain.model_description) == (None, [], None)
    assert reg.resolve(v.id).id == v.id  # by id: still resolves
    assert isinstance(v, Version)


def test_the_new_queries_are_valid_and_within_the_default_budget() -> None:
    from graphql import parse, validate

    from lineage_reg.api import limits, measure
    from lineage_reg.api.schema import schema
    from lineage_reg.client import aio
    from lineage_reg.config import Settings

    settings = Settings()
    context = type("Context", (), {"rt": type("Runtime", (), {"settings": settings})()})()
    for name in ("RESOLVE_IN", "RESOLVE_BY_ALIAS", "TARGET_VERSION", "TARGET_COLLECTION", "ADD_TAGS", "REMOVE_TAGS",
                 "CREATE_WEBHOOK", "UPDATE_WEBHOOK", "DELETE_WEBHOOK", "PING_WEBHOOK", "WEBHOOKS", "DELIVERIES",
                 "ADD_MEMBER", "REMOVE_MEMBER", "MEMBERS"):
        document = parse(getattr(aio, name))
        assert validate(schema._schema, document) == [], name
        cost = max(measure.costs(schema._schema, document, {"f": 500}, limits.sizes_for(context)[0]).values())
        assert cost < settings.max_query_cost / 20, name
