"""The SDK's and the CLI's governance against a real server: policy, request, review, rollback, history."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer
from support.cli import run_cli

from lineage_reg.client import ApprovalRequired, AsyncRegistry, BadInput, Conflict, Forbidden, NotFound, Registry
from lineage_reg.services import tokens
from lineage_reg.services.lifecycle import open_runtime

pytestmark = pytest.mark.dialects("sqlite")  # the SDK is the subject, not the database
MODEL = "churn/churn-model"


def token(live: LiveServer, role: str, name: str) -> str:
    async def make() -> str:
        async with open_runtime(live.settings, events=False, migrate=False) as rt:
            return await tokens.create_token(rt, name=name, role=role)

    return asyncio.run(make())


@pytest.fixture
def reg(live: LiveServer, tmp_path: Path, dialect: str) -> Any:
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        src = tmp_path / "model.bin"
        for weights in (b"one", b"two", b"three"):
            src.write_bytes(weights)
            reg.link(reg.log_artifact("churn", "clf", type="model", path=src), MODEL)
        reg.set_alias(MODEL, "production", "churn/clf:v0")
        reg.set_approval_policy("production", 1, project="churn", approver_role="member")
        yield reg


def test_request_review_rollback_and_history(live: LiveServer, reg: Registry) -> None:
    with Registry(live.url, token(live, "member", "ci-bot")) as ci:
        with pytest.raises(ApprovalRequired, match="requestPromotion"):
            ci.set_alias(MODEL, "production", "churn/clf:v1")
        req = ci.request_promotion(MODEL, "production", "churn/clf:v1", reason="auc 0.93")
        assert (req["state"], req["version"], req["previous"], req["requestedBy"]) == (
            "PENDING", "churn/clf:v1", "churn/clf:v0", "ci-bot")
        with pytest.raises(Forbidden, match="own request"):
            ci.review(req)
        with pytest.raises(Conflict, match=req["id"]):
            ci.request_promotion(MODEL, "production", "churn/clf:v1")
    before_apply = reg.resolve(f"{MODEL}:production").ref
    done = reg.review(req["id"], comment="ship it")
    assert done["state"] == "APPLIED" and done["reviews"][0]["comment"] == "ship it"
    assert (before_apply, reg.resolve(f"{MODEL}:production").ref) == ("churn/clf:v0", "churn/clf:v1")
    assert [r["id"] for r in reg.promotions(project="churn", states=["applied"])] == [req["id"]]
    assert list(reg.promotions(collection=MODEL, states=["PENDING"])) == []

    assert reg.rollback(MODEL, "production", reason="latency regression") == "churn/clf:v0"
    moves = list(reg.alias_history(MODEL, "production"))
    assert [(m["version"], m["rollback"], m["request"]) for m in moves] == [
        ("churn/clf:v0", True, None), ("churn/clf:v1", False, req["id"]), ("churn/clf:v0", False, None)]
    assert [m["reason"] for m in moves][0] == "latency regression"
    assert list(reg.alias_history(MODEL, "production", limit=1))[0]["version"] == "churn/clf:v0"
    with pytest.raises(Conflict, match="was a rollback"):
        reg.rollback(MODEL, "production", reason="again")
    held = reg.alias_at(MODEL, "production", moves[1]["at"])
    assert held is not None and held.ref == "churn/clf:v1" and [f.path for f in held.files] == ["model.bin"]
    assert reg.alias_at(MODEL, "production", "2001-01-01T00:00:00") is None  # no zone: UTC
    with pytest.raises(BadInput, match="maintained by the server"):
        reg.rollback("churn/clf", "latest", reason="x")
    reg.set_alias("churn/clf", "staging", "churn/clf:v1")
    with pytest.raises(BadInput, match="nothing to roll back to"):
        reg.rollback("churn/clf", "staging", reason="x")  # it held nothing before its one move
    rejected = reg.request_promotion(MODEL, "production", "churn/clf:v2")
    with Registry(live.url, token(live, "member", "ann")) as ann:
        assert ann.review(rejected, approve=False, comment="no")["state"] == "REJECTED"
        cancelled = reg.request_promotion(MODEL, "production", "churn/clf:v2")
        with pytest.raises(Forbidden):
            ann.cancel_promotion(cancelled)
    assert reg.cancel_promotion(cancelled)["state"] == "CANCELLED"
    reg.remove_approval_policy("production", project="churn")
    with pytest.raises(NotFound):
        reg.remove_approval_policy("production", project="churn")


async def test_async_registry(live: LiveServer, reg: Registry) -> None:
    async with AsyncRegistry(live.url, live.admin_token()) as areg:
        policy = await areg.set_approval_policy("staging", 2, collection=MODEL, expires_after_hours=24)
        assert policy == {"alias": "staging", "requiredApprovals": 2, "approverRole": "admin",
                          "allowSelfApproval": False, "expiresAfterHours": 24, "scope": MODEL}
        req = await areg.request_promotion(MODEL, "staging", "churn/clf:v2")
        assert req["expiresAt"] and req["requiredApprovals"] == 2
        found = [r async for r in areg.promotions(project="churn")]
        assert [r["id"] for r in found] == [req["id"]]
        moves = [m async for m in areg.alias_history(MODEL, "production")]
        assert [m["version"] for m in moves] == ["churn/clf:v0"]
        assert (await areg.alias_at(MODEL, "production", moves[0]["at"])).ref == "churn/clf:v0"  # type: ignore[union-attr]


def test_cli_promote_rollback_history(live: LiveServer, reg: Registry, tmp_path: Path) -> None:
    admin = {"LINEAGE_REG_URL": live.url, "LINEAGE_REG_TOKEN": live.admin_token(),
             "LINEAGE_REG_CREDENTIALS": str(tmp_path / "none.json")}
    ci = {**admin, "LINEAGE_REG_TOKEN": token(live, "member", "ci-bot")}
    made = run_cli("promote", "request", MODEL, "production", "churn/clf:v2", "--reason", "auc 0.95", env=ci)
    assert made.returncode == 0, made.stderr
    assert "PENDING (0/1 approvals)" in made.stdout
    request_id = made.stdout.split()[1].rstrip(":")
    listed = run_cli("promote", "list", "--project", "churn", "--state", "PENDING", "--json", env=admin)
    assert [r["id"] for r in json.loads(listed.stdout)] == [request_id]
    table = run_cli("promote", "list", "--collection", MODEL, env=admin).stdout
    assert request_id in table and "0/1" in table
    own = run_cli("promote", "approve", request_id, env=ci)
    assert own.returncode != 0 and "own request" in own.stderr
    approved = run_cli("promote", "approve", request_id, "--comment", "ok", env=admin)
    assert approved.returncode == 0 and "APPLIED (1/1 approvals)" in approved.stdout
    assert run_cli("promote", "list", "--state", "PENDING", env=admin).stdout.strip() == "no promotion requests match"
    back = run_cli("rollback", MODEL, "production", "--reason", "errors up", env=admin)
    assert back.returncode == 0 and "rolled back to churn/clf:v0" in back.stdout
    twice = run_cli("rollback", MODEL, "production", "--reason", "again", env=admin)
    assert twice.returncode != 0 and "was a rollback" in twice.stderr
    no_reason = run_cli("rollback", MODEL, "production", env=admin)
    assert no_reason.returncode != 0 and "--reason" in no_reason.stderr
    moves = json.loads(run_cli("history", MODEL, "--alias", "production", "--json", env=admin).stdout)
    assert [(m["version"], m["how"]) for m in moves] == [
        ("churn/clf:v0", "rollback"), ("churn/clf:v2", f"request {request_id}"), ("churn/clf:v0", "")]
    at = run_cli("history", MODEL, "--alias", "production", "--at", moves[1]["at"], env=admin)
    assert at.returncode == 0 and at.stdout.strip().endswith("churn/clf:v2"), at.stdout
    lonely = run_cli("history", MODEL, "--at", "2026-11-30T12:00", env=admin)
    assert lonely.returncode != 0 and "--alias" in lonely.stderr
    rejected = run_cli("promote", "request", MODEL, "production", "churn/clf:v1", env=ci).stdout.split()[1].rstrip(":")
    assert "REJECTED" in run_cli("promote", "reject", rejected, "--comment", "no", env=admin).stdout
    cancel = run_cli("promote", "request", MODEL, "production", "churn/clf:v1", env=ci).stdout.split()[1].rstrip(":")
    assert "CANCELLED" in run_cli("promote", "cancel", cancel, env=ci).stdout


def test_comments_from_sdk_and_cli(live: LiveServer, reg: Registry, tmp_path: Path) -> None:
    env = {"LINEAGE_REG_URL": live.url, "LINEAGE_REG_TOKEN": token(live, "viewer", "vera"),
           "LINEAGE_REG_CREDENTIALS": str(tmp_path / "none.json")}
    said = reg.comment("churn/clf:v1", "recall on EU?")
    assert (said["author"], said["text"]) == ("bootstrap-admin", "recall on EU?")
    reg.comment(MODEL, "card: add the eval set")
    req = reg.request_promotion(MODEL, "production", "churn/clf:v2")
    reg.comment(req, "waiting for the EU numbers")
    done = run_cli("comment", "churn/clf:v1", "fixed in v2", env=env)  # a viewer comments
    assert done.returncode == 0 and "as vera" in done.stdout, done.stderr
    listed = json.loads(run_cli("comment", "churn/clf:v1", "--json", env=env).stdout)
    assert [(c["author"], c["text"]) for c in listed] == [("bootstrap-admin", "recall on EU?"), ("vera", "fixed in v2")]
    assert [c["text"] for c in reg.comments(MODEL)] == ["card: add the eval set"]
    assert [c["text"] for c in reg.comments(req)] == ["waiting for the EU numbers"]
    assert reg.edit_comment(said, "recall on EU? (v1)")["editedAt"]
    reg.delete_comment(said["id"])
    assert [c["author"] for c in reg.comments("churn/clf:v1", limit=5)] == ["vera"]
    admins = next(iter(reg.comments(MODEL)))
    with Registry(live.url, token(live, "viewer", "vera")) as vera:
        with pytest.raises(Forbidden, match="only its author"):
            vera.delete_comment(admins)  # not hers
        with pytest.raises(NotFound):
            vera.delete_comment(said["id"])  # deleted above


def test_update_annotations_from_the_sdk(reg: Registry) -> None:
    assert reg.update_version("churn/clf:v1", description="retrained", metadata={"auc": 0.93}) == {
        "ref": "churn/clf:v1", "description": "retrained", "metadata": {"auc": 0.93}}
    assert reg.resolve("churn/clf:v1").metadata == {"auc": 0.93}
    assert reg.update_artifact("churn/clf", description="weights")["description"] == "weights"
    assert reg.update_model(MODEL, name="churn-prod", description="prod") == {"name": "churn-prod",
                                                                              "description": "prod"}
    assert reg.resolve("churn/churn-prod:production").ref == "churn/clf:v0"
    with pytest.raises(Conflict):
        reg.update_model("churn/churn-prod", name="clf")


def test_model_cards_from_the_sdk(reg: Registry) -> None:
    assert reg.card(MODEL) == {"markdown": "", "fields": {}, "updatedAt": None, "updatedBy": None}
    card = reg.update_card(MODEL, markdown="# Churn", fields={"license": "mit"})
    assert (card["markdown"], card["fields"], card["updatedBy"]) == ("# Churn", {"license": "mit"}, "bootstrap-admin")
    reg.update_card("churn/clf:v1", fields={"limitations": "EU only"})
    assert reg.card(reg.resolve("churn/clf:v1"))["fields"] == {"limitations": "EU only"}
    assert reg.card(MODEL)["markdown"] == "# Churn"


def test_export_card_from_sdk_and_cli(live: LiveServer, reg: Registry, tmp_path: Path) -> None:
    reg.update_card(MODEL, markdown="# Churn", fields={"license": "mit"})
    text = reg.export_card(f"{MODEL}:production")
    assert text.startswith("---\n") and '"license": "mit"' in text and text.rstrip().endswith("# Churn")
    assert reg.export_card(f"{MODEL}:production", "markdown") == "# Churn"  # through the model: its card
    assert reg.export_card("churn/clf:v0", "markdown") == ""  # the version's own card: never written
    with pytest.raises(BadInput, match="huggingface"):
        reg.export_card(f"{MODEL}:production", "pdf")
    env = {"LINEAGE_REG_URL": live.url, "LINEAGE_REG_TOKEN": live.admin_token(),
           "LINEAGE_REG_CREDENTIALS": str(tmp_path / "none.json")}
    done = run_cli("card", "export", f"{MODEL}:production", "-o", str(tmp_path / "README.md"), env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "README.md").read_text() == text
    shown = run_cli("card", "show", MODEL, env=env)
    assert "# Churn" in shown.stdout and '"license": "mit"' in shown.stdout
