"""The SDK moving bytes against a real server (local and S3 storage): big files, dedup, resumed uploads,
transient failures, the download cache, damaged and failed downloads. Faults are injected in the client's
own httpx transport, in front of the real server; nothing of the server is replaced."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import LiveServer
from lineage_reg.client import DigestInvalid, Registry, RegistryError, Version
from lineage_reg.client.cache import CacheUsage
from support.trees import read_tree, write_tree
from support.faults import QUICK, Faulty

MiB = 1024 * 1024
def big_file(path: Path, mib: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(MiB))
    return path


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@pytest.mark.dialects("sqlite")
def test_nested_tree_with_a_200_mib_file_round_trips(live: LiveServer, tmp_path: Path, storage: str) -> None:
    small = {"config.json": b"{}", "tok/vocab.txt": b"a b c", "tok/deep/er/merges.txt": b"ab", "empty": b""}
    src = write_tree(tmp_path / "out", small)
    big = big_file(src / "weights" / "model.bin", 200)
    counting = Faulty()
    with Registry(live.url, live.admin_token(), transport=counting) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "big", type="model", path=src)
        assert {f.path: f.size for f in version.files}["weights/model.bin"] == 200 * MiB
        back = reg.download(version.ref, root=tmp_path / "back")
        assert read_tree(back).keys() == {*small, "weights/model.bin"}
        assert sha256_of(back / "weights" / "model.bin") == sha256_of(big)
        assert {k: v for k, v in read_tree(back).items() if k in small} == small

        assert counting.fetched() == 5  # every file once
        assert counting.batches == ([2, 2] if storage == "local" else [])  # the local store's 4 small files: 2 requests
        again = reg.download(version.ref, root=tmp_path / "again")  # from the cache: no byte over the network
        assert counting.fetched() == 5
        assert sha256_of(again / "weights" / "model.bin") == sha256_of(big)
        assert not list(back.rglob(".*.part")) and not list(again.rglob(".*.part"))


@pytest.mark.dialects("sqlite")
def test_second_log_uploads_nothing(live: LiveServer, tmp_path: Path, storage: str) -> None:
    src = write_tree(tmp_path / "out", {f"shard-{i}.bin": os.urandom(64 * 1024) for i in range(6)})
    counting = Faulty()
    with Registry(live.url, live.admin_token(), transport=counting) as reg:
        reg.create_project("churn")
        first = reg.log_artifact("churn", "m", type="model", path=src)
        assert counting.count("PUT") == 6
        again = reg.log_artifact("churn", "m", type="model", path=src)
        elsewhere = reg.log_artifact("churn", "copy", type="model", path=src)  # same blobs, another artifact
    assert again.id == first.id and elsewhere.ref == "churn/copy:v0"
    assert counting.count("PUT") == 6  # nothing sent twice


def test_interrupted_upload_is_resumed_by_logging_again(live: LiveServer, tmp_path: Path, storage: str) -> None:
    files = {f"shard-{i}.bin": os.urandom(MiB) for i in range(6)}
    src = write_tree(tmp_path / "out", files)
    cut = Faulty(budget=int(2.5 * MiB))  # two shards get through, then the network is gone
    # One at a time: with several in flight, the cut would land in all of them, or a sibling cancelled by the
    # failure could be stored by the server unseen by the client.
    with Registry(live.url, live.admin_token(), transport=cut, retry=QUICK, concurrency=1) as reg:
        reg.create_project("churn")
        with pytest.raises(RegistryError, match="upload of .* failed: WriteError"):
            reg.log_artifact("churn", "m", type="model", path=src)
    stored = sum(1 for m, _, status in cut.seen if m == "PUT" and status < 300)
    assert 1 <= stored < 6

    counting = Faulty()
    with Registry(live.url, live.admin_token(), transport=counting) as reg:
        version = reg.log_artifact("churn", "m", type="model", path=src)
        assert version.ref == "churn/m:v0" and version.state == "COMMITTED"  # the pending v0, finished
        assert counting.count("PUT") == 6 - stored  # only what the first try did not store (S3: the server looks)
        assert read_tree(reg.download(version.ref, root=tmp_path / "back")) == files


def test_transient_failures_are_retried_where_safe(live: LiveServer, tmp_path: Path) -> None:
    src = write_tree(tmp_path / "out", {"a.bin": b"a" * 1000, "b.bin": b"b" * 1000})
    with Registry(live.url, live.admin_token()) as admin:
        admin.create_project("churn")
    flaky_put = Faulty(status=503, status_times=2, match="PUT")
    with Registry(live.url, live.admin_token(), transport=flaky_put, retry=QUICK) as reg:
        version = reg.log_artifact("churn", "m", type="model", path=src)  # two PUTs answered 503 first
        assert [s for _, _, s in flaky_put.seen if s == 503] == [503, 503]
        assert flaky_put.count("PUT") == 4 and version.state == "COMMITTED"

    flaky_query = Faulty(status=502, status_times=2, match="POST")
    with Registry(live.url, live.admin_token(), transport=flaky_query, retry=QUICK) as reg:
        assert reg.resolve("churn/m:latest").id == version.id  # a query: tried again
        assert flaky_query.count("POST") == 3

    flaky_mutation = Faulty(status=503, status_times=1, match="POST")
    with Registry(live.url, live.admin_token(), transport=flaky_mutation, retry=QUICK) as reg:
        with pytest.raises(RegistryError, match="HTTP 503"):
            reg.set_alias("churn/m", "candidate", version)  # may have reached the server: not sent twice
        assert flaky_mutation.count("POST") == 1

    refused_once = Faulty(connect_errors=1)
    with Registry(live.url, live.admin_token(), transport=refused_once, retry=QUICK) as reg:
        reg.set_alias("churn/m", "candidate", version)  # never reached the server: safe to send again
        assert reg.resolve("churn/m:candidate").id == version.id

    always = Faulty(status=503, status_times=99, match="POST")
    with Registry(live.url, live.admin_token(), transport=always, retry=QUICK) as reg:
        with pytest.raises(RegistryError, match="answered HTTP 503"):
            reg.resolve("churn/m:latest")
        assert always.count("POST") == QUICK.attempts  # bounded


@contextmanager
def downloaded_once(live: LiveServer, tmp_path: Path) -> Iterator[tuple[Registry, Version, bytes, Faulty]]:
    """A registry whose cache holds model.bin of churn/m:v0, downloaded once into tmp_path/one."""
    body = os.urandom(100_000)
    src = write_tree(tmp_path / "out", {"model.bin": body})
    counting = Faulty()
    with Registry(live.url, live.admin_token(), transport=counting) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "m", type="model", path=src)
        reg.download(version, root=tmp_path / "one")
        yield reg, version, body, counting


def test_a_damaged_cache_entry_is_fetched_again(live: LiveServer, tmp_path: Path, blob_cache: Path) -> None:
    with downloaded_once(live, tmp_path) as (reg, version, body, counting):
        cached = blob_cache / "blobs" / version.files[0].sha256[:2] / version.files[0].sha256
        assert cached.read_bytes() == body
        assert cached.stat().st_ino == (tmp_path / "one" / "model.bin").stat().st_ino  # shared, not written twice
        (tmp_path / "one" / "model.bin").unlink()  # the cache keeps the bytes
        cached.write_bytes(body[:50_000])  # truncated behind our back
        reg.download(version, root=tmp_path / "two")
        assert (tmp_path / "two" / "model.bin").read_bytes() == body
        assert counting.count("GET") == 2
        assert cached.read_bytes() == body
    with Registry(live.url, live.admin_token(), cache=False, transport=counting) as reg:
        reg.download(version, root=tmp_path / "three")  # no cache: over the network again
        assert counting.count("GET") == 3 and (tmp_path / "three" / "model.bin").read_bytes() == body


def test_a_downloaded_file_edited_in_place_is_not_served_from_the_cache(live: LiveServer, tmp_path: Path,
                                                                          blob_cache: Path) -> None:
    with downloaded_once(live, tmp_path) as (reg, version, body, counting):
        with open(tmp_path / "one" / "model.bin", "r+b") as f:  # the user's file, which shares the cache's bytes
            f.write(b"fine-tuned in place")
        reg.download(version, root=tmp_path / "two")
        assert (tmp_path / "two" / "model.bin").read_bytes() == body
        assert counting.count("GET") == 2  # the edited entry was dropped, the blob fetched again
        reg.download(version, root=tmp_path / "three")
        assert counting.count("GET") == 2 and (tmp_path / "three" / "model.bin").read_bytes() == body


def test_a_cache_directory_deleted_under_a_running_registry_is_made_again(live: LiveServer, tmp_path: Path,
                                                                            blob_cache: Path) -> None:
    import shutil

    with downloaded_once(live, tmp_path) as (reg, version, body, counting):
        shutil.rmtree(blob_cache)  # `rm -rf ~/.cache/lineage-reg` while a deploy bot runs
        reg.download(version, root=tmp_path / "two")
        assert reg.cache is not None and reg.cache.usage().entries == 1  # cached again
        reg.download(version, root=tmp_path / "three")
        assert counting.count("GET") == 2 and (tmp_path / "three" / "model.bin").read_bytes() == body


def test_the_cache_keeps_to_its_bound_least_recently_used_first(live: LiveServer, tmp_path: Path,
                                                                 blob_cache: Path) -> None:
    bodies = {name: os.urandom(100_000) for name in ("a", "b", "c")}
    counting = Faulty()
    with Registry(live.url, live.admin_token(), transport=counting, cache_max_bytes=250_000) as reg:
        reg.create_project("churn")
        versions = {name: reg.log_artifact("churn", name, type="model", path=write_tree(tmp_path / name, {"m": body}))
                    for name, body in bodies.items()}
        for name in ("a", "b"):
            reg.download(versions[name], root=tmp_path / f"{name}-1")
            time.sleep(0.05)  # (file times tick coarsely)
        reg.download(versions["a"], root=tmp_path / "a-2")  # a is used again: b is now the oldest
        assert counting.count("GET") == 2
        time.sleep(0.05)
        reg.download(versions["c"], root=tmp_path / "c-1")  # 300,000 bytes > 250,000: b goes
        assert reg.cache is not None and reg.cache.usage().entries == 2
        time.sleep(0.05)
        reg.download(versions["a"], root=tmp_path / "a-3")
        time.sleep(0.05)
        assert counting.count("GET") == 3  # a stayed
        reg.download(versions["b"], root=tmp_path / "b-2")
        assert counting.count("GET") == 4  # b was pruned
        assert reg.cache.usage().bytes <= 250_000
        assert reg.cache.prune(0) == CacheUsage(entries=2, bytes=200_000) and reg.cache.usage().entries == 0
    assert all((tmp_path / d / "m").read_bytes() == bodies[d[0]] for d in ("a-1", "b-1", "a-2", "c-1", "a-3", "b-2"))


@pytest.mark.dialects("sqlite")
def test_a_tampered_blob_is_refused_on_s3_too(live: LiveServer, tmp_path: Path, storage: str) -> None:
    src = write_tree(tmp_path / "src", {"model.bin": b"good bytes"})
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "m", type="model", path=src)
        sha = version.files[0].sha256
        if storage == "s3":
            import boto3

            bucket, prefix = live.settings.storage_url.removeprefix("s3://").split("/", 1)
            s3 = boto3.client("s3", endpoint_url=live.settings.s3_endpoint_url, region_name="us-east-1")
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"] if sha in o["Key"]]
            assert len(keys) == 1
            s3.put_object(Bucket=bucket, Key=keys[0], Body=b"evil bytes")
        else:
            blob = live.runtime.blobs.path(sha)
            blob.chmod(0o644)
            blob.write_bytes(b"evil bytes")
        with pytest.raises(DigestInvalid, match="model.bin"):
            reg.download(version.ref, root=tmp_path / "deployed")
    assert not (tmp_path / "deployed").exists() or list((tmp_path / "deployed").rglob("*")) == []


DOWNLOAD_WITH_A_SMALL_DISK = """
import resource, signal, sys
from lineage_reg.client import Registry
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))  # no file may grow past 1 MiB: "disk full"
url, token, ref, dest, cache = sys.argv[1:]
try:
    Registry(url, token, cache=cache == "cache").download(ref, root=dest)
except OSError as exc:
    print(f"OSError errno={exc.errno}: {exc}")
    sys.exit(3)
"""


@pytest.mark.parametrize("cache", ["cache", "no-cache"])
def test_disk_full_while_downloading_leaves_no_partial_file(live: LiveServer, tmp_path: Path, cache: str,
                                                            blob_cache: Path) -> None:
    files = {"small.txt": b"fits", "weights.bin": os.urandom(3 * MiB)}
    src = write_tree(tmp_path / "out", files)
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        version = reg.log_artifact("churn", "m", type="model", path=src)
    dest = tmp_path / "deployed"
    run = subprocess.run([sys.executable, "-c", DOWNLOAD_WITH_A_SMALL_DISK, live.url, live.admin_token(),
                          version.ref, str(dest), cache], capture_output=True, text=True, timeout=60)
    assert run.returncode == 3, run.stderr
    assert "errno=27" in run.stdout and "weights.bin" in run.stdout  # EFBIG, naming the file
    assert sorted(p.name for p in dest.rglob("*")) in ([], ["small.txt"])  # complete files only
    assert not [p for p in blob_cache.rglob("*") if p.is_file() and p.name.endswith(".part")]
