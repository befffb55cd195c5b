"""Governance: approval policies block direct moves (admins too), promotion requests are reviewed and applied in
the deciding review's transaction, rollback is the emergency brake, and aliasAt / aliasHistory answer from the
event log. Races end in one state on both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import Api, snapshot
from lineage_reg import ids
from lineage_reg.clock import utcnow
from lineage_reg.services import promotions
from support.two_projects import user
from support.versions import CREATE_VERSION, log_version, manifest
from support.ws import connected, subscribe

MODEL = "churn/churn-model"
POLICY = """mutation($alias: String!, $n: Int!, $p: String, $c: String, $role: String! = "admin",
  $own: Boolean! = false, $hours: Int) { setApprovalPolicy(alias: $alias, requiredApprovals: $n, project: $p,
  collection: $c, approverRole: $role, allowSelfApproval: $own, expiresAfterHours: $hours) {
  alias requiredApprovals approverRole allowSelfApproval expiresAfterHours scope } }"""
REQUEST_FIELDS = """id collection alias state reason requestedBy requestedAt requiredApprovals decidedAt expiresAt
  version { ref } previous { ref } reviews { reviewer decision comment at }"""
REQUEST = ("mutation($c: String! = \"churn/churn-model\", $a: String! = \"production\", $v: String!, $r: String) "
           "{ requestPromotion(collection: $c, alias: $a, version: $v, reason: $r) { " + REQUEST_FIELDS + " } }")
REVIEW = ("mutation($id: ID!, $d: ReviewDecision! = APPROVE, $m: String) { reviewPromotion(request: $id, "
          "decision: $d, comment: $m) { " + REQUEST_FIELDS + " } }")
CANCEL = "mutation($id: ID!) { cancelPromotion(request: $id) { state decidedAt } }"
SET_ALIAS = ('mutation($a: String! = "production", $v: String!) { setAlias(input: {collection: "churn/churn-model", '
             "alias: $a, version: $v}) { name } }")
ROLLBACK = ('mutation($a: String! = "production", $r: String! = "v1 is broken") { rollbackAlias(collection: '
            '"churn/churn-model", alias: $a, reason: $r) { name protected version { ref } } }')
HOLDER = '{ resolve(ref: "churn/churn-model:production") { ref } }'
HISTORY = """query($a: String! = "production") { aliasHistory(collection: "churn/churn-model", alias: $a) {
  totalCount edges { node { at actor rollback reason version { ref } previous { ref } event { kind sequence }
  request { id state } } } } }"""
EVENTS = '{ events(project: "churn", first: 500) { edges { node { kind alias actor payload } } } }'


async def setup(api: Api, versions: int = 3) -> list[str]:
    """churn/classifier v0..v{n-1}, each linked into churn/churn-model (links v0.. in the same order)."""
    await api('mutation { createProject(name: "churn") { id } }')
    refs = []
    for i in range(versions):
        v = await log_version(api, {"model.bin": f"weights-{i}".encode()})
        await api('mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "churn/churn-model"}) '
                  "{ id } }", v=v["ref"])
        refs.append(str(v["ref"]))
    return refs


def message(err: Any) -> str:
    return str(err.errors[0]["message"])


async def kinds(api: Api, prefix: str = "") -> list[str]:
    return [e["node"]["kind"] for e in (await api(EVENTS))["events"]["edges"] if e["node"]["kind"].startswith(prefix)]


async def holder(api: Api) -> str | None:
    found = (await api.raw(HOLDER)).get("data") or {}
    return (found.get("resolve") or {}).get("ref")


async def test_a_policy_refuses_every_direct_move_admins_included(api: Api, dialect: str) -> None:
    v = await setup(api)
    await api(SET_ALIAS, v=v[0])
    policy = (await api(POLICY, alias="production", n=2, p="churn", role="member"))["setApprovalPolicy"]
    assert policy == {"alias": "production", "requiredApprovals": 2, "approverRole": "member",
                      "allowSelfApproval": False, "expiresAfterHours": None, "scope": "churn"}
    link_v0 = (await api('{ registeredModel(project: "churn", name: "churn-model") { versions { edges { node { id '
                         "ref } } } } }"))["registeredModel"]["versions"]["edges"][-1]["node"]["id"]
    before = await snapshot(api.server)
    refused = [
        (SET_ALIAS, dict(v=v[1])),
        ('mutation { removeAlias(collection: "churn/churn-model", alias: "production") }', {}),
        ('mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "churn/churn-model", '
         'aliases: ["production"]}) { id } }', dict(v=v[2])),
        ('mutation { setAlias(input: {collection: "churn/classifier", alias: "production", '
         'version: "churn/classifier:v1"}) { name } }', {}),  # the project's policy covers its artifacts too
        (CREATE_VERSION, dict(input={"project": "churn", "artifact": "classifier", "type": "model",
                                     "files": manifest({"new.bin": b"new"}), "aliases": ["production"]})),
        ('mutation { deleteArtifactVersion(version: "churn/classifier:v0") { id } }', {}),  # it holds production
        ("mutation($l: ID!) { unlinkVersion(link: $l) }", dict(l=link_v0)),
    ]
    for query, variables in refused:
        err = await api.error(query, **variables)
        assert err.code == "APPROVAL_REQUIRED", (query, err.errors)
        assert "requestPromotion" in message(err) and "rollbackAlias" in message(err)
    assert await snapshot(api.server) == before
    # Other aliases move as before; a collection can be exempted with 0 approvals.
    assert (await api(SET_ALIAS, a="staging", v=v[1]))["setAlias"]["name"] == "staging"
    await api(POLICY, alias="production", n=0, c=MODEL)
    assert (await api(SET_ALIAS, v=v[1]))["setAlias"]["name"] == "production"
    assert await holder(api) == v[1]
    model = await api('{ registeredModel(project: "churn", name: "churn-model") { approvalPolicies { alias scope '
                      "requiredApprovals } } }")
    assert model["registeredModel"]["approvalPolicies"] == [
        {"alias": "production", "scope": MODEL, "requiredApprovals": 0}]
    assert await api('mutation { removeApprovalPolicy(collection: "churn/churn-model", alias: "production") }')
    assert (await api.error(SET_ALIAS, v=v[2])).code == "APPROVAL_REQUIRED"  # the project's policy again
    assert await kinds(api, "approval_policy.") == ["approval_policy.set", "approval_policy.set",
                                                    "approval_policy.removed"]


async def test_request_review_and_apply_in_the_deciding_review(api: Api, dialect: str) -> None:
    v = await setup(api)
    await api(SET_ALIAS, v=v[0])
    await api(POLICY, alias="production", n=2, p="churn", role="member")
    ci = await user(api, "ci", "churn", "member")
    ann = await user(api, "ann", "churn", "member")
    bob = await user(api, "bob", "churn", "admin")
    vera = await user(api, "vera", "churn", "viewer")
    req = (await ci(REQUEST, v=v[1], r="auc 0.93 on holdout (was 0.91)"))["requestPromotion"]
    assert (req["state"], req["collection"], req["alias"], req["requestedBy"], req["requiredApprovals"]) == (
        "PENDING", MODEL, "production", "ci", 2)
    assert req["version"] == {"ref": v[1]} and req["previous"] == {"ref": v[0]} and req["reviews"] == []
    assert req["reason"] == "auc 0.93 on holdout (was 0.91)" and req["expiresAt"] is None

    before = await snapshot(api.server)
    assert (await ci.error(REVIEW, id=req["id"])).code == "FORBIDDEN"  # one's own request
    assert (await vera.error(REVIEW, id=req["id"])).code == "FORBIDDEN"  # a viewer never reviews
    assert (await ci.error(REQUEST, v=v[1])).code == "CONFLICT"  # one pending request per version
    assert (await ann.error(CANCEL, id=req["id"])).code == "FORBIDDEN"  # not hers, and she's no admin
    assert await snapshot(api.server) == before

    first = (await ann(REVIEW, id=req["id"], m="looks good"))["reviewPromotion"]
    assert first["state"] == "PENDING" and await holder(api) == v[0]
    again = (await ann(REVIEW, id=req["id"], m="really"))["reviewPromotion"]  # replaces hers: still one approval
    assert again["state"] == "PENDING" and [r["comment"] for r in again["reviews"]] == ["really"]
    model = await api('{ registeredModel(project: "churn", name: "churn-model") { pendingPromotions { id } } }')
    assert model["registeredModel"]["pendingPromotions"] == [{"id": req["id"]}]
    done = (await bob(REVIEW, id=req["id"]))["reviewPromotion"]
    assert done["state"] == "APPLIED" and done["decidedAt"] and done["previous"] == {"ref": v[0]}
    assert sorted(r["reviewer"] for r in done["reviews"]) == ["ann", "bob"]
    assert await holder(api) == v[1]
    assert (await ann.error(REVIEW, id=req["id"])).code == "CONFLICT"  # decided
    assert (await ci.error(CANCEL, id=req["id"])).code == "CONFLICT"

    governance = [k for k in await kinds(api) if k.startswith(("promotion.", "alias.set"))]
    assert governance[-6:] == ["promotion.requested", "promotion.reviewed", "promotion.reviewed",
                               "promotion.reviewed", "alias.set", "promotion.applied"]
    move = (await api(HISTORY))["aliasHistory"]["edges"][0]["node"]
    assert move["request"] == {"id": req["id"], "state": "APPLIED"} and move["actor"] == "bob"
    assert (move["version"], move["previous"]) == ({"ref": v[1]}, {"ref": v[0]})
    listed = await api('{ promotionRequests(project: "churn", states: [APPLIED]) { totalCount edges { node { id } '
                       "} } }")
    assert listed["promotionRequests"]["totalCount"] == 1
    node = await vera('query($id: ID!) { node(id: $id) { ... on PromotionRequest { state } } }', id=req["id"])
    assert node["node"] == {"state": "APPLIED"}


async def test_reject_cancel_and_request_rules(api: Api, dialect: str) -> None:
    v = await setup(api)
    await api(POLICY, alias="production", n=1, c=MODEL, own=True)
    ci = await user(api, "ci", "churn", "member")
    req = (await ci(REQUEST, v=v[1]))["requestPromotion"]
    assert req["previous"] is None  # production held nothing yet
    rejected = (await api(REVIEW, id=req["id"], d="REJECT", m="auc regressed on slice EU"))["reviewPromotion"]
    assert rejected["state"] == "REJECTED" and await holder(api) is None
    again = (await ci(REQUEST, v=v[1]))["requestPromotion"]  # a decided request no longer blocks a new one
    assert (await ci(CANCEL, id=again["id"]))["cancelPromotion"]["state"] == "CANCELLED"
    third = (await ci(REQUEST, v=v[2]))["requestPromotion"]
    assert (await api(CANCEL, id=third["id"]))["cancelPromotion"]["state"] == "CANCELLED"  # an admin cancels any
    # Self-approval allowed by this policy: the admin requests and approves alone.
    own = (await api(REQUEST, v=v[2]))["requestPromotion"]
    assert (await api(REVIEW, id=own["id"]))["reviewPromotion"]["state"] == "APPLIED"
    assert await holder(api) == v[2]

    pending = (await api(CREATE_VERSION, input={"project": "churn", "artifact": "classifier", "type": "model",
                                                "files": manifest({"p.bin": b"pending"})}))
    pending_id = pending["createArtifactVersion"]["version"]["id"]
    unlinked = await log_version(api, {"u.bin": b"never linked"})
    before = await snapshot(api.server)
    for variables, code in [(dict(v=pending_id), "BAD_INPUT"), (dict(v=str(unlinked["ref"])), "BAD_INPUT"),
                            (dict(v=v[2]), "BAD_INPUT"),  # already holds it
                            (dict(v=v[1], a="staging"), "BAD_INPUT"),  # no policy governs staging
                            (dict(v=v[1], a="latest"), "BAD_INPUT"), (dict(v=v[1], a="Bad Alias"), "BAD_INPUT"),
                            (dict(v=v[1], c="churn/nope"), "NOT_FOUND"), (dict(v="churn/classifier:v99"), "NOT_FOUND"),
                            (dict(v=v[1], r="x" * 2001), "BAD_INPUT")]:
        assert (await ci.error(REQUEST, **variables)).code == code, variables
    assert (await api.error(REVIEW, id=ids.encode("PromotionRequest", 10**6))).code == "NOT_FOUND"
    assert (await api.error(REVIEW, id=ids.encode("Run", 1))).code == "BAD_INPUT"
    assert await snapshot(api.server) == before
    assert await kinds(api, "promotion.") == [
        "promotion.requested", "promotion.reviewed", "promotion.rejected", "promotion.requested",
        "promotion.cancelled", "promotion.requested", "promotion.cancelled", "promotion.requested",
        "promotion.reviewed", "promotion.applied"]


async def test_policy_validation_and_roles(api: Api, dialect: str) -> None:
    await setup(api, versions=1)
    member = await user(api, "mia", "churn", "member")
    await api('mutation { createProject(name: "other") { id } }')
    outsider = await user(api, "otto", "other", "admin")
    before = await snapshot(api.server)
    base: dict[str, Any] = dict(alias="production", n=1, p="churn")
    for change in [{"n": 0}, {"n": 11}, {"n": -1}, {"role": "viewer"}, {"role": "owner"}, {"alias": "latest"},
                   {"alias": "Bad Alias"}, {"hours": 0}, {"hours": 24 * 367}, {"c": MODEL}, {"p": None}]:
        assert (await api.error(POLICY, **{**base, **change})).code == "BAD_INPUT", change
    assert (await api.error(POLICY, **{**base, "p": None, "c": "churn/nope"})).code == "NOT_FOUND"
    assert (await member.error(POLICY, **base)).code == "FORBIDDEN"
    assert (await outsider.error(POLICY, **base)).code == "NOT_FOUND"
    assert (await api.error('mutation { removeApprovalPolicy(project: "churn", alias: "production") }')).code == \
        "NOT_FOUND"
    assert await snapshot(api.server) == before


async def test_deleting_or_unlinking_a_requested_version_cancels_its_requests(api: Api, dialect: str) -> None:
    v = await setup(api)
    await api(POLICY, alias="production", n=1, p="churn")
    await api(POLICY, alias="staging", n=1, p="churn")
    r1 = (await api(REQUEST, v=v[1]))["requestPromotion"]
    r2 = (await api(REQUEST, v=v[1], a="staging"))["requestPromotion"]
    r3 = (await api(REQUEST, v=v[2]))["requestPromotion"]
    await api('mutation { deleteArtifactVersion(version: "churn/classifier:v1") { id } }')
    links = (await api('{ registeredModel(project: "churn", name: "churn-model") { versions { edges { node { id '
                       "ref version { ref } } } } } }"))["registeredModel"]["versions"]["edges"]
    link_v2 = next(e["node"]["id"] for e in links if e["node"]["version"]["ref"] == v[2])
    await api("mutation($l: ID!) { unlinkVersion(link: $l) }", l=link_v2)
    states = await api('{ promotionRequests(project: "churn") { edges { node { id state } } } }')
    assert {e["node"]["id"]: e["node"]["state"] for e in states["promotionRequests"]["edges"]} == {
        r1["id"]: "CANCELLED", r2["id"]: "CANCELLED", r3["id"]: "CANCELLED"}
    payloads = [e["node"]["payload"] for e in (await api(EVENTS))["events"]["edges"]
                if e["node"]["kind"] == "promotion.cancelled"]
    assert [p["why"] for p in payloads] == ["version deleted", "version deleted", "version unlinked"]


async def test_expired_requests(api: Api, dialect: str) -> None:
    v = await setup(api)
    await api(POLICY, alias="production", n=1, p="churn", hours=1)
    req = (await api(REQUEST, v=v[1]))["requestPromotion"]
    assert req["expiresAt"] and req["state"] == "PENDING"
    rt = api.server.runtime  # type: ignore[union-attr]
    assert await promotions.expire_due(rt) == 0  # not due yet
    past = utcnow() - timedelta(seconds=1)

    async def expire_now(conn: Any) -> None:
        await conn.execute(sa.text("UPDATE promotion_request SET expires_at = :t"), {"t": past})

    await rt.db.transaction(expire_now)
    # Visible at once, before any sweep: the state is computed from expiresAt.
    got = await api('{ promotionRequests(project: "churn", states: [EXPIRED]) { totalCount edges { node { id state '
                    "} } } }")
    assert got["promotionRequests"]["edges"] == [{"node": {"id": req["id"], "state": "EXPIRED"}}]
    assert (await api('{ promotionRequests(project: "churn", states: [PENDING]) { totalCount } }'))[
        "promotionRequests"]["totalCount"] == 0
    before = await snapshot(api.server)
    err = await api.error(REVIEW, id=req["id"])
    assert err.code == "CONFLICT" and "expired" in message(err)
    assert await snapshot(api.server) == before
    assert await promotions.expire_due(rt) == 1
    assert await promotions.expire_due(rt) == 0  # recorded once
    assert await kinds(api, "promotion.") == ["promotion.requested", "promotion.expired"]
    fresh = (await api(REQUEST, v=v[1]))["requestPromotion"]  # the expired one no longer blocks
    assert fresh["state"] == "PENDING"


async def test_rollback_is_the_emergency_brake(api: Api, dialect: str) -> None:
    v = await setup(api)
    member = await user(api, "mia", "churn", "member")
    assert (await api.error(ROLLBACK)).code == "NOT_FOUND"  # never set
    await api(SET_ALIAS, v=v[0])
    assert (await api.error(ROLLBACK)).code == "BAD_INPUT"  # held nothing before
    await api(SET_ALIAS, v=v[1])
    await api(POLICY, alias="production", n=2, p="churn")
    before = await snapshot(api.server)
    assert (await member.error(ROLLBACK)).code == "FORBIDDEN"  # production is protected: admins only
    assert (await api.error(ROLLBACK, r="  ")).code == "BAD_INPUT"
    assert (await api.error(ROLLBACK, r="x" * 2001)).code == "BAD_INPUT"
    assert await snapshot(api.server) == before
    back = (await api(ROLLBACK))["rollbackAlias"]
    assert back == {"name": "production", "protected": True, "version": {"ref": v[0]}}
    assert await holder(api) == v[0]
    before = await snapshot(api.server)
    again = await api.error(ROLLBACK, r="pulled the brake too")  # a second rollback would put v1 back
    assert again.code == "CONFLICT" and "was a rollback" in message(again)
    assert await snapshot(api.server) == before
    moves = (await api(HISTORY))["aliasHistory"]
    assert moves["totalCount"] == 3
    assert [(m["node"]["rollback"], m["node"]["reason"], m["node"]["version"]["ref"]) for m in moves["edges"]] == [
        (True, "v1 is broken", v[0]), (False, None, v[1]), (False, None, v[0])]
    rolled = [e["node"] for e in (await api(EVENTS))["events"]["edges"] if e["node"]["kind"] == "alias.rolled_back"]
    assert [r["payload"]["reason"] for r in rolled] == ["v1 is broken"]
    # An ordinary alias: a member may roll it back (the policy doesn't stop it; nothing protects it).
    await api(POLICY, alias="staging", n=1, p="churn")
    await api(POLICY, alias="staging", n=0, c=MODEL)
    await member(SET_ALIAS, a="staging", v=v[0])
    await member(SET_ALIAS, a="staging", v=v[2])
    await api(POLICY, alias="staging", n=1, c=MODEL)
    assert (await member(ROLLBACK, a="staging"))["rollbackAlias"]["version"] == {"ref": v[0]}
    # Back to a version deleted since: refused, naming it.
    await api(POLICY, alias="staging", n=0, c=MODEL)
    await member(SET_ALIAS, a="staging", v=v[1])
    await member(SET_ALIAS, a="staging", v=v[2])
    await api('mutation { deleteArtifactVersion(version: "churn/classifier:v1") { id } }')
    err = await api.error(ROLLBACK, a="staging")
    assert err.code == "BAD_INPUT" and v[1] in message(err)


async def test_alias_at_and_history_from_the_event_log(api: Api, dialect: str) -> None:
    v = await setup(api)
    assert (await api(HISTORY))["aliasHistory"] == {"totalCount": 0, "edges": []}
    for ref in (v[0], v[1]):
        await api(SET_ALIAS, v=ref)
    await api('mutation { removeAlias(collection: "churn/churn-model", alias: "production") }')
    await api(SET_ALIAS, v=v[2])
    await api('mutation { deleteArtifactVersion(version: "churn/classifier:v2") { id } }')  # drops production
    moves = [e["node"] for e in (await api(HISTORY))["aliasHistory"]["edges"]]
    assert [(m["event"]["kind"], (m["version"] or {}).get("ref"), (m["previous"] or {}).get("ref")) for m in moves] \
        == [("alias.removed", None, v[2]), ("alias.set", v[2], None), ("alias.removed", None, v[1]),
            ("alias.set", v[1], v[0]), ("alias.set", v[0], None)]
    at = 'query($t: DateTime!) { aliasAt(collection: "churn/churn-model", alias: "production", at: $t) { ref state } }'

    async def held(t: str) -> Any:
        found = (await api(at, t=t))["aliasAt"]
        return found and (found["ref"], found["state"])

    times = [m["at"] for m in reversed(moves)]  # oldest first
    assert await held("2000-01-01T00:00:00Z") is None
    assert await held(times[0]) == (v[0], "COMMITTED")
    assert await held(times[1]) == (v[1], "COMMITTED")
    assert await held(times[2]) is None  # removed
    assert await held(times[3]) == (v[2], "DELETED")  # held then, deleted since
    assert await held(times[4]) is None
    paged = await api('{ aliasHistory(collection: "churn/churn-model", alias: "production", first: 2) { '
                      "pageInfo { hasNextPage endCursor } edges { node { at } } } }")
    nxt = await api('query($c: String!) { aliasHistory(collection: "churn/churn-model", alias: "production", '
                    "first: 2, after: $c) { edges { node { at } } } }",
                    c=paged["aliasHistory"]["pageInfo"]["endCursor"])
    assert [e["node"]["at"] for e in paged["aliasHistory"]["edges"] + nxt["aliasHistory"]["edges"]] == \
        [m["at"] for m in moves[:4]]
    latest = (await api(HISTORY, a="latest"))["aliasHistory"]
    assert latest["totalCount"] == 5  # one per link; deleting v2 removed it there and moved it back to v1


async def test_two_reviewers_at_once_apply_the_move_once(api: Api, dialect: str) -> None:
    v = await setup(api)
    await api(POLICY, alias="production", n=2, p="churn", role="member")
    reviewers = [await user(api, f"r{i}", "churn", "member") for i in range(4)]
    req = (await api(REQUEST, v=v[1]))["requestPromotion"]
    bodies = await asyncio.gather(*(r.raw(REVIEW, {"id": req["id"]}) for r in reviewers))
    ok = [b for b in bodies if not b.get("errors")]
    assert all(b["errors"][0]["extensions"]["code"] == "CONFLICT" for b in bodies if b.get("errors"))
    assert [b["data"]["reviewPromotion"]["state"] for b in ok].count("APPLIED") == 1
    assert len(ok) == 2  # the two that got there first; the others found it APPLIED
    assert await holder(api) == v[1]
    assert (await kinds(api)).count("promotion.applied") == 1
    moved = [e["node"] for e in (await api(EVENTS))["events"]["edges"] if e["node"]["kind"] == "alias.set"]
    assert [m["payload"].get("request") for m in moved if m["alias"] == "production"] == [req["id"]]


async def test_approval_racing_a_cancel_ends_in_one_state(api: Api, dialect: str) -> None:
    v = await setup(api)
    await api(POLICY, alias="production", n=1, p="churn", role="member")
    ci = await user(api, "ci", "churn", "member")
    ann = await user(api, "ann", "churn", "member")
    for round_ in range(3):
        req = (await ci(REQUEST, v=v[1 + round_ % 2]))["requestPromotion"]
        review, cancel = await asyncio.gather(ann.raw(REVIEW, {"id": req["id"]}), ci.raw(CANCEL, {"id": req["id"]}))
        assert bool(review.get("errors")) != bool(cancel.get("errors")), (review, cancel)
        loser = review if review.get("errors") else cancel
        assert loser["errors"][0]["extensions"]["code"] == "CONFLICT"
        state = (await api('query($id: ID!) { node(id: $id) { ... on PromotionRequest { state } } }',
                           id=req["id"]))["node"]["state"]
        if review.get("errors"):
            assert state == "CANCELLED" and await holder(api) != v[1 + round_ % 2]
        else:
            assert state == "APPLIED" and await holder(api) == v[1 + round_ % 2]


async def test_concurrent_requests_make_one_pending(api: Api, dialect: str) -> None:
    v = await setup(api)
    await api(POLICY, alias="production", n=1, p="churn")
    bodies = await asyncio.gather(*(api.raw(REQUEST, {"v": v[1]}) for _ in range(8)))
    made = [b["data"]["requestPromotion"]["id"] for b in bodies if not b.get("errors")]
    assert len(made) == 1
    for b in bodies:
        if b.get("errors"):
            assert b["errors"][0]["extensions"]["code"] == "CONFLICT"
            assert b["errors"][0]["extensions"]["request"] == made[0]
    listed = await api('{ promotionRequests(collection: "churn/churn-model") { totalCount } }')
    assert listed["promotionRequests"]["totalCount"] == 1


async def test_an_approved_request_applies_on_top_of_whatever_holds_the_alias_now(api: Api, dialect: str) -> None:
    v = await setup(api)
    await api(SET_ALIAS, v=v[0])
    await api(POLICY, alias="production", n=1, p="churn")
    ci = await user(api, "ci", "churn", "member")
    to_v1 = (await ci(REQUEST, v=v[1]))["requestPromotion"]
    to_v2 = (await ci(REQUEST, v=v[2]))["requestPromotion"]
    assert to_v1["previous"] == to_v2["previous"] == {"ref": v[0]}
    assert (await api(REVIEW, id=to_v1["id"]))["reviewPromotion"]["previous"] == {"ref": v[0]}
    applied = (await api(REVIEW, id=to_v2["id"]))["reviewPromotion"]  # still valid after production moved
    assert applied["state"] == "APPLIED" and applied["previous"] == {"ref": v[1]}  # what it replaced
    assert await holder(api) == v[2]
    await api(ROLLBACK)
    assert await holder(api) == v[1]


@pytest.mark.network
async def test_governance_events_reach_subscriptions_and_webhooks(api: Api, dialect: str) -> None:
    v = await setup(api)
    await api(POLICY, alias="production", n=1, p="churn", own=True)
    kinds_ = ["promotion.requested", "promotion.reviewed", "promotion.applied", "alias.rolled_back"]
    hook = await api('mutation($k: [String!]!) { createWebhook(input: {project: "churn", url: '
                     '"https://hooks.example.com/chat", kinds: $k, secret: "0123456789abcdef"}) { kinds } }', k=kinds_)
    assert sorted(hook["createWebhook"]["kinds"]) == sorted(kinds_)  # accepted: known kinds
    query = ('subscription { events(project: "churn", kinds: ["promotion.requested", "promotion.applied", '
             '"alias.rolled_back"]) { kind payload } }')
    moves = 'subscription { aliasChanged(collection: "churn/churn-model", alias: "production") { version { ref } } }'
    async with connected(api, api.token) as sock, connected(api, api.token) as bot:
        await subscribe(sock, api.server, query)
        await subscribe(bot, api.server, moves)
        await api(SET_ALIAS.replace("production", "staging"), a="staging", v=v[0])  # not asked for
        req = (await api(REQUEST, v=v[1]))["requestPromotion"]
        await api(REVIEW, id=req["id"])
        await api(REQUEST, v=v[2])
        got = [await sock.next("events") for _ in range(3)]
        assert (await bot.next("aliasChanged")) == {"version": {"ref": v[1]}}
        await sock.quiet()
    assert [e["kind"] for e in got] == ["promotion.requested", "promotion.applied", "promotion.requested"]
    assert got[0]["payload"]["request"] == req["id"] and got[1]["payload"]["version"] == v[1]


async def test_two_rollbacks_at_once_roll_back_once(api: Api, dialect: str) -> None:
    v = await setup(api)
    for ref in v:
        await api(SET_ALIAS, v=ref)
    await api(POLICY, alias="production", n=1, p="churn")
    bodies = await asyncio.gather(*(api.raw(ROLLBACK, {"r": f"on-call {i}"}) for i in range(4)))
    ok = [b for b in bodies if not b.get("errors")]
    assert len(ok) == 1 and ok[0]["data"]["rollbackAlias"]["version"] == {"ref": v[1]}
    assert all(b["errors"][0]["extensions"]["code"] == "CONFLICT" for b in bodies if b.get("errors"))
    assert await holder(api) == v[1]
    assert (await kinds(api)).count("alias.rolled_back") == 1
