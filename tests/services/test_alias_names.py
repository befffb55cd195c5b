"""Alias names as people type them: a typo'd alias is named as unknown (with the collection's aliases, closest
first) when resolved, and said to be new when set; a member stopped at a protected alias is told whose it is."""

from __future__ import annotations

import hashlib

from conftest import Api

SET = ('mutation($c: String!, $a: String!, $v: String!) { setAlias(input: {collection: $c, alias: $a, '
       'version: $v}) { name created note } }')
RESOLVE = 'query($r: String!) { resolve(ref: $r) { ref } }'


async def committed(api: Api, project: str, artifact: str) -> str:
    body = b"weights"
    files = [{"path": "model.bin", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}]
    created = (await api('mutation($i: CreateArtifactVersionInput!) { createArtifactVersion(input: $i) '
                         '{ version { id } uploads { url method headers } } }',
                         i={"project": project, "artifact": artifact, "type": "model", "files": files}
                         ))["createArtifactVersion"]
    for target in created["uploads"]:
        resp = await api.http.request(target["method"], target["url"], content=body, headers=target["headers"])
        assert resp.status_code in (200, 201), resp.text
    vid = created["version"]["id"]
    await api('mutation($v: ID!) { commitArtifactVersion(version: $v) { id } }', v=vid)
    return str(vid)


async def model_with_aliases(api: Api) -> str:
    await api('mutation { createProject(name: "p") { id } }')
    v = await committed(api, "p", "weights")
    await api('mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "p/model"}) { id } }', v=v)
    for alias in ("production", "staging", "canary"):
        await api(SET, c="p/model", a=alias, v=v)
    return v


async def test_resolving_an_unknown_alias_names_it_and_lists_the_aliases_closest_first(api: Api, dialect: str
                                                                                       ) -> None:
    await model_with_aliases(api)
    err = await api.error(RESOLVE, r="p/model:prodution")
    message = err.errors[0]["message"]
    assert err.code == "NOT_FOUND"
    assert "no alias 'prodution'" in message and "did you mean 'production'?" in message, message
    assert err.errors[0]["extensions"]["aliases"] == ["production", "canary", "latest", "staging"]
    assert message.index("production") < message.index("staging")
    # An index that doesn't exist still says "version ... not found".
    err = await api.error(RESOLVE, r="p/model:v7")
    assert err.code == "NOT_FOUND" and "version 'p/model:v7' not found" in err.errors[0]["message"]


async def test_an_unknown_alias_on_a_collection_without_aliases_says_how_to_name_a_version(api: Api, dialect: str
                                                                                           ) -> None:
    await api('mutation { createProject(name: "p") { id } }')
    await api('mutation { createRegisteredModel(project: "p", name: "empty") { id } }')
    err = await api.error(RESOLVE, r="p/empty:production")
    assert err.code == "NOT_FOUND" and "has no alias 'production', nor any other" in err.errors[0]["message"]
    assert err.errors[0]["extensions"]["aliases"] == []


async def test_setting_an_alias_the_collection_never_had_says_it_created_one(api: Api, dialect: str) -> None:
    v = await model_with_aliases(api)
    moved = (await api(SET, c="p/model", a="staging", v=v))["setAlias"]
    assert moved == {"name": "staging", "created": False, "note": None}
    typo = (await api(SET, c="p/model", a="prodution", v=v))["setAlias"]
    assert typo["created"] is True
    assert typo["note"].startswith("created a new alias 'prodution' on p/model; its other aliases: production, ")
    # Aliases read elsewhere carry no such note.
    listed = (await api('{ registeredModel(project: "p", name: "model") { aliases { name created note } } }'))
    assert {a["created"] for a in listed["registeredModel"]["aliases"]} == {None}


async def test_a_member_stopped_at_a_protected_alias_is_told_whose_it_is(api: Api, dialect: str) -> None:
    v = await model_with_aliases(api)
    await api('mutation { addMember(project: "p", user: "mo", role: "member") { user } }')
    mo = api.as_token(await api.token_for("user", "mo"))
    err = await mo.error(SET, c="p/model", a="production", v=v)
    message = err.errors[0]["message"]
    assert err.code == "FORBIDDEN" and "some project" not in message, message
    assert "'production' is a protected alias of p/model" in message, message
    assert "the admin role in project 'p' (its admins, or a global admin)" in message, message
    assert "LINEAGE_REG_PROTECTED_ALIASES" in message, message  # the rule that protects it: the server's default
