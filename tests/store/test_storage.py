"""Blob storage on both backends: verification, multipart, downloads, and garbage collection."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy

from conftest import Api, LiveServer, make_bucket, snapshot
from lineage_reg.app import build_runtime
from lineage_reg import ids
from lineage_reg.config import Settings
from lineage_reg.errors import NotFound
from lineage_reg.services import gc, versions
from lineage_reg.services.runtime import Runtime
from lineage_reg.clock import utcnow
from support.versions import COMMIT, log_version, manifest

MiB = 1024 * 1024
CREATE = """mutation($input: CreateArtifactVersionInput!) { createArtifactVersion(input: $input) {
  version { id ref state } deduplicated uploads { sha256 url method headers uploadId parts { number url offset size } } } }"""


async def create(api: Api, files: dict[str, bytes], artifact: str = "classifier") -> dict:
    inp = {"project": "churn", "artifact": artifact, "type": "model", "files": manifest(files)}
    return (await api(CREATE, input=inp))["createArtifactVersion"]  # type: ignore[no-any-return]


async def put(api: Api, target: dict, body: bytes) -> httpx.Response:
    return await api.http.request(target["method"], target["url"], content=body, headers=target["headers"])


async def put_parts(http: httpx.AsyncClient, target: dict, body: bytes, *, reverse: bool = False) -> list[dict]:
    """PUT each part of a multipart upload target (in reverse order if asked); the parts' ETags, for completion."""
    etags = []
    for part in reversed(target["parts"]) if reverse else target["parts"]:
        offset, size = int(part["offset"]), int(part["size"])
        resp = await http.put(part["url"], content=body[offset:offset + size])
        assert resp.status_code == 200, resp.text
        etags.append({"number": part["number"], "etag": resp.headers["etag"]})
    return etags


@pytest.fixture
async def rt(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime of the test's own (the server's lives on its own thread and loop)."""
    runtime = build_runtime(settings)
    await runtime.blobs.start()
    yield runtime
    await runtime.blobs.stop()
    await runtime.db.dispose()


async def stored(rt: Runtime, sha: str) -> bool:
    return sha in {b.sha256 async for b in rt.blobs.list_blobs()}


# --- verification ---


async def test_wrong_bytes_fail_commit_and_are_deleted(api: Api, rt: Runtime, dialect: str, storage: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    good = b"the real weights"
    created = await create(api, {"model.bin": good})
    target = created["uploads"][0]
    bad = b"evil weights!!!!"  # same size, other bytes
    resp = await put(api, target, bad)
    if storage == "local":
        # The server checks while receiving: nothing is stored under the address.
        assert resp.status_code == 422 and resp.json()["errors"][0]["extensions"]["code"] == "DIGEST_INVALID"
        err = await api.error(COMMIT, v=created["version"]["id"])
        assert err.code == "BLOB_UNKNOWN"
    else:
        # moto accepts any bytes on a presigned PUT; the commit catches them and deletes the object.
        assert resp.status_code == 200
        err = await api.error(COMMIT, v=created["version"]["id"])
        assert err.code == "DIGEST_INVALID" and "hash to" in err.errors[0]["message"]
    assert not await stored(rt, target["sha256"])
    state = await api("query($id: ID!) { node(id: $id) { ... on ArtifactVersion { state } } }", id=created["version"]["id"])
    assert state["node"]["state"] == "PENDING"
    # The right bytes then commit fine.
    assert (await put(api, target, good)).status_code in (200, 201)
    assert (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]["state"] == "COMMITTED"


async def test_upload_link_used_again_after_commit_cannot_change_the_blob(api: Api, dialect: str,
                                                                           storage: str) -> None:
    """An upload link is valid for an hour: sent again after commit, with other bytes, it must not replace the
    verified blob (S3: the PUT is conditional on no object being there; moto, like some stores, skips the
    checksum and would otherwise take the bytes)."""
    await api('mutation { createProject(name: "churn") { id } }')
    good = b"the real weights"
    created = await create(api, {"model.bin": good})
    target = created["uploads"][0]
    assert (await put(api, target, good)).status_code in (200, 201)
    assert (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]["state"] == "COMMITTED"
    again = await put(api, target, b"evil weights!!!!")
    assert again.status_code in (201, 412)  # local: the known blob is left as it is; S3: precondition failed
    assert await _download(api, "churn/classifier:v0") == good


async def test_wrong_size_is_digest_invalid(api: Api, rt: Runtime, dialect: str, storage: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    created = await create(api, {"model.bin": b"0123456789"})
    target = created["uploads"][0]
    resp = await put(api, target, b"01234")
    if storage == "local":
        assert resp.status_code == 422
    err = await api.error(COMMIT, v=created["version"]["id"])
    assert err.code == ("BLOB_UNKNOWN" if storage == "local" else "DIGEST_INVALID")
    if storage == "s3":
        assert "holds 5 bytes, the manifest declared 10" in err.errors[0]["message"]
    assert not await stored(rt, target["sha256"])


async def test_s3_checksum_mode_still_checks_presence_and_size(settings: Settings, dialect: str,
                                                               s3_endpoint: str) -> None:
    """`--verify checksum` trusts the store's SHA-256 (moto records the header without checking it), never its size."""
    s3 = dataclasses.replace(settings, storage_url=f"s3://{make_bucket(s3_endpoint)}/registry", verify="checksum",
                             s3_endpoint_url=s3_endpoint, s3_region="us-east-1")
    async with httpx.AsyncClient(timeout=30) as http:
        with LiveServer(s3) as server:
            api = Api(server, http, server.admin_token())
            await api('mutation { createProject(name: "churn") { id } }')
            created = await create(api, {"model.bin": b"0123456789"})
            [target] = created["uploads"]
            await put(api, target, b"01234")
            err = await api.error(COMMIT, v=created["version"]["id"])
            assert err.code == "DIGEST_INVALID" and "holds 5 bytes" in err.errors[0]["message"]
            assert (await put(api, target, b"0123456789")).status_code == 200
            committed = (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]
            assert committed["state"] == "COMMITTED"


async def test_commit_with_missing_blob(api: Api, dialect: str, storage: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    created = await create(api, {"a.bin": b"aaa", "b.bin": b"bbb"})
    await put(api, created["uploads"][0], b"aaa" if created["uploads"][0]["sha256"] == hashlib.sha256(b"aaa").hexdigest() else b"bbb")
    before = await snapshot(api.server) if storage == "local" else None
    err = await api.error(COMMIT, v=created["version"]["id"])
    assert err.code == "BLOB_UNKNOWN" and err.errors[0]["extensions"]["missing"] == [created["uploads"][1]["sha256"]]
    if before is not None:
        assert await snapshot(api.server) == before


# --- multipart ---


@pytest.fixture
def settings_multipart(settings: Settings) -> Settings:
    return dataclasses.replace(settings, multipart_threshold=5 * MiB, part_size=5 * MiB)


async def test_multipart_upload(settings_multipart: Settings, dialect: str, storage: str) -> None:
    """A file above the threshold goes up in parts (S3 parts are >= 5 MiB) and is verified on commit."""
    body = os.urandom(12 * MiB + 123)
    with LiveServer(settings_multipart) as live:
        async with httpx.AsyncClient(timeout=60) as http:
            api = Api(live, http, live.admin_token())
            await api('mutation { createProject(name: "churn") { id } }')
            created = await create(api, {"big.bin": body, "small.txt": b"hi"})
            big = next(u for u in created["uploads"] if u["parts"])
            small = next(u for u in created["uploads"] if not u["parts"])
            assert [p["size"] for p in big["parts"]] == [5 * MiB, 5 * MiB, 2 * MiB + 123]
            assert (await put(api, small, b"hi")).status_code in (200, 201)
            etags = await put_parts(http, big, body, reverse=True)  # any order
            done = await api('mutation($s: String!, $n: Float!, $u: String!, $p: [CompletedPartInput!]!) '
                             '{ completeUpload(sha256: $s, size: $n, uploadId: $u, parts: $p) }',
                             s=big["sha256"], n=len(body), u=big["uploadId"], p=etags)
            assert done["completeUpload"] is True
            committed = (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]
            assert committed["state"] == "COMMITTED"
            files = (await api('{ resolve(ref: "churn/classifier:latest") { files { edges { node { path downloadUrl } } } } }'))
            url = next(e["node"]["downloadUrl"] for e in files["resolve"]["files"]["edges"] if e["node"]["path"] == "big.bin")
            got = await http.get(url)
            assert got.status_code == 200 and hashlib.sha256(got.content).digest() == hashlib.sha256(body).digest()


COMPLETE = ('mutation($s: String!, $n: Float!, $u: String!, $p: [CompletedPartInput!]!) '
            '{ completeUpload(sha256: $s, size: $n, uploadId: $u, parts: $p) }')


async def _download(api: Api, ref: str) -> bytes:
    files = await api('query($r: String!) { resolve(ref: $r) { files { edges { node { downloadUrl } } } } }', r=ref)
    resp = await api.http.get(files["resolve"]["files"]["edges"][0]["node"]["downloadUrl"])
    assert resp.status_code == 200
    return resp.content


async def test_part_arriving_after_completion_cannot_change_the_blob(settings_multipart: Settings,
                                                                     dialect: str) -> None:
    """A second PUT of part 1 sends its headers, completion runs, then the rest of its body
    (other bytes) arrives: the completed blob keeps the verified bytes, and a later upload of the same content
    deduplicates onto them."""
    body = os.urandom(7 * MiB)
    sha = hashlib.sha256(body).hexdigest()
    with LiveServer(settings_multipart) as live:
        async with httpx.AsyncClient(timeout=60) as http:
            api = Api(live, http, live.admin_token())
            await api('mutation { createProject(name: "churn") { id } }')
            created = await create(api, {"big.bin": body})
            big = created["uploads"][0]
            etags = await put_parts(http, big, body)
            first = big["parts"][0]
            first_size = int(first["size"])
            url = httpx.URL(first["url"])
            reader, writer = await asyncio.open_connection("127.0.0.1", live.port)
            writer.write(f"PUT {url.raw_path.decode()} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         f"Content-Length: {first_size}\r\nContent-Type: application/octet-stream\r\n\r\n".encode())
            await writer.drain()
            await asyncio.sleep(0.5)  # the server's handler now runs, waiting for this body
            done = await api(COMPLETE, s=sha, n=len(body), u=big["uploadId"], p=etags)
            assert done["completeUpload"] is True
            writer.write(b"X" * first_size)  # the late body: other bytes of the right length
            await writer.drain()
            status = (await reader.readline()).decode()
            writer.close()
            assert (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]["state"] == "COMMITTED"
            assert hashlib.sha256(await _download(api, "churn/classifier:v0")).hexdigest() == sha
            assert " 400 " in status  # the upload finished meanwhile: the late part is refused
            again = await create(api, {"big.bin": body}, artifact="copy")
            assert again["uploads"] == []  # deduplicated onto the stored blob
            assert (await api(COMMIT, v=again["version"]["id"]))["commitArtifactVersion"]["state"] == "COMMITTED"
            assert hashlib.sha256(await _download(api, "churn/copy:v0")).hexdigest() == sha


async def test_part_sent_again_after_completion_is_refused(settings_multipart: Settings, dialect: str,
                                                            storage: str) -> None:
    """Both stores refuse a part for a completed upload (S3 itself answers NoSuchUpload; moto answers 500)."""
    body = os.urandom(7 * MiB)
    with LiveServer(settings_multipart) as live:
        async with httpx.AsyncClient(timeout=60) as http:
            api = Api(live, http, live.admin_token())
            await api('mutation { createProject(name: "churn") { id } }')
            created = await create(api, {"big.bin": body})
            big = created["uploads"][0]
            etags = await put_parts(http, big, body)
            await api(COMPLETE, s=big["sha256"], n=len(body), u=big["uploadId"], p=etags)
            late = await http.put(big["parts"][0]["url"], content=b"X" * int(big["parts"][0]["size"]))
            assert late.status_code >= 400
            assert (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]["state"] == "COMMITTED"
            assert hashlib.sha256(await _download(api, "churn/classifier:v0")).digest() == hashlib.sha256(body).digest()


async def test_gc_spares_multipart_upload_of_pending_version(settings_multipart: Settings, dialect: str,
                                                            storage: str) -> None:
    """An in-flight multipart upload survives GC even where the store misreports its start time."""
    with LiveServer(settings_multipart) as live:
        async with httpx.AsyncClient(timeout=60) as http:
            api = Api(live, http, live.admin_token())
            await api('mutation { createProject(name: "churn") { id } }')
            created = await create(api, {"big.bin": os.urandom(6 * MiB)})
            rt = build_runtime(settings_multipart)
            await rt.blobs.start()
            try:
                report = await gc.collect(rt, now=utcnow() + timedelta(hours=3))
                assert report.aborted_uploads == []
                assert len(await rt.blobs.list_uploads()) == 1
                assert created["uploads"][0]["uploadId"]
            finally:
                await rt.blobs.stop()
                await rt.db.dispose()


async def test_gc_frees_leftover_upload_of_a_blob_committed_since(settings_multipart: Settings, dialect: str,
                                                                   storage: str) -> None:
    """A multipart upload left half done, its blob then uploaded and committed by another version: GC keeps
    the leftover inside the grace window and frees (and, dry, reports) its bytes past it."""
    body = os.urandom(7 * MiB)
    with LiveServer(settings_multipart) as live:
        async with httpx.AsyncClient(timeout=60) as http:
            api = Api(live, http, live.admin_token())
            await api('mutation { createProject(name: "churn") { id } }')
            crashed = await create(api, {"big.bin": body}, artifact="crashed")
            part = crashed["uploads"][0]["parts"][0]
            assert (await http.put(part["url"], content=body[:int(part["size"])])).status_code == 200
            await log_multipart(api, http, {"big.bin": body}, artifact="redone")
            rt = build_runtime(settings_multipart)
            await rt.blobs.start()
            try:
                assert len(await rt.blobs.list_uploads()) == 1
                within = await gc.collect(rt, now=utcnow() + timedelta(minutes=5))
                assert within.aborted_uploads == [] and len(await rt.blobs.list_uploads()) == 1
                later = utcnow() + timedelta(hours=3)
                dry = await gc.collect(rt, now=later, dry_run=True)
                assert len(dry.aborted_uploads) == 1 and dry.freed_bytes >= 5 * MiB
                assert len(await rt.blobs.list_uploads()) == 1
                report = await gc.collect(rt, now=later)
                assert report.aborted_uploads == dry.aborted_uploads and report.freed_bytes == dry.freed_bytes
                assert await rt.blobs.list_uploads() == []
            finally:
                await rt.blobs.stop()
                await rt.db.dispose()
            # The crashed version still commits: its blob is stored.
            assert (await api(COMMIT, v=crashed["version"]["id"]))["commitArtifactVersion"]["state"] == "COMMITTED"


async def log_multipart(api: Api, http: httpx.AsyncClient, files: dict[str, bytes], artifact: str) -> None:
    created = await create(api, files, artifact=artifact)
    for target in created["uploads"]:
        body = next(b for b in files.values() if hashlib.sha256(b).hexdigest() == target["sha256"])
        etags = await put_parts(http, target, body)
        await api(COMPLETE, s=target["sha256"], n=len(body), u=target["uploadId"], p=etags)
    assert (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]["state"] == "COMMITTED"


def large_manifest(count: int, seed: str) -> list[dict[str, object]]:
    """Files above the 5 MiB multipart threshold, never uploaded."""
    return [{"path": f"f{i}.bin", "size": 6 * MiB, "sha256": hashlib.sha256(f"{seed}{i}".encode()).hexdigest()}
            for i in range(count)]


async def test_upload_sessions_are_reused_and_bounded(settings_multipart: Settings, dialect: str,
                                                      storage: str) -> None:
    settings = dataclasses.replace(settings_multipart, max_upload_sessions_per_version=2,
                                   max_upload_sessions_per_token=3)
    with LiveServer(settings) as live:
        async with httpx.AsyncClient(timeout=60) as http:
            api = Api(live, http, live.admin_token())
            await api('mutation { createProject(name: "churn") { id } }')
            rt = build_runtime(settings)
            await rt.blobs.start()
            try:
                def version(artifact: str, files: list[dict[str, object]]) -> dict[str, object]:
                    return {"project": "churn", "artifact": artifact, "type": "model", "files": files}

                before, uploads = await snapshot(live), await rt.blobs.list_uploads()
                err = await api.error(CREATE, input=version("three", large_manifest(3, "a")))
                assert err.code == "LIMIT_EXCEEDED" and "at most 2" in err.errors[0]["message"]
                assert await snapshot(live) == before and await rt.blobs.list_uploads() == uploads
                first = (await api(CREATE, input=version("two", large_manifest(2, "b"))))["createArtifactVersion"]
                for _ in range(3):  # a retry resumes the same sessions instead of opening new ones
                    again = (await api(CREATE, input=version("two", large_manifest(2, "b"))))["createArtifactVersion"]
                    assert sorted(u["uploadId"] for u in again["uploads"]) == sorted(u["uploadId"] for u in first["uploads"])
                assert len(await rt.blobs.list_uploads()) == 2
                before = await snapshot(live)
                err = await api.error(CREATE, input=version("more", large_manifest(2, "c")))
                assert err.code == "LIMIT_EXCEEDED" and "holds 2 unfinished" in err.errors[0]["message"]
                assert await snapshot(live) == before and len(await rt.blobs.list_uploads()) == 2
                other = api.as_token(await api.token_for("admin", "other"))
                assert (await other(CREATE, input=version("more", large_manifest(2, "c"))))["createArtifactVersion"]
            finally:
                await rt.blobs.stop()
                await rt.db.dispose()


async def test_multipart_commit_before_complete_is_blob_unknown(settings_multipart: Settings, dialect: str,
                                                                storage: str) -> None:
    body = os.urandom(6 * MiB)
    with LiveServer(settings_multipart) as live:
        async with httpx.AsyncClient(timeout=60) as http:
            api = Api(live, http, live.admin_token())
            await api('mutation { createProject(name: "churn") { id } }')
            created = await create(api, {"big.bin": body})
            part = created["uploads"][0]["parts"][0]
            assert (await http.put(part["url"], content=body[: int(part["size"])])).status_code == 200
            err = await api.error(COMMIT, v=created["version"]["id"])
            assert err.code == "BLOB_UNKNOWN"


# --- manifest sizes against stored blobs ---


async def test_size_contradicting_a_stored_blob_is_bad_input(api: Api, dialect: str, storage: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    known = b"twenty-two bytes here!"
    await log_version(api, {"w.bin": known})
    before = await snapshot(api.server)
    lying = [{"path": "x.bin", "size": 999, "sha256": hashlib.sha256(known).hexdigest()}]
    err = await api.error(CREATE, input={"project": "churn", "artifact": "other", "type": "model", "files": lying})
    assert err.code == "BAD_INPUT" and "'x.bin'" in err.errors[0]["message"] and "22" in err.errors[0]["message"]
    twice = [{"path": "a.bin", "size": 5, "sha256": "ab" * 32}, {"path": "b.bin", "size": 6, "sha256": "ab" * 32}]
    err = await api.error(CREATE, input={"project": "churn", "artifact": "other", "type": "model", "files": twice})
    assert err.code == "BAD_INPUT" and "'b.bin'" in err.errors[0]["message"]
    assert await snapshot(api.server) == before


async def test_size_contradicting_a_blob_stored_since_create_fails_commit(api: Api, dialect: str,
                                                                          storage: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    body = b"twenty-two bytes here!"
    lying = [{"path": "x.bin", "size": 999, "sha256": hashlib.sha256(body).hexdigest()}]
    created = (await api(CREATE, input={"project": "churn", "artifact": "liar", "type": "model",
                                        "files": lying}))["createArtifactVersion"]
    assert len(created["uploads"]) == 1
    await log_version(api, {"w.bin": body})  # the same bytes, with their real size, stored by another version
    err = await api.error(COMMIT, v=created["version"]["id"])
    assert err.code == "BAD_INPUT" and "'x.bin'" in err.errors[0]["message"]
    state = await api("query($id: ID!) { node(id: $id) { ... on ArtifactVersion { state } } }", id=created["version"]["id"])
    assert state["node"]["state"] == "PENDING"


async def test_create_and_commit_read_the_blob_table_once_each_in_their_transaction(api: Api, dialect: str) -> None:
    """The size checks ride on reads that were there before them: create's one read of the manifest's stored
    blobs both checks sizes and says what to upload; commit's transaction finds size conflicts and missing blobs
    in one statement (plus the read before it that picks blobs to verify in the store). Each extra read was
    ~0.2 ms of server CPU per request (bench/hot_path.py, docs/performance.md)."""
    await api('mutation { createProject(name: "churn") { id } }')
    await log_version(api, {"w.bin": b"weights"})
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if " blob " in f" {' '.join(statement.split())} ":
            reads.append(statement)

    for engine in api.server.runtime.db.sync_engines():
        sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    created = await create(api, {"again.bin": b"weights"})
    assert created["uploads"] == [] and len(reads) == 1
    reads.clear()
    assert (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]["state"] == "COMMITTED"
    assert len(reads) == 2


async def test_sqlite_writers_send_no_collection_lock(api: Api, dialect: str) -> None:
    """SQLite's write transactions begin IMMEDIATE, serialised from their start: the collection lock PostgreSQL
    needs would be a read that locks nothing there (~0.15 ms each in create and commit), so none is sent."""
    await api('mutation { createProject(name: "churn") { id } }')
    locks: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if " ".join(statement.split()).startswith("SELECT collection.id FROM collection WHERE collection.id ="):
            locks.append(statement)

    for engine in api.server.runtime.db.sync_engines():
        sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    await log_version(api, {"w.bin": b"weights"})
    assert len(locks) == (0 if dialect == "sqlite" else 2)


async def test_commit_reads_its_version_once_for_access_and_once_in_its_transaction(api: Api, rt: Runtime,
                                                                                   dialect: str) -> None:
    """Access needs the version's project (api/permissions.grant); the transaction reads the row it acts on
    (PostgreSQL once more, under its lock). Nothing else reads it by id: a version that does not exist has no
    files to verify in the store, and its transaction answers NOT_FOUND."""
    await api('mutation { createProject(name: "churn") { id } }')
    created = await create(api, {"w.bin": b"weights"})
    await put(api, created["uploads"][0], b"weights")
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "WHERE artifact_version.id IN" in " ".join(statement.split()):
            reads.append(statement)

    for engine in api.server.runtime.db.sync_engines():
        sqlalchemy.event.listen(engine, "before_cursor_execute", count)
    assert (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]["state"] == "COMMITTED"
    assert len(reads) == (2 if dialect == "sqlite" else 3)
    with pytest.raises(NotFound, match="not found"):
        await versions.commit_version(rt, actor=None, version=ids.encode("ArtifactVersion", 10**6),
                                      may_move_protected=True)


# --- downloads (local backend) ---


async def test_local_download_range_and_etag(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    body = bytes(range(256)) * 40
    await log_version(api, {"data.bin": body})
    edges = (await api('{ resolve(ref: "churn/classifier:v0") { files { edges { node { sha256 downloadUrl } } } } }'))
    node = edges["resolve"]["files"]["edges"][0]["node"]
    url = node["downloadUrl"]
    part = await api.http.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == body[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(body)}"
    beyond = await api.http.get(url, headers={"Range": f"bytes={len(body) + 10}-{len(body) + 20}"})
    assert beyond.status_code == 416
    full = await api.http.get(url)
    assert full.headers["etag"] == f'"{node["sha256"]}"'
    cached = await api.http.get(url, headers={"If-None-Match": full.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    unknown_sha = hashlib.sha256(b"never uploaded").hexdigest()
    unknown = await api.http.get(await api.server.runtime.blobs.download_url(unknown_sha, api.url))
    assert unknown.status_code == 404
    tampered = await api.http.get(url.replace("sig=", "sig=0"))
    assert tampered.status_code == 403


# --- garbage collection ---


async def test_gc_keeps_in_flight_uploads(api: Api, rt: Runtime, dialect: str, storage: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    created = await create(api, {"m.bin": b"in flight"})
    assert (await put(api, created["uploads"][0], b"in flight")).status_code in (200, 201)
    report = await gc.collect(rt, now=utcnow() + timedelta(hours=1))  # younger than TTL and grace
    assert report.lines() == []
    assert await stored(rt, created["uploads"][0]["sha256"])
    assert (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]["state"] == "COMMITTED"


async def test_gc_abandoned_upload_leaves_nothing(api: Api, rt: Runtime, dialect: str, storage: str) -> None:
    """A crash between upload and commit: after the TTL, GC removes the version's bytes."""
    await api('mutation { createProject(name: "churn") { id } }')
    created = await create(api, {"m.bin": b"abandoned"})
    sha = created["uploads"][0]["sha256"]
    assert (await put(api, created["uploads"][0], b"abandoned")).status_code in (200, 201)
    later = utcnow() + timedelta(hours=25)
    dry = await gc.collect(rt, now=later, dry_run=True)
    assert dry.abandoned_versions == ["churn/classifier:v0"] and await stored(rt, sha)
    report = await gc.collect(rt, now=later)
    assert report.abandoned_versions == ["churn/classifier:v0"]
    assert sha in report.deleted_blobs + report.orphan_objects
    assert not await stored(rt, sha)
    state = await api("query($id: ID!) { node(id: $id) { ... on ArtifactVersion { state } } }", id=created["version"]["id"])
    assert state["node"]["state"] == "DELETED"
    assert (await gc.collect(rt, now=later)).lines() == []  # nothing left to do


async def test_gc_keeps_blobs_shared_with_live_versions(api: Api, rt: Runtime, dialect: str, storage: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    shared, unique = b"shared tokenizer", b"weights of v0"
    await log_version(api, {"tok.txt": shared, "w.bin": unique})
    await log_version(api, {"tok.txt": shared, "w.bin": b"weights of v1"})
    deleted = await api('mutation { deleteArtifactVersion(version: "churn/classifier:v0") { state } }')
    assert deleted["deleteArtifactVersion"]["state"] == "DELETED"
    latest = await api('{ resolve(ref: "churn/classifier:latest") { ref } }')
    assert latest["resolve"]["ref"] == "churn/classifier:v1"
    report = await gc.collect(rt, now=utcnow() + timedelta(hours=3))
    assert report.deleted_blobs == [hashlib.sha256(unique).hexdigest()]
    assert await stored(rt, hashlib.sha256(shared).hexdigest())
    assert not await stored(rt, hashlib.sha256(unique).hexdigest())
    # v1 still downloads whole.
    files = await api('{ resolve(ref: "churn/classifier:v1") { files { edges { node { path downloadUrl } } } } }')
    for edge in files["resolve"]["files"]["edges"]:
        assert (await api.http.get(edge["node"]["downloadUrl"])).status_code == 200


async def test_gc_removes_orphan_objects_and_unfinished_uploads(api: Api, rt: Runtime, settings: Settings,
                                                                dialect: str, storage: str) -> None:
    """Bytes in the store that no row knows (an upload whose version was never created there) go after the grace window."""
    orphan = hashlib.sha256(b"orphan").hexdigest()
    if storage == "s3":
        await rt.blobs._client.put_object(Bucket=rt.blobs.bucket, Key=rt.blobs.key(orphan), Body=b"orphan")
        await rt.blobs._client.create_multipart_upload(Bucket=rt.blobs.bucket, Key=rt.blobs.key("ab" * 32))
    else:
        path = rt.blobs.path(orphan)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"orphan")
        (rt.blobs.tmp / f"upload-deadbeef-{'cd' * 32}").write_bytes(b"half")
    within_grace = await gc.collect(rt, now=utcnow() + timedelta(minutes=5))
    assert within_grace.orphan_objects == [] and await stored(rt, orphan)
    if storage == "local":  # (moto reports every multipart upload as started in 2010)
        assert within_grace.aborted_uploads == []
    report = await gc.collect(rt, now=utcnow() + timedelta(hours=3))
    assert report.orphan_objects == [orphan]
    assert len(within_grace.aborted_uploads + report.aborted_uploads) == 1
    assert await rt.blobs.list_uploads() == []
    assert not await stored(rt, orphan)


def test_gc_cli_dry_run(settings: Settings, dialect: str) -> None:
    env = {**os.environ, "LINEAGE_REG_DATABASE_URL": settings.effective_database_url}
    out = subprocess.run([sys.executable, "-m", "lineage_reg.cli", "gc", "--dry-run", "--data-dir",
                          str(settings.data_dir)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "would free 0 bytes" in out.stderr
