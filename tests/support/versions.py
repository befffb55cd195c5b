"""Versions through the API as a client makes them: create, upload every blob, commit."""

from __future__ import annotations

import hashlib

from conftest import Api

CREATE_VERSION = """
mutation($input: CreateArtifactVersionInput!) {
  createArtifactVersion(input: $input) {
    version { id ref index state digest }
    uploads { sha256 url method headers }
    deduplicated
  }
}"""
COMMIT = "mutation($v: ID!) { commitArtifactVersion(version: $v) { id ref state aliases } }"


def manifest(contents: dict[str, bytes]) -> list[dict[str, object]]:
    return [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for p, b in contents.items()]


async def upload_all(api: Api, uploads: list[dict[str, object]], contents: dict[str, bytes]) -> None:
    by_sha = {hashlib.sha256(b).hexdigest(): b for b in contents.values()}
    for target in uploads:
        resp = await api.http.request(str(target["method"]), str(target["url"]), content=by_sha[str(target["sha256"])],
                                      headers=dict(target["headers"]))  # type: ignore[arg-type]
        assert resp.status_code in (200, 201), resp.text


async def log_version(api: Api, contents: dict[str, bytes], *, project: str = "churn", artifact: str = "classifier",
                      run: str | None = None, aliases: list[str] | None = None) -> dict[str, object]:
    inp = {"project": project, "artifact": artifact, "type": "model", "files": manifest(contents),
           "run": run, "aliases": aliases}
    created = (await api(CREATE_VERSION, input=inp))["createArtifactVersion"]
    await upload_all(api, created["uploads"], contents)
    if created["deduplicated"]:
        return created["version"]  # type: ignore[no-any-return]
    return (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]  # type: ignore[no-any-return]
