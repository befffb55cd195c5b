"""Moving bytes: a 1 GiB file and 1,000 x 100 KiB files through the local backend and through S3 (moto).

    python bench/storage.py [--size-mib 1024] [--small 1000] [--small-kib 100]

Local backend: upload (parts in parallel, then completeUpload, which hashes
the assembled file on the server) and download (`File.downloadUrl`, streamed
to disk and hashed, as the SDK does), next to a plain copy of the same bytes
on the same disk. S3: the same through presigned URLs against moto's server,
and commit-time verification (the server streams the object through sha256),
next to a direct aiobotocore multipart put / get of the same bytes. The
server's peak RSS is sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hot_path import Registry as Server  # noqa: E402

from lineage_reg.client.files import read_slice, sha256_of  # noqa: E402

MiB = 1024 * 1024
CREATE = """mutation($i: CreateArtifactVersionInput!) { createArtifactVersion(input: $i) {
  version { id } uploads { sha256 url method headers uploadId parts { number url offset size } } } }"""
COMPLETE = ("mutation($s: String!, $n: Float!, $u: String!, $p: [CompletedPartInput!]!) "
            "{ completeUpload(sha256: $s, size: $n, uploadId: $u, parts: $p) }")
COMMIT = "mutation($v: ID!) { commitArtifactVersion(version: $v) { id } }"
FILES = "query($v: ID!) { node(id: $v) { ... on ArtifactVersion { files(first: 500) { edges { node { path downloadUrl } } } } } }"


class RssPeak:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self.base = self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.sample())

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mib(self) -> float:
        return max(0, self.peak - self.base) / MiB


class Client:
    def __init__(self, server: Server) -> None:
        self.gql_http = httpx.Client(base_url=server.url, headers=server.headers, timeout=600)
        self.raw = httpx.Client(timeout=600, limits=httpx.Limits(max_connections=16))

    def gql(self, query: str, **variables: object) -> dict:
        body = self.gql_http.post("/graphql", json={"query": query, "variables": variables}).json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]

    def upload(self, target: dict, path: Path) -> None:
        if not target["parts"]:
            size = path.stat().st_size
            r = self.raw.request(target["method"], target["url"], content=read_slice(path, 0, size),
                                 headers={**target["headers"], "Content-Length": str(size)})
            r.raise_for_status()
            return

        def part(p: dict) -> dict:
            off, size = int(p["offset"]), int(p["size"])
            r = self.raw.put(p["url"], content=read_slice(path, off, size), headers={"Content-Length": str(size)})
            r.raise_for_status()
            return {"number": p["number"], "etag": r.headers["etag"]}

        with ThreadPoolExecutor(4) as pool:
            etags = list(pool.map(part, target["parts"]))
        self.gql(COMPLETE, s=target["sha256"], n=path.stat().st_size, u=target["uploadId"], p=etags)

    def download(self, url: str, dest: Path) -> None:
        h = hashlib.sha256()
        with self.raw.stream("GET", url) as r, open(dest, "wb") as f:
            for chunk in r.iter_bytes(MiB):
                h.update(chunk)
                f.write(chunk)


def mbps(nbytes: int, seconds: float) -> float:
    return nbytes / MiB / seconds


def round_trip(server: Server, name: str, files: dict[str, Path], work: Path) -> dict[str, float]:
    """Upload every file of one version (8 in parallel), commit, download them all; seconds per phase."""
    client = Client(server)
    manifest = [{"path": p, "size": f.stat().st_size, "sha256": sha256_of(f)} for p, f in files.items()]
    created = client.gql(CREATE, i={"project": "bench", "artifact": name, "type": "model", "files": manifest})
    by_sha = {m["sha256"]: files[m["path"]] for m in manifest}
    rss = RssPeak(server.proc.pid)
    with rss:
        t = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda u: client.upload(u, by_sha[u["sha256"]]), created["createArtifactVersion"]["uploads"]))
        up = time.perf_counter() - t
        t = time.perf_counter()
        vid = created["createArtifactVersion"]["version"]["id"]
        client.gql(COMMIT, v=vid)
        commit = time.perf_counter() - t
        urls = [e["node"]["downloadUrl"] for e in client.gql(FILES, v=vid)["node"]["files"]["edges"]]
        out = work / f"down-{name}"
        out.mkdir()
        t = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda iu: client.download(iu[1], out / str(iu[0])), enumerate(urls)))
        down = time.perf_counter() - t
    shutil.rmtree(out)
    return {"up": up, "commit": commit, "down": down, "rss": rss.growth_mib}


def plain_copy(files: dict[str, Path], work: Path) -> float:
    out = work / "copy"
    out.mkdir()
    t = time.perf_counter()
    for i, f in enumerate(files.values()):
        shutil.copyfile(f, out / str(i))
    seconds = time.perf_counter() - t
    shutil.rmtree(out)
    return seconds


async def direct_s3(endpoint: str, bucket: str, files: dict[str, Path]) -> tuple[float, float]:
    from aiobotocore.session import get_session

    async with get_session().create_client("s3", endpoint_url=endpoint, region_name="us-east-1") as s3:
        async def put(key: str, path: Path) -> None:
            size = path.stat().st_size
            if size <= 64 * MiB:
                await s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
                return
            up = await s3.create_multipart_upload(Bucket=bucket, Key=key)
            parts = []
            with open(path, "rb") as f:
                for n, off in enumerate(range(0, size, 64 * MiB), 1):
                    f.seek(off)
                    r = await s3.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=n,
                                             Body=f.read(64 * MiB))
                    parts.append({"PartNumber": n, "ETag": r["ETag"]})
            await s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"],
                                               MultipartUpload={"Parts": parts})

        gate = asyncio.Semaphore(8)

        async def bounded(coro: object) -> None:
            async with gate:
                await coro  # type: ignore[misc]

        t = time.perf_counter()
        await asyncio.gather(*(bounded(put(f"direct/{p}", f)) for p, f in files.items()))
        up = time.perf_counter() - t

        async def get(key: str) -> None:
            obj = await s3.get_object(Bucket=bucket, Key=key)
            async with obj["Body"] as body:
                while await body.read(MiB):
                    pass

        t = time.perf_counter()
        await asyncio.gather(*(bounded(get(f"direct/{p}")) for p in files))
        return up, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--small-kib", type=int, default=100)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR", "/tmp")) as tmp:
        work = Path(tmp)
        big = work / "big.bin"
        with open(big, "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(MiB))
        small_dir = work / "small"
        small_dir.mkdir()
        for i in range(args.small):
            (small_dir / f"f{i:04d}.bin").write_bytes(os.urandom(args.small_kib * 1024))
        sets = {
            f"1 x {args.size_mib} MiB": {"big.bin": big},
            f"{args.small} x {args.small_kib} KiB": {p.name: p for p in sorted(small_dir.iterdir())},
        }
        from moto.server import ThreadedMotoServer
        import boto3

        os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench-blobs")
        backends = {
            "local": {},
            "s3 (moto)": {"LINEAGE_REG_STORAGE_URL": "s3://bench-blobs/registry", "LINEAGE_REG_S3_ENDPOINT_URL": endpoint,
                          "LINEAGE_REG_S3_REGION": "us-east-1"},
        }
        for backend, env in backends.items():
            server = Server(work / backend.split()[0], env)
            try:
                http = httpx.Client(base_url=server.url, headers=server.headers)
                http.post("/graphql", json={"query": 'mutation { createProject(name: "bench") { id } }'})
                for label, files in sets.items():
                    nbytes = sum(f.stat().st_size for f in files.values())
                    ours = round_trip(server, label.replace(" ", "").replace("x", "-"), files, work)
                    if backend == "local":
                        base_up = base_down = plain_copy(files, work)
                        baseline = "plain copy"
                    else:
                        base_up, base_down = asyncio.run(direct_s3(endpoint, "bench-blobs", files))
                        baseline = "direct aiobotocore"
                    rows.append(f"| {backend} | {label} | {mbps(nbytes, ours['up']):.0f} | {mbps(nbytes, base_up):.0f} "
                                f"({base_up / ours['up']:.0%}) | {mbps(nbytes, ours['down']):.0f} | "
                                f"{mbps(nbytes, base_down):.0f} ({base_down / ours['down']:.0%}) | "
                                f"{ours['commit']:.2f} | {ours['rss']:.0f} | {baseline} |")
            finally:
                server.stop()
        moto.stop()
    print("| backend | files | upload MB/s | baseline MB/s (ours / baseline) | download MB/s | baseline MB/s "
          "(ours / baseline) | commit s | server RSS growth MiB | baseline |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\ntargets: local backend >= 50 % of the plain copy; server RSS growth < 100 MiB for the large file")


if __name__ == "__main__":
    main()
