"""The deploy bot's hot path, against a real lineage-reg server, next to a real MLflow server.

    python bench/hot_path.py [--seconds 5] [--models 100] [--versions 20] [--no-mlflow]

Starts ``lineage-reg serve`` (SQLite, one process) on a fresh data dir, fills it
with 100 registered models x 20 versions (3 files each, `production` on one
link per model), then measures over keep-alive connections:

* resolve:  ``resolve(ref: "bench/m-N:production") { ref digest files { … downloadUrl } }``
* create+commit: ``createArtifactVersion`` then ``commitArtifactVersion`` (blobs already stored)

sequentially (1 client) and with 8 concurrent clients: req/s, p50, p99 and the
server's CPU per request. Unless ``--no-mlflow``, it then does the same against
``mlflow server`` (SQLite) — alias lookup and model-version create — and prints
the ratios. MLflow runs from its own venv (``--mlflow-venv``, created on first
use with ``pip install mlflow==3.17.2``) so it never shares our dependencies.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import HEADER, Result, json_request, process_tree, run_load, send, simple  # noqa: E402

RESOLVE = ('query($ref: String!) { resolve(ref: $ref) { ref digest '
           'files { edges { node { path sha256 downloadUrl } } } } }')
CREATE = ('mutation($input: CreateArtifactVersionInput!) { createArtifactVersion(input: $input) '
          '{ version { id } uploads { url } deduplicated } }')
COMMIT = 'mutation($v: ID!) { commitArtifactVersion(version: $v) { ref state } }'
LINK = ('mutation($v: String!, $m: String!, $a: [String!]) { linkVersion(input: {version: $v, registeredModel: $m, '
        'aliases: $a}) { ref } }')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    """A `lineage-reg serve` subprocess and a GraphQL helper over one connection per thread."""

    def __init__(self, workdir: Path, extra_env: dict[str, str] | None = None, database_url: str | None = None,
                 data_dir: str = "lineage-reg") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / data_dir
        env = {**os.environ, **(extra_env or {})}
        db = ["--database-url", database_url] if database_url else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lineage_reg.cli", "serve", "--data-dir", str(self.data_dir), *db,
             "--port", str(self.port), "--log-level", "warning"], env=env,
        )
        deadline = time.time() + 60
        while True:
            try:
                conn = HTTPConnection("127.0.0.1", self.port, timeout=2)
                if send(conn, ("GET", "/healthz", None, {}))[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("lineage-reg did not start")
            time.sleep(0.1)
        self.token = (self.data_dir / "admin.token").read_text().strip()
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def gql(self, conn: HTTPConnection, query: str, **variables: object) -> dict:
        status, body = send(conn, json_request("POST", "/graphql", {"query": query, "variables": variables}, self.headers))
        data = json.loads(body)
        if status != 200 or data.get("errors"):
            raise RuntimeError(f"{status}: {data}")
        return data["data"]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def files_for(m: int, v: int) -> tuple[list[dict], dict[str, bytes]]:
    contents = {"model.bin": f"weights {m}/{v}".encode() * 64, "config.json": f'{{"m": {m}, "v": {v}}}'.encode(),
                "README.md": b"# bench model\n"}
    manifest = [{"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for p, b in contents.items()]
    return manifest, contents


def populate(reg: Registry, models: int, versions: int) -> None:
    conn = HTTPConnection("127.0.0.1", reg.port)
    reg.gql(conn, 'mutation { createProject(name: "bench") { id } }')

    def one_model(m: int) -> None:
        c = HTTPConnection("127.0.0.1", reg.port)
        for v in range(versions):
            manifest, contents = files_for(m, v)
            created = reg.gql(c, CREATE, input={"project": "bench", "artifact": f"model-{m}", "type": "model",
                                                "files": manifest})["createArtifactVersion"]
            by_sha = {hashlib.sha256(b).hexdigest(): b for b in contents.values()}
            for target in created["uploads"]:
                sha = target["url"].split("/files/blobs/")[1].split("?")[0]
                u = target["url"].split(reg.url, 1)[1]
                status, body = send(c, ("PUT", u, by_sha[sha], {"Content-Type": "application/octet-stream"}))
                assert status == 201, body
            reg.gql(c, COMMIT, v=created["version"]["id"])
            reg.gql(c, LINK, v=f"bench/model-{m}:v{v}", m=f"bench/m-{m}",
                    a=["production"] if v == versions // 2 else [])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one_model, range(models)))


def lineage_reg_workloads(reg: Registry, models: int, seconds: float) -> list[Result]:
    pids = process_tree(reg.proc.pid)
    body_cache: dict[int, tuple] = {}

    def resolve(i: int) -> tuple:
        m = i % models
        if m not in body_cache:
            body_cache[m] = json_request("POST", "/graphql",
                                         {"query": RESOLVE, "variables": {"ref": f"bench/m-{m}:production"}},
                                         reg.headers)
        return body_cache[m]

    def check_resolve(conn: HTTPConnection, i: int) -> bool:
        status, body = send(conn, resolve(i))
        return status == 200 and b'"errors"' not in body and b"downloadUrl" in body

    def create_commit(conn: HTTPConnection, i: int) -> bool:
        manifest = [{"path": f"ckpt-{i}.bin", "size": 6, "sha256": hashlib.sha256(b"weight").hexdigest()}]
        status, body = send(conn, json_request("POST", "/graphql", {"query": CREATE, "variables": {"input": {
            "project": "bench", "artifact": f"load-{i % models}", "type": "model", "files": manifest}}}, reg.headers))
        data = json.loads(body)
        if status != 200 or data.get("errors"):
            return False
        if data["data"]["createArtifactVersion"]["uploads"]:
            return False  # the blob is stored up front: nothing to upload
        vid = data["data"]["createArtifactVersion"]["version"]["id"]
        status, body = send(conn, json_request("POST", "/graphql", {"query": COMMIT, "variables": {"v": vid}},
                                               reg.headers))
        return status == 200 and b'"COMMITTED"' in body

    # Store the one blob the create workload references.
    warm = HTTPConnection("127.0.0.1", reg.port)
    created = reg.gql(warm, CREATE, input={"project": "bench", "artifact": "load-warm", "type": "model", "files": [
        {"path": "w.bin", "size": 6, "sha256": hashlib.sha256(b"weight").hexdigest()}]})["createArtifactVersion"]
    for target in created["uploads"]:
        send(warm, ("PUT", target["url"].split(reg.url, 1)[1], b"weight", {}))
    reg.gql(warm, COMMIT, v=created["version"]["id"])
    for i in range(200):  # warm caches and code paths
        check_resolve(warm, i)

    results = []
    for clients in (1, 8):
        results.append(run_load("lineage-reg resolve (alias)", reg.url, check_resolve, clients=clients,
                                seconds=seconds, server_pids=pids))
    for clients in (1, 8):
        results.append(run_load("lineage-reg createArtifactVersion+commit", reg.url, create_commit,
                                clients=clients, seconds=seconds, server_pids=pids))
    return results


def ensure_mlflow(venv: Path) -> Path:
    mlflow = venv / "bin" / "mlflow"
    if not mlflow.exists():
        print(f"creating {venv} with mlflow==3.17.2 (first run only)…", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "mlflow==3.17.2"], check=True)
    return mlflow


def mlflow_workloads(mlflow_bin: Path, workdir: Path, models: int, versions: int, seconds: float) -> list[Result]:
    from _mlflow_peer import MlflowPeer

    results = []
    with MlflowPeer(str(mlflow_bin), workdir / "mlflow", free_port()) as peer:
        peer.populate(models, versions)
        pids = peer.server_pids()

        def as_request(req: tuple) -> tuple:
            method, url, body = req
            path = url.split(peer.base_url, 1)[1] if url.startswith("http") else url
            return json_request(method, path, body) if body is not None else (method, path, None, {})

        lookup = simple(lambda i: as_request(peer.alias_lookup_request(i)))
        create = simple(lambda i: as_request(peer.create_version_request(i)))
        for clients in (1, 8):
            results.append(run_load("MLflow alias lookup", peer.base_url, lookup, clients=clients, seconds=seconds,
                                    server_pids=pids))
        for clients in (1, 8):
            results.append(run_load("MLflow create model version", peer.base_url, create, clients=clients,
                                    seconds=seconds, server_pids=pids))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--versions", type=int, default=20)
    ap.add_argument("--no-mlflow", action="store_true")
    ap.add_argument("--mlflow-venv", type=Path, default=Path(".bench-mlflow"))
    ap.add_argument("--no-response-cache", action="store_true", help="measure with the response cache off")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {"LINEAGE_REG_RESPONSE_CACHE": "0"} if args.no_response_cache else {}
        reg = Registry(work, env)
        try:
            t0 = time.time()
            populate(reg, args.models, args.versions)
            print(f"populated {args.models} models x {args.versions} versions in {time.time() - t0:.1f}s",
                  file=sys.stderr)
            ours = lineage_reg_workloads(reg, args.models, args.seconds)
        finally:
            reg.stop()
        peer = [] if args.no_mlflow else mlflow_workloads(
            ensure_mlflow(args.mlflow_venv.resolve()), work, args.models, args.versions, args.seconds)

    print(HEADER)
    for r in ours + peer:
        print(r.row())
    if peer:
        print()
        for (a, b) in ((0, 0), (1, 1), (2, 2), (3, 3)):
            print(f"{ours[a].name} vs {peer[b].name} @ {ours[a].clients} client(s): "
                  f"{ours[a].rps / peer[b].rps:.1f}x throughput, "
                  f"{peer[b].cpu_per_request / max(ours[a].cpu_per_request, 1e-9):.1f}x less server CPU per request")


if __name__ == "__main__":
    main()
