"""The Python SDK against a real server: both databases, both blob stores."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import lineage_reg.client
from conftest import LiveServer, free_port
from lineage_reg.client import (
    BadInput, Conflict, DigestInvalid, NotFound, Registry, Unauthenticated, Unreachable,
)
from lineage_reg.client.files import safe_target, write_verified
from lineage_reg.client.transfers import Transfers
from lineage_reg.app import build_runtime
from lineage_reg.config import Settings
from support.trees import read_tree, write_tree

MiB = 1024 * 1024


def test_exported_members() -> None:
    assert sorted(lineage_reg.client.__all__) == [
        "ApprovalRequired", "AsyncRegistry", "AsyncRun", "BadInput", "BlobUnknown", "Conflict", "DigestInvalid", "File", "Forbidden", "LimitExceeded", "NotFound",
        "Registry", "RegistryError", "Retry", "Run", "Unauthenticated", "Unreachable", "Version", "VersionCommitted",
        "connect",
    ]
    assert lineage_reg.client.NotFound is lineage_reg.errors.NotFound


def test_sdk_imports_nothing_of_the_server() -> None:
    code = "import sys, lineage_reg.client; print(sorted(m for m in sys.modules if m.startswith('lineage_reg')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    modules = eval(loaded)  # noqa: S307 - a list literal we printed ourselves
    assert {"lineage_reg.client.aio", "lineage_reg.client.registry"} <= set(modules)
    outside = [m for m in modules if not m.startswith("lineage_reg.client")]
    assert outside == ["lineage_reg", "lineage_reg.errors", "lineage_reg.refs"]  # the SDK's only server imports
    bare = "import sys, lineage_reg; print(sorted(m for m in sys.modules if m.startswith('lineage_reg')))"
    assert subprocess.run([sys.executable, "-c", bare], capture_output=True, text=True, check=True).stdout.strip() \
        == "['lineage_reg']"  # `import lineage_reg` stays cheap: connect() imports the SDK when called


def test_log_link_resolve_download(live: LiveServer, tmp_path: Path, dialect: str, storage: str) -> None:
    files = {"model.bin": os.urandom(3 * MiB + 17), "tok/vocab.txt": b"a b c", "tok/deep/er/merges.txt": b"ab",
             "copy.bin": b"a b c", "empty": b"", "config.json": b"{}"}
    src = write_tree(tmp_path / "out", files)
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        with reg.start_run("churn", name="train-1", config={"lr": 0.1}, git_commit="3fa9c1d") as run:
            run.log_metrics(0, {"loss": 0.5})
            run.log_metrics(1, {"loss": 0.25})
            run.use_dataset("s3://lake", "events")
            version = run.log_artifact("classifier", type="model", path=src, metadata={"auc": 0.9},
                                       description="first", aliases=["candidate"])
        assert version.ref == "churn/classifier:v0" and version.state == "COMMITTED"
        assert sorted(version.aliases) == ["candidate", "latest"]
        assert sorted(f.path for f in version.files) == sorted(files)
        assert {f.path: f.size for f in version.files} == {k: len(v) for k, v in files.items()}

        again = reg.log_artifact("churn", "classifier", type="model", path=src, aliases=["relogged"])
        assert again.id == version.id and again.ref == version.ref  # deduplicated: nothing uploaded, no v1
        assert again.aliases == ["candidate", "latest", "relogged"]
        assert sorted(reg.resolve("churn/classifier:relogged").aliases) == ["candidate", "latest", "relogged"]

        assert reg.link(version.ref, "churn/prod", aliases=["staging"]) == "churn/prod:v0"
        reg.set_alias("churn/prod", "production", version.ref)
        resolved = reg.resolve("churn/prod:production")
        assert (resolved.id, resolved.digest, resolved.metadata) == (version.id, version.digest, {"auc": 0.9})
        assert reg.resolve("churn/prod:staging").id == version.id
        assert reg.resolve(f"churn/classifier@{version.digest[:8]}").id == version.id

        out = reg.download("churn/prod:production", tmp_path / "deployed")
        assert out == tmp_path / "deployed" and read_tree(out) == files
        assert not [p for p in out.rglob(".*.part")]

        reg.remove_alias("churn/prod", "staging")
        with pytest.raises(NotFound):
            reg.resolve("churn/prod:staging")

        assert [v["ref"] for v in reg.versions("churn/classifier")] == ["churn/classifier:v0"]
        run_view = reg.query("query($id: ID!) { run(id: $id) { name status gitCommit config datasetsRead { name } "
                             "outputs { ref } metrics(key: \"loss\") { step value } } }", id=run.id)["run"]
        assert run_view == {"name": "train-1", "status": "FINISHED", "gitCommit": "3fa9c1d", "config": {"lr": 0.1},
                            "datasetsRead": [{"name": "events"}], "outputs": [{"ref": "churn/classifier:v0"}],
                            "metrics": [{"step": 0, "value": 0.5}, {"step": 1, "value": 0.25}]}


def test_longest_allowed_paths_download(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    """What the server accepts, the SDK can write: a 200-byte part (its temporary name beside it included),
    non-ASCII names, a deep tree."""
    files = {"\u00e9" * 100: b"accented", "d/" + "x" * 200: b"long", "/".join(["y" * 200] * 4) + "/z": b"deep",
             "\u65e5\u672c/\u30e2\u30c7\u30eb.bin": b"nihon"}
    src = write_tree(tmp_path / "src", files)
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "names", type="model", path=src)
        assert sorted(f.path for f in version.files) == sorted(files)
        assert read_tree(reg.download(version.ref, tmp_path / "out")) == files


def test_upload_to_an_object_already_in_the_store(live: LiveServer, tmp_path: Path, dialect: str,
                                                  storage: str) -> None:
    """S3 uploads are conditional (If-None-Match): where the object is there already (another upload of the
    same bytes, not committed yet) the store answers 412, and the SDK goes on to commit, which verifies it."""
    body = b"uploaded by someone else first"
    src = write_tree(tmp_path / "src", {"m.bin": body})
    if storage == "s3":
        async def put_first() -> None:
            rt = build_runtime(live.settings)
            await rt.blobs.start()
            try:
                sha = hashlib.sha256(body).hexdigest()
                await rt.blobs._client.put_object(Bucket=rt.blobs.bucket, Key=rt.blobs.key(sha), Body=body)
            finally:
                await rt.blobs.stop()
                await rt.db.dispose()

        asyncio.run(put_first())
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "m", type="model", path=src)
        assert version.state == "COMMITTED"
        assert read_tree(reg.download(version.ref, tmp_path / "out")) == {"m.bin": body}


def test_second_run_uses_the_first_ones_output(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    (tmp_path / "features.parquet").write_bytes(b"PAR1")
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        features = reg.log_artifact("churn", "features", type="dataset", path=tmp_path / "features.parquet")
        assert [f.path for f in features.files] == ["features.parquet"]  # a single file keeps its name
        run = reg.start_run("churn")
        run.use_artifact(features.ref)
        run.finish("FINISHED", summary={"auc": 0.91})
        view = reg.query("query($id: ID!) { run(id: $id) { status summary inputs { ref } } }", id=run.id)["run"]
        assert view == {"status": "FINISHED", "summary": {"auc": 0.91}, "inputs": [{"ref": "churn/features:v0"}]}


def test_versions_are_listed_page_by_page(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        for i in range(5):
            (tmp_path / "m.txt").write_text(str(i))
            reg.log_artifact("churn", "m", type="model", path=tmp_path / "m.txt")
        listed = list(reg.versions("churn/m", page_size=2))
        assert [v["index"] for v in listed] == [4, 3, 2, 1, 0]
        assert listed[0]["aliases"] == ["latest"] and listed[0]["state"] == "COMMITTED"
        with pytest.raises(NotFound):
            list(reg.versions("churn/ghost"))


def test_large_file_goes_up_in_parts(settings: Settings, tmp_path: Path, dialect: str, storage: str) -> None:
    small_parts = dataclasses.replace(settings, multipart_threshold=5 * MiB, part_size=5 * MiB)
    body = os.urandom(11 * MiB)
    src = write_tree(tmp_path / "big", {"weights.bin": body})
    with LiveServer(small_parts) as live, Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "big", type="model", path=src)
        out = reg.download(version.ref, tmp_path / "back")
        assert (out / "weights.bin").read_bytes() == body


def test_files_stream_in_constant_memory(live: LiveServer, tmp_path: Path) -> None:
    """Hashing, uploading and downloading a 48 MiB file never holds it in memory (server included)."""
    big = tmp_path / "src" / "weights.bin"
    big.parent.mkdir()
    with open(big, "wb") as f:
        for _ in range(48):
            f.write(os.urandom(MiB))
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        tracemalloc.start()
        try:
            version = reg.log_artifact("churn", "big", type="model", path=big.parent)
            reg.download(version.ref, tmp_path / "back")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Holding the file once would peak at >= 48 MiB. tracemalloc sees every thread of this worker (the server's
    # and whatever an earlier test left running), so the bound is half the file, not a tight one (16.1 MiB seen).
    assert peak < 24 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert (tmp_path / "back" / "weights.bin").stat().st_size == 48 * MiB


def test_errors_map_to_classes(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    with Registry(live.url, live.admin_token()) as reg:
        with pytest.raises(NotFound, match="project 'ghost'"):
            reg.resolve("ghost/model:production")
        reg.create_project("churn")
        with pytest.raises(Conflict):
            reg.create_project("churn")
        (tmp_path / "f").write_bytes(b"x")
        reg.log_artifact("churn", "m", type="model", path=tmp_path / "f")
        with pytest.raises(NotFound, match="'churn/m:v7' not found") as missing:
            reg.resolve("churn/m:v7")
        assert missing.value.code == "NOT_FOUND" and missing.value.details == {"ref": "churn/m:v7"}
        with pytest.raises(BadInput, match="invalid reference"):
            reg.resolve("not a ref")
        with pytest.raises(BadInput, match="Syntax Error"):  # the request itself is invalid (GRAPHQL_PARSE_FAILED)
            reg.query("query { resolve(ref: ")
        with pytest.raises(BadInput, match="invalid collection"):
            list(reg.versions("no-slash"))
    with Registry(live.url, "not-a-token") as reg, pytest.raises(Unauthenticated):
        reg.resolve("churn/m:v0")


def test_unreachable_server_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Registry(url) as reg, pytest.raises(Unreachable, match=f"cannot reach lineage-reg at {url}/graphql"):
        reg.query("{ projects { totalCount } }")


def test_defaults_come_from_the_environment(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEAGE_REG_URL", live.url + "/")
    monkeypatch.setenv("LINEAGE_REG_TOKEN", live.admin_token())
    with Registry() as reg:
        assert reg.url == live.url
        reg.create_project("from-env")
        assert reg.query("{ project(name: \"from-env\") { name } }") == {"project": {"name": "from-env"}}


def test_run_context_marks_failure_and_finishes_once(live: LiveServer, dialect: str) -> None:
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        with pytest.raises(RuntimeError), reg.start_run("churn") as crashed:
            raise RuntimeError("training crashed")
        with reg.start_run("churn") as early:
            early.finish("FINISHED", summary={"auc": 0.8})  # the block's end does not finish it again
        status = "query($id: ID!) { run(id: $id) { status summary } }"
        assert reg.query(status, id=crashed.id)["run"] == {"status": "FAILED", "summary": {}}
        assert reg.query(status, id=early.id)["run"] == {"status": "FINISHED", "summary": {"auc": 0.8}}


def test_download_refuses_a_tampered_blob(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    """A blob damaged at rest: DigestInvalid, no file (not even a temporary one), the old file untouched."""
    src = write_tree(tmp_path / "src", {"model.bin": b"good bytes", "a/b.txt": b"fine"})
    dest = write_tree(tmp_path / "deployed", {"model.bin": b"the previous model"})
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "m", type="model", path=src)
        blob = live.runtime.blobs.path(next(f.sha256 for f in version.files if f.path == "model.bin"))
        blob.chmod(0o644)
        blob.write_bytes(b"evil bytes")  # same size, other content
        with pytest.raises(DigestInvalid, match="model.bin"):
            reg.download(version.ref, dest)
    leftovers = read_tree(dest)
    assert leftovers.pop("model.bin") == b"the previous model"
    assert leftovers in ({}, {"a/b.txt": b"fine"})  # the intact file may have arrived first; nothing else did


async def chunks_of(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_write_verified_keeps_nothing_on_mismatch(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.bin"
    with pytest.raises(DigestInvalid):
        await write_verified(target, "0" * 64, chunks_of(b"not ", b"those bytes"))
    assert list((tmp_path / "sub").iterdir()) == []
    good = b"those bytes"
    assert (await write_verified(target, hashlib.sha256(good).hexdigest(), chunks_of(good))).read_bytes() == good


async def test_write_verified_cleans_up_when_the_stream_breaks(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"half"
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        await write_verified(tmp_path / "f.bin", "0" * 64, broken())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["../escape", "a/../../escape", "/etc/passwd", "."])
def test_safe_target_refuses_escapes(tmp_path: Path, path: str) -> None:
    with pytest.raises(BadInput, match="outside"):
        safe_target(tmp_path / "dest", path)


@pytest.mark.parametrize("concurrency", [1, 3])
def test_uploads_run_in_parallel_up_to_the_bound(live: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 concurrency: int) -> None:
    src = write_tree(tmp_path / "src", {f"shard-{i}.bin": os.urandom(1024) for i in range(8)})
    running, most = 0, 0
    original = Transfers.upload

    async def spy(self: Transfers, *args: Any) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)  # long enough for every allowed upload to have started
        try:
            await original(self, *args)
        finally:
            running -= 1

    monkeypatch.setattr(Transfers, "upload", spy)
    with Registry(live.url, live.admin_token(), concurrency=concurrency) as reg:
        reg.create_project("churn")
        assert len(reg.log_artifact("churn", "shards", type="model", path=src).files) == 8
    assert most == concurrency


def test_the_issue_api_shape(live: LiveServer, tmp_path: Path, dialect: str) -> None:
    """The SDK as the issue writes it: connect, keyword start_run, use (downloads + lineage), log_metrics with a
    dict, log_artifact(path, name=...), link/set_alias with a Version, download(root=...)."""
    import lineage_reg as lr

    train = write_tree(tmp_path / "train", {"part-0.csv": b"x,y\n1,0\n", "schema/cols.txt": b"x y"})
    model = write_tree(tmp_path / "out" / "model", {"weights.bin": os.urandom(4096), "config.json": b"{}"})
    with lr.connect(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        reg.log_artifact("churn", "train-set", type="dataset", path=train)
        with reg.start_run(project="churn", config={"lr": 0.1}) as run:
            run.use_dataset("s3://lake", "events/2026-11")
            local = run.use("churn/train-set:latest", root=tmp_path / "inputs")
            assert local == tmp_path / "inputs" and read_tree(local) == read_tree(train)
            run.log_metrics({"auc": 0.91}, step=10)
            run.log_metrics({"auc": 0.93})  # the next step: 11
            run.log_metrics(12, {"auc": 0.94})  # the older positional form
            v = run.log_artifact(tmp_path / "out" / "model", name="classifier", type="model",
                                 aliases=["candidate"], metadata={"auc": 0.94})
        assert reg.link(v, "churn/classifier-prod", aliases=["staging"]) == "churn/classifier-prod:v0"
        reg.set_alias("churn/classifier-prod", "production", v)
        path = reg.download("churn/classifier-prod:production", root=tmp_path / "serve")
        assert path == tmp_path / "serve" and read_tree(path) == read_tree(model)
        view = reg.query("query($id: ID!) { run(id: $id) { status inputs { ref } datasetsRead { namespace name } "
                         "outputs { ref aliases } metrics(key: \"auc\") { step value } } }", id=run.id)["run"]
        assert view == {"status": "FINISHED", "inputs": [{"ref": "churn/train-set:v0"}],
                        "datasetsRead": [{"namespace": "s3://lake", "name": "events/2026-11"}],
                        "outputs": [{"ref": "churn/classifier:v0", "aliases": ["candidate", "latest"]}],
                        "metrics": [{"step": 10, "value": 0.91}, {"step": 11, "value": 0.93},
                                    {"step": 12, "value": 0.94}]}
        assert run.use("churn/train-set:v0").ref == "churn/train-set:v0"  # without root: the Version
        with pytest.raises(BadInput, match="neither a file nor a directory"):
            reg.log_artifact("churn", "ghost", type="model", path=tmp_path / "does-not-exist")
        with pytest.raises(TypeError):
            run.log_metrics("auc", 0.9)


@pytest.mark.parametrize("size", [100, 20 * 1024 * 1024])
async def test_write_verified_keeps_only_bytes_that_hash_right(tmp_path: Path, size: int) -> None:
    body = os.urandom(size)
    chunks = [body[i:i + 65536] for i in range(0, size, 65536)]
    good = hashlib.sha256(body).hexdigest()
    assert (await write_verified(tmp_path / "ok.bin", good, chunks_of(*chunks), sync=False)).read_bytes() == body
    with pytest.raises(DigestInvalid, match="bad.bin"):
        await write_verified(tmp_path / "bad.bin", good, chunks_of(*chunks[:-1], b"x"), sync=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.bin"]  # nothing partial, nothing wrong
