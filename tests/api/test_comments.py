"""Comments on versions, registered models and promotion requests: viewers comment, authors edit and delete their
own, admins any; events name the comment, never its text; a refused change changes nothing."""

from __future__ import annotations

from typing import Any

from conftest import Api, snapshot
from lineage_reg import ids
from support.two_projects import user
from support.versions import log_version

ADD = "mutation($t: ID!, $x: String!) { addComment(target: $t, text: $x) { id author text at editedAt target } }"
EDIT = "mutation($id: ID!, $x: String!) { editComment(id: $id, text: $x) { id text editedAt } }"
DELETE = "mutation($id: ID!) { deleteComment(id: $id) }"
ON_VERSION = """query($n: Int, $a: String) { resolve(ref: "churn/classifier:v0") {
  comments(first: $n, after: $a) { totalCount edges { node { text author } } pageInfo { hasNextPage endCursor } } } }"""
EVENTS = '{ events(project: "churn", first: 500) { edges { node { kind actor collection payload } } } }'


async def setup(api: Api) -> dict[str, str]:
    await api('mutation { createProject(name: "churn") { id } }')
    v = await log_version(api, {"model.bin": b"w"})
    await api('mutation { linkVersion(input: {version: "churn/classifier:v0", registeredModel: "churn/churn-model"}) '
              "{ id } }")
    model = (await api('{ registeredModel(project: "churn", name: "churn-model") { id } }'))["registeredModel"]["id"]
    await api('mutation { setApprovalPolicy(project: "churn", alias: "production", requiredApprovals: 1) { alias } }')
    request = (await api('mutation { requestPromotion(collection: "churn/churn-model", alias: "production", '
                         'version: "churn/classifier:v0") { id } }'))["requestPromotion"]["id"]
    return {"version": str(v["id"]), "model": model, "request": request}


async def comment_events(api: Api) -> list[dict[str, Any]]:
    return [e["node"] for e in (await api(EVENTS))["events"]["edges"] if e["node"]["kind"].startswith("comment.")]


async def test_viewers_comment_authors_edit_admins_moderate(api: Api, dialect: str) -> None:
    targets = await setup(api)
    vera = await user(api, "vera", "churn", "viewer")
    mia = await user(api, "mia", "churn", "member")
    on_version = (await vera(ADD, t=targets["version"], x="why is recall lower on EU?"))["addComment"]
    assert (on_version["author"], on_version["text"], on_version["editedAt"], on_version["target"]) == (
        "vera", "why is recall lower on EU?", None, targets["version"])
    on_model = (await mia(ADD, t=targets["model"], x="card needs the eval set"))["addComment"]
    on_request = (await mia(ADD, t=targets["request"], x="approve after the EU check"))["addComment"]
    reads = await vera('query($m: ID!, $r: ID!) { m: node(id: $m) { ... on RegisteredModel { comments { edges { '
                       "node { text } } } } } r: node(id: $r) { ... on PromotionRequest { comments { edges { node { "
                       "text author } } } } } }", m=targets["model"], r=targets["request"])
    assert reads["m"]["comments"]["edges"] == [{"node": {"text": "card needs the eval set"}}]
    assert reads["r"]["comments"]["edges"] == [{"node": {"text": "approve after the EU check", "author": "mia"}}]

    before = await snapshot(api.server)
    assert (await mia.error(EDIT, id=on_version["id"], x="mine now")).code == "FORBIDDEN"  # not her comment
    assert (await mia.error(DELETE, id=on_version["id"])).code == "FORBIDDEN"
    for bad in ("", "   ", "x" * 10_001):
        assert (await vera.error(ADD, t=targets["version"], x=bad)).code == "BAD_INPUT"
        assert (await vera.error(EDIT, id=on_version["id"], x=bad)).code == "BAD_INPUT"
    assert (await vera.error(ADD, t=ids.encode("Run", 1), x="a run?")).code == "BAD_INPUT"
    assert (await vera.error(ADD, t=ids.encode("ArtifactVersion", 10**6), x="?")).code == "NOT_FOUND"
    assert (await vera.error(EDIT, id=ids.encode("Comment", 10**6), x="?")).code == "NOT_FOUND"
    assert await snapshot(api.server) == before

    edited = (await vera(EDIT, id=on_version["id"], x="why is recall lower on EU? (v0 only)"))["editComment"]
    assert edited["text"].endswith("(v0 only)") and edited["editedAt"]
    assert (await vera(EDIT, id=on_version["id"], x=edited["text"]))["editComment"]["editedAt"] == edited["editedAt"]
    assert (await api(EDIT, id=on_model["id"], x="card needs the eval set (admin: done)"))["editComment"]
    assert await mia(DELETE, id=on_request["id"])
    assert await api(DELETE, id=on_version["id"])  # an admin removes anyone's
    assert (await vera.error(DELETE, id=on_version["id"])).code == "NOT_FOUND"
    node = await vera('query($id: ID!) { node(id: $id) { id } }', id=on_model["id"])
    assert node["node"] == {"id": on_model["id"]}

    events = await comment_events(api)
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("comment.added", "vera"), ("comment.added", "mia"), ("comment.added", "mia"), ("comment.edited", "vera"),
        ("comment.edited", "bootstrap-admin"), ("comment.deleted", "mia"), ("comment.deleted", "bootstrap-admin")]
    assert {e["collection"] for e in events} == {"churn/classifier", "churn/churn-model"}
    dumped = str(events)
    assert "recall" not in dumped and "eval set" not in dumped  # events never keep the text
    assert events[0]["payload"] == {"comment": on_version["id"], "target": targets["version"], "author": "vera",
                                    "length": len("why is recall lower on EU?")}


async def test_comments_page_oldest_first(api: Api, dialect: str) -> None:
    targets = await setup(api)
    for i in range(7):
        await api(ADD, t=targets["version"], x=f"note {i}")
    seen, after = [], None
    while True:
        page = (await api(ON_VERSION, n=3, a=after))["resolve"]["comments"]
        assert page["totalCount"] == 7
        seen += [e["node"]["text"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"note {i}" for i in range(7)]


async def test_outsiders_see_and_touch_nothing(api: Api, dialect: str) -> None:
    targets = await setup(api)
    mine = (await api(ADD, t=targets["model"], x="internal only"))["addComment"]
    await api('mutation { createProject(name: "other") { id } }')
    otto = await user(api, "otto", "other", "admin")
    before = await snapshot(api.server)
    assert (await otto.error(ADD, t=targets["model"], x="hello")).code == "NOT_FOUND"
    assert (await otto.error(EDIT, id=mine["id"], x="hello")).code == "NOT_FOUND"
    assert (await otto.error(DELETE, id=mine["id"])).code == "NOT_FOUND"
    assert (await otto('query($id: ID!) { node(id: $id) { id } }', id=mine["id"]))["node"] is None
    assert await snapshot(api.server) == before
