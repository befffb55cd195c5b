"""Small files many to a request: ``POST /files/batch`` on the local store, and the SDK using it (or falling
back to one GET per file where it can't), against a real server over real HTTP."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from conftest import LiveServer
from lineage_reg.client import DigestInvalid, Registry, Version
from support.trees import read_tree, write_tree
from support.faults import QUICK, Faulty

pytestmark = pytest.mark.dialects("sqlite")


def many_small(count: int) -> dict[str, bytes]:
    files = {f"shards/{i:03d}.bin": os.urandom(100 + 37 * i) for i in range(count)}
    files["shards/empty-a"] = b""
    files["zz-empty"] = b""  # empty files last: nothing follows them in the stream
    return files


def logged(live: LiveServer, src: Path) -> Version:
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        return reg.log_artifact("churn", "shards", type="dataset", path=src)


def test_small_files_come_a_batch_at_a_time(live: LiveServer, tmp_path: Path, storage: str) -> None:
    files = many_small(150)
    version = logged(live, write_tree(tmp_path / "src", files))
    counting = Faulty()
    with Registry(live.url, live.admin_token(), transport=counting, concurrency=4) as reg:
        back = reg.download(version.ref, root=tmp_path / "back")
        assert read_tree(back) == files
        assert counting.fetched() == len(files)  # every file once
        if storage == "local":
            assert counting.count("GET") == 0 and counting.batches == [38, 38, 38, 38]  # 4 requests share them
        else:  # S3 presigns a URL per object: no batches there
            assert counting.batches == [] and counting.count("GET") == len(files)
        reg.download(version.ref, root=tmp_path / "again")  # from the cache
        assert counting.fetched() == len(files) and read_tree(tmp_path / "again") == files
    assert not list(back.rglob(".*.part"))


def test_batches_stay_within_their_byte_bound(live: LiveServer, tmp_path: Path) -> None:
    files = {f"{i:02d}.bin": os.urandom(200 * 1024) for i in range(41)}  # 8.2 MB, each file batchable
    version = logged(live, write_tree(tmp_path / "src", files))
    counting = Faulty()
    with Registry(live.url, live.admin_token(), transport=counting, concurrency=1) as reg:
        assert read_tree(reg.download(version.ref, root=tmp_path / "back")) == files
    assert counting.batches == [20, 20]  # 4 MiB holds 20 of them; the last one alone goes as a GET
    assert counting.count("GET") == 1


def test_a_tampered_blob_in_a_batch_is_refused_and_not_written(live: LiveServer, tmp_path: Path) -> None:
    files = many_small(10)
    version = logged(live, write_tree(tmp_path / "src", files))
    victim = next(f for f in version.files if f.path == "shards/004.bin")
    blob = live.runtime.blobs.path(victim.sha256)
    blob.chmod(0o644)
    blob.write_bytes(bytes(b ^ 1 for b in blob.read_bytes()))  # same size, other bytes
    counting = Faulty()
    with Registry(live.url, live.admin_token(), transport=counting, cache=False, concurrency=1) as reg:
        with pytest.raises(DigestInvalid, match="shards/004.bin"):
            reg.download(version.ref, root=tmp_path / "deployed")
    assert counting.batches == [len(files)]
    written = read_tree(tmp_path / "deployed")
    assert "shards/004.bin" not in written and not list((tmp_path / "deployed").rglob(".*.part"))
    assert all(files[path] == body for path, body in written.items())  # what was placed is whole and right


class CutBatch(Faulty):
    """Cuts the first batch response off after ``after`` bytes of its body."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.after = after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        resp = await super().handle_async_request(request)
        if request.url.path.endswith("/files/batch") and self.after >= 0:
            resp.stream = self.Broken(resp.stream, self.after)  # type: ignore[arg-type]
            self.after = -1
        return resp

    class Broken(httpx.AsyncByteStream):
        def __init__(self, inner: httpx.AsyncByteStream, after: int) -> None:
            self.inner, self.left = inner, after

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self.inner:
                if len(chunk) > self.left:
                    yield chunk[:self.left]
                    raise httpx.ReadError("injected: the connection dropped mid-batch")
                self.left -= len(chunk)
                yield chunk

        async def aclose(self) -> None:
            await self.inner.aclose()


def test_a_batch_cut_off_is_resumed_with_only_the_files_still_missing(live: LiveServer, tmp_path: Path) -> None:
    files = {f"{i:02d}.bin": os.urandom(1000) for i in range(20)}
    version = logged(live, write_tree(tmp_path / "src", files))
    cut = CutBatch(after=7_500)  # in the middle of the eighth file
    with Registry(live.url, live.admin_token(), transport=cut, retry=QUICK, concurrency=1) as reg:
        back = reg.download(version.ref, root=tmp_path / "back")
    assert read_tree(back) == files
    assert cut.batches == [20, 13]  # seven were placed before the cut; only the rest were asked for again
    assert not list(back.rglob(".*.part"))


def test_a_server_without_batches_gets_one_get_per_file(live: LiveServer, tmp_path: Path) -> None:
    files = many_small(12)
    version = logged(live, write_tree(tmp_path / "src", files))
    older = Faulty(status=404, status_times=99, match="POST /files/batch")  # as a server before batches answers
    with Registry(live.url, live.admin_token(), transport=older) as reg:
        assert read_tree(reg.download(version.ref, root=tmp_path / "back")) == files
    assert older.batches and older.count("GET", "/files/blobs/") == len(files)


async def test_the_batch_endpoint_checks_every_link_before_sending(live: LiveServer, tmp_path: Path) -> None:
    files = {"a.bin": b"a" * 10, "b.bin": b"bb", "c.bin": b"c" * 5}
    version = logged(live, write_tree(tmp_path / "src", files))
    links = [f.download_url for f in sorted(version.files, key=lambda f: f.path)]
    url = f"{live.url}/files/batch"
    async with httpx.AsyncClient() as http:
        ok = await http.post(url, json={"links": [links[2], links[0], links[2]]})  # any order, repeats
        assert ok.status_code == 200 and ok.content == b"c" * 5 + b"a" * 10 + b"c" * 5
        assert ok.headers["content-length"] == "20"

        forged = links[1].replace("sig=", "sig=0")
        refused = await http.post(url, json={"links": [links[0], forged]})
        assert refused.status_code == 403 and refused.content.startswith(b'{"errors"')
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "FORBIDDEN" and "links[1]" in error["message"]

        for body, says in ((b"not json", "must be JSON"), (b'{"links": "a"}', "list of strings"),
                           (b'{"links": []}', "1 to 1000"), (json.dumps({"links": [links[0]] * 1001}).encode(), "not 1001"),
                           (b'{"links": ["' + b"x" * (1 << 20) + b'"]}', "over 1048576 bytes"),
                           (b'{"links": ["http://h/files/blobs/nothex?expires=1&sig=2"]}', "invalid sha256")):
            bad = await http.post(url, content=body, headers={"Content-Type": "application/json"})
            assert bad.status_code == 400 and bad.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
            assert says is None or says in bad.json()["errors"][0]["message"], bad.text

        gone = next(f for f in version.files if f.path == "b.bin")
        live.runtime.blobs.path(gone.sha256).unlink()
        missing = await http.post(url, json={"links": links})
        assert missing.status_code == 404 and gone.sha256 in missing.json()["errors"][0]["message"]
