"""Moving bytes: a 1 GiB file and 1,000 x 100 KiB files through the local backend and through S3 (moto).

    .venv/bin/python bench/storage.py [--size-mib 1024] [--small 1000] [--small-kib 100]
                                      [--repeat 3] [--backend local|s3|both]

Writes random files to a temporary directory ($TMPDIR or /tmp), then per
backend starts ``lineage-reg serve`` (SQLite) as a subprocess and per file set:

* upload: ``createArtifactVersion`` (one version with every file of the set),
  PUTs streamed from disk by httpx (8 files, or 4 parts of the big file, at a
  time, keep-alive), ``completeUpload`` for multipart, ``commitArtifactVersion``
  (on S3 the commit verifies: the server streams each new object through
  sha256). MB/s is create-to-committed; the client's manifest hashing is untimed.
* download: every ``File.downloadUrl`` (paged) streamed to disk, 8 at a time;
  the client writes but does not hash (the baselines don't either).

Baselines: local, ``shutil.copyfile`` of the same files on the same disk (one
figure for both directions); S3, aiobotocore straight to the same moto server
(``put_object``; the big file in 64 MiB parts 4 at a time via
``create_multipart_upload``/``upload_part``; ``get_object`` streamed to disk).
moto runs in its own subprocess (no GIL shared with the client). Nothing is
fsynced, ours or baseline; every timed phase starts after ``os.sync()``.

Each measurement runs ``--repeat`` times (fresh bytes each time, so nothing
deduplicates) and the fastest run counts, ours and baselines alike: this
machine's two cores are shared with whatever else runs. Server CPU (utime +
stime from /proc) belongs to that fastest run; the server's VmRSS, polled every
50 ms, is its value before the first run and its peak over all runs.
MB/s = 10^6 bytes/s. Targets: local >= 50 % of the plain copy; server RSS
growth < 100 MiB for the big file.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import cpu_ms  # noqa: E402
from hot_path import Registry, free_port  # noqa: E402

MiB = 1024 * 1024
PART = 64 * MiB  # the server's default part size; the aiobotocore baseline uses it too
CREATE = """mutation($i: CreateArtifactVersionInput!) { createArtifactVersion(input: $i) {
  version { id } uploads { sha256 url method headers uploadId parts { number url offset size } } } }"""
COMPLETE = ("mutation($s: String!, $n: Float!, $u: String!, $p: [CompletedPartInput!]!) "
            "{ completeUpload(sha256: $s, size: $n, uploadId: $u, parts: $p) }")
COMMIT = "mutation($v: ID!) { commitArtifactVersion(version: $v) { state } }"
FILES = """query($v: ID!, $after: String) { node(id: $v) { ... on ArtifactVersion {
  files(first: 500, after: $after) { edges { node { downloadUrl } } pageInfo { hasNextPage endCursor } } } } }"""


def read_slice(path: Path, offset: int, size: int) -> Iterator[bytes]:
    """``size`` bytes from ``offset`` (fewer at the end of the file), 1 MiB at a time, straight from disk."""
    with open(path, "rb") as f:
        f.seek(offset)
        while size > 0 and (chunk := f.read(min(MiB, size))):
            size -= len(chunk)
            yield chunk


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class Probe:
    """One process during a block: VmRSS before and peak (polled every 50 ms), CPU seconds used."""

    def __init__(self, pid: int) -> None:
        self.pid, self._stop = pid, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def rss(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) * 1024

    def _poll(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> Probe:
        self.base = self.peak = self.rss()
        self._cpu = cpu_ms([self.pid])
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak, self.cpu = max(self.peak, self.rss()), (cpu_ms([self.pid]) - self._cpu) / 1000


class Client:
    def __init__(self, server: Registry) -> None:
        self.api = httpx.Client(base_url=server.url, headers=server.headers, timeout=600)
        self.raw = httpx.Client(timeout=600, limits=httpx.Limits(max_connections=16, max_keepalive_connections=16))
        self.completing: list[float] = []  # seconds spent in completeUpload

    def close(self) -> None:
        self.api.close()
        self.raw.close()

    def gql(self, query: str, **variables: object) -> dict:
        body = self.api.post("/graphql", json={"query": query, "variables": variables}).json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]

    def put(self, url: str, path: Path, offset: int, size: int, headers: dict[str, str]) -> httpx.Response:
        r = self.raw.put(url, content=read_slice(path, offset, size), headers={**headers, "Content-Length": str(size)})
        r.raise_for_status()
        return r

    def upload(self, target: dict, path: Path) -> None:
        """PUT one blob, or its parts 4 at a time and then completeUpload."""
        if not target["parts"]:
            self.put(target["url"], path, 0, path.stat().st_size, target["headers"])
            return
        with ThreadPoolExecutor(4) as pool:
            etags = list(pool.map(lambda p: {"number": p["number"], "etag": self.put(
                p["url"], path, int(p["offset"]), int(p["size"]), {}).headers["etag"]}, target["parts"]))
        t = time.perf_counter()
        self.gql(COMPLETE, s=target["sha256"], n=path.stat().st_size, u=target["uploadId"], p=etags)
        self.completing.append(time.perf_counter() - t)

    def download(self, url: str, dest: Path) -> None:
        with self.raw.stream("GET", url) as r, open(dest, "wb") as f:
            r.raise_for_status()
            for chunk in r.iter_raw():
                f.write(chunk)


def ours(server: Registry, name: str, files: dict[str, Path], out: Path) -> dict:
    """One version of ``files``: create -> upload -> commit, then download it all. Seconds and probes."""
    client = Client(server)
    manifest = [{"path": p, "size": f.stat().st_size, "sha256": sha256_of(f)} for p, f in files.items()]
    by_sha = {m["sha256"]: files[m["path"]] for m in manifest}
    os.sync()
    with Probe(server.proc.pid) as up, ThreadPoolExecutor(8) as pool:
        t0 = time.perf_counter()
        created = client.gql(CREATE, i={"project": "bench", "artifact": name, "type": "model", "files": manifest})
        created = created["createArtifactVersion"]
        t1 = time.perf_counter()
        list(pool.map(lambda u: client.upload(u, by_sha[u["sha256"]]), created["uploads"]))
        t2 = time.perf_counter()
        client.gql(COMMIT, v=created["version"]["id"])
        t3 = time.perf_counter()
    urls, page = [], {"pageInfo": {"hasNextPage": True, "endCursor": None}}
    while page["pageInfo"]["hasNextPage"]:  # 500 files a page at most
        page = client.gql(FILES, v=created["version"]["id"], after=page["pageInfo"]["endCursor"])["node"]["files"]
        urls += [e["node"]["downloadUrl"] for e in page["edges"]]
    assert len(urls) == len(files), (len(urls), len(files))
    out.mkdir()
    os.sync()
    with Probe(server.proc.pid) as down, ThreadPoolExecutor(8) as pool:
        t4 = time.perf_counter()
        list(pool.map(lambda iu: client.download(iu[1], out / str(iu[0])), enumerate(urls)))
        t5 = time.perf_counter()
    shutil.rmtree(out)
    client.close()
    done = sum(client.completing)
    split = (f"create {t1 - t0:.2f} + PUT {t2 - t1 - done:.2f}" + (f" + complete {done:.2f}" if done else "")
             + f" + commit/verify {t3 - t2:.2f}")
    return {"upload": (t3 - t0, up, split), "download": (t5 - t4, down, "")}


def plain_copy(files: dict[str, Path], out: Path) -> tuple[float, float]:
    out.mkdir()
    os.sync()
    t = time.perf_counter()
    for i, f in enumerate(files.values()):
        shutil.copyfile(f, out / str(i))
    seconds = time.perf_counter() - t
    shutil.rmtree(out)
    return seconds, seconds


async def direct_s3(endpoint: str, bucket: str, files: dict[str, Path], out: Path) -> tuple[float, float]:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    config = AioConfig(s3={"addressing_style": "path"}, max_pool_connections=16)
    gate = asyncio.Semaphore(8)
    async with get_session().create_client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config) as s3:
        async def part(key: str, upload_id: str, path: Path, n: int, off: int, sem: asyncio.Semaphore) -> dict:
            async with sem:  # at most 4 parts of 64 MiB in memory at once
                body = await asyncio.to_thread(lambda: b"".join(read_slice(path, off, PART)))
                r = await s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=body)
                return {"PartNumber": n, "ETag": r["ETag"]}

        async def put(key: str, path: Path) -> None:
            size = path.stat().st_size
            async with gate:
                if size <= PART:
                    await s3.put_object(Bucket=bucket, Key=key, Body=await asyncio.to_thread(path.read_bytes))
                    return
                up = (await s3.create_multipart_upload(Bucket=bucket, Key=key))["UploadId"]
                sem = asyncio.Semaphore(4)
                parts = await asyncio.gather(*(part(key, up, path, n, off, sem)
                                               for n, off in enumerate(range(0, size, PART), 1)))
                await s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up,
                                                   MultipartUpload={"Parts": list(parts)})

        async def get(key: str, dest: Path) -> None:
            async with gate:
                obj = await s3.get_object(Bucket=bucket, Key=key)
                with open(dest, "wb") as f:
                    async with obj["Body"] as body:
                        while chunk := await body.read(MiB):
                            f.write(chunk)

        os.sync()
        t = time.perf_counter()
        await asyncio.gather(*(put(f"direct/{p}", f) for p, f in files.items()))
        up = time.perf_counter() - t
        out.mkdir()
        os.sync()
        t = time.perf_counter()
        await asyncio.gather(*(get(f"direct/{p}", out / str(i)) for i, p in enumerate(files)))
        down = time.perf_counter() - t
    shutil.rmtree(out)
    return up, down


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(endpoint, timeout=1)
            import boto3

            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="bench-blobs")
            return proc, endpoint
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("moto did not start")


def measure(backend: str, server: Registry, endpoint: str, label: str, files: dict[str, Path], work: Path,
            repeat: int) -> list[str]:
    """``repeat`` runs of ours and of the baseline; table rows from the fastest of each."""
    runs, bases = [], []
    for r in range(repeat):
        for f in files.values():  # fresh bytes: otherwise the registry deduplicates the second run
            with open(f, "r+b") as fh:
                fh.write(f"{label}/{r}".encode().ljust(16))
        runs.append(ours(server, f"{'big' if len(files) == 1 else 'small'}-{r}", files, work / "down"))
        bases.append(plain_copy(files, work / "copy") if backend == "local"
                     else asyncio.run(direct_s3(endpoint, "bench-blobs", files, work / "direct")))
    nbytes = sum(f.stat().st_size for f in files.values())
    big = len(files) == 1
    rows = []
    for i, way in enumerate(("upload", "download")):
        secs, probe, split = min((run[way] for run in runs), key=lambda x: x[0])
        base = min(b[i] for b in bases)
        base_rss, peak = runs[0][way][1].base, max(run[way][1].peak for run in runs)
        ratio = base / secs
        target = ("met" if ratio >= 0.5 else "MISSED") if backend == "local" else "-"
        rss_target = ("met" if peak - base_rss < 100 * MiB else "MISSED") if big else "-"
        name = "local" if backend == "local" else "s3 (moto)"
        rows.append(f"| {name} | {label} | {way} | {nbytes / 1e6 / secs:,.0f} | {nbytes / 1e6 / base:,.0f} | "
                    f"{ratio:.0%} | {target} | {secs:.2f}{f' ({split})' if split else ''} | {probe.cpu:.2f} | "
                    f"{base_rss / MiB:.0f} -> {peak / MiB:.0f} (+{(peak - base_rss) / MiB:.0f}) | {rss_target} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--small-kib", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backend", choices=("local", "s3", "both"), default="both")
    args = ap.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    rows: list[str] = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        work = Path(tmp)
        with open(work / "big.bin", "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(MiB))
        (work / "small").mkdir()
        for i in range(args.small):
            (work / "small" / f"f{i:04d}.bin").write_bytes(os.urandom(args.small_kib * 1024))
        sets = {f"1 x {args.size_mib} MiB": {"big.bin": work / "big.bin"},
                f"{args.small} x {args.small_kib} KiB": {p.name: p for p in sorted((work / "small").iterdir())}}
        moto, endpoint = start_moto() if args.backend != "local" else (None, "")
        try:
            for backend in ("local", "s3") if args.backend == "both" else (args.backend,):
                env = {} if backend == "local" else {
                    "LINEAGE_REG_STORAGE_URL": "s3://bench-blobs/registry", "LINEAGE_REG_S3_ENDPOINT_URL": endpoint,
                    "LINEAGE_REG_S3_REGION": "us-east-1"}
                server = Registry(work / backend, env)
                try:
                    setup = Client(server)
                    setup.gql('mutation { createProject(name: "bench") { id } }')
                    setup.close()
                    for label, files in sets.items():
                        rows += measure(backend, server, endpoint, label, files, work, args.repeat)
                finally:
                    server.stop()
        finally:
            if moto is not None:
                moto.terminate()
                moto.wait(10)
    print(f"\nbest of {args.repeat}; local baseline = shutil.copyfile, s3 baseline = aiobotocore direct to moto; "
          f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after (2 cores)\n")
    print("| backend | files | way | lineage-reg MB/s | baseline MB/s | ours / baseline | >= 50 % (local) | "
          "seconds | server CPU s | server RSS MiB before -> peak (growth) | growth < 100 MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
