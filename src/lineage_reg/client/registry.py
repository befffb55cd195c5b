"""The Python SDK: training scripts log runs and versions, deploy code resolves and downloads.

    from lineage_reg.client import Registry

    with Registry() as reg:                        # LINEAGE_REG_URL, LINEAGE_REG_TOKEN
        with reg.start_run("churn", config={"lr": 0.1}) as run:
            run.log_metrics(0, {"loss": 0.4})
            version = run.log_artifact("classifier", type="model", path="out/")
        reg.link(version.ref, "churn/churn-model", aliases=["staging"])
        reg.download("churn/churn-model:staging", "deploy/")
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .. import errors
from .files import VerifiedWriter, manifest, read_slice, safe_target, walk

DEFAULT_URL = "http://127.0.0.1:8080"
UPLOAD_THREADS = 4
_ERRORS = {cls.code: cls for cls in errors.RegistryError.__subclasses__()}

VERSION_FIELDS = "id ref index digest state size fileCount metadata aliases files(first: 500) { edges { node { path size sha256 downloadUrl } } pageInfo { hasNextPage endCursor } }"
CREATE = f"""mutation($input: CreateArtifactVersionInput!) {{ createArtifactVersion(input: $input) {{
  version {{ {VERSION_FIELDS} }} deduplicated
  uploads {{ sha256 url method headers uploadId parts {{ number url offset size }} }} }} }}"""
COMMIT = f"mutation($v: ID!) {{ commitArtifactVersion(version: $v) {{ {VERSION_FIELDS} }} }}"
COMPLETE = ("mutation($s: String!, $n: Float!, $u: String!, $p: [CompletedPartInput!]!) "
            "{ completeUpload(sha256: $s, size: $n, uploadId: $u, parts: $p) }")


@dataclass(frozen=True)
class File:
    path: str
    size: int
    sha256: str
    download_url: str


@dataclass(frozen=True)
class Version:
    id: str
    ref: str
    index: int
    digest: str
    state: str
    size: int
    metadata: dict[str, Any]
    aliases: list[str]
    files: list[File] = field(default_factory=list)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Version:
        files = [File(e["node"]["path"], int(e["node"]["size"]), e["node"]["sha256"], e["node"]["downloadUrl"])
                 for e in data["files"]["edges"]]
        return cls(id=data["id"], ref=data["ref"], index=data["index"], digest=data["digest"], state=data["state"],
                   size=int(data["size"]), metadata=data["metadata"], aliases=data["aliases"], files=files)


class Registry:
    """A connection to a lineage-reg server (one keep-alive HTTP client)."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 60.0) -> None:
        self.url = (url or os.environ.get("LINEAGE_REG_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("LINEAGE_REG_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(headers=headers, timeout=timeout)
        # Upload/download URLs are presigned: they must not carry our token (S3 would refuse it).
        self._transfer = httpx.Client(timeout=timeout)

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()
        self._transfer.close()

    def query(self, text: str, **variables: Any) -> dict[str, Any]:
        """Run any GraphQL operation; errors raise the matching ``lineage_reg.errors`` class."""
        resp = self._http.post(f"{self.url}/graphql", json={"query": text, "variables": variables})
        if resp.status_code != 200:
            raise errors.RegistryError(f"HTTP {resp.status_code} from {self.url}/graphql: {resp.text[:200]}")
        body = resp.json()
        if body.get("errors"):
            first = body["errors"][0]
            code = first.get("extensions", {}).get("code", "")
            raise _ERRORS.get(code, errors.RegistryError)(first["message"])
        return body["data"]  # type: ignore[no-any-return]

    # --- writing ---

    def create_project(self, name: str, description: str | None = None) -> str:
        return str(self.query("mutation($n: String!, $d: String) { createProject(name: $n, description: $d) { id } }",
                              n=name, d=description)["createProject"]["id"])

    def start_run(self, project: str, name: str | None = None, config: dict[str, Any] | None = None,
                  git_commit: str | None = None) -> Run:
        data = self.query("mutation($i: StartRunInput!) { startRun(input: $i) { id name } }",
                          i={"project": project, "name": name, "config": config, "gitCommit": git_commit})
        return Run(self, project, data["startRun"]["id"], data["startRun"]["name"])

    def log_artifact(self, project: str, name: str, *, type: str, path: str | Path,
                     metadata: dict[str, Any] | None = None, description: str | None = None,
                     aliases: Sequence[str] = (), run: str | None = None) -> Version:
        """Hash, create, upload what the server lacks (in parallel, streamed from disk), commit."""
        files = walk(Path(path))
        entries = manifest(files)
        inp = {"project": project, "artifact": name, "type": type, "files": entries, "metadata": metadata,
               "description": description, "aliases": list(aliases) or None, "run": run}
        created = self.query(CREATE, input=inp)["createArtifactVersion"]
        if created["deduplicated"]:
            return Version.of(created["version"])
        by_sha = {str(m["sha256"]): files[str(m["path"])] for m in entries}
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            list(pool.map(lambda t: self._upload(t, by_sha[t["sha256"]]), created["uploads"]))
        return Version.of(self.query(COMMIT, v=created["version"]["id"])["commitArtifactVersion"])

    def _upload(self, target: dict[str, Any], source: Path) -> None:
        if not target["parts"]:
            size = source.stat().st_size
            resp = self._transfer.request(target["method"], target["url"], content=read_slice(source, 0, size),
                                       headers={**target["headers"], "Content-Length": str(size)})
            _check_upload(resp, source)
            return
        etags = []
        for part in target["parts"]:
            offset, size = int(part["offset"]), int(part["size"])
            resp = self._transfer.put(part["url"], content=read_slice(source, offset, size),
                                   headers={"Content-Length": str(size)})
            _check_upload(resp, source)
            etags.append({"number": part["number"], "etag": resp.headers["etag"]})
        self.query(COMPLETE, s=target["sha256"], n=source.stat().st_size, u=target["uploadId"], p=etags)

    def link(self, version: str, registered_model: str, aliases: Sequence[str] = ()) -> str:
        data = self.query("mutation($i: LinkVersionInput!) { linkVersion(input: $i) { ref } }",
                          i={"version": version, "registeredModel": registered_model, "aliases": list(aliases)})
        return str(data["linkVersion"]["ref"])

    def set_alias(self, collection: str, alias: str, version: str) -> None:
        self.query("mutation($i: SetAliasInput!) { setAlias(input: $i) { name } }",
                   i={"collection": collection, "alias": alias, "version": version})

    def remove_alias(self, collection: str, alias: str) -> None:
        self.query("mutation($c: String!, $a: String!) { removeAlias(collection: $c, alias: $a) }", c=collection, a=alias)

    # --- reading ---

    def resolve(self, ref: str) -> Version:
        data = self.query(f"query($r: String!) {{ resolve(ref: $r) {{ {VERSION_FIELDS} }} }}", r=ref)["resolve"]
        version = Version.of(data)
        page = data["files"]["pageInfo"]
        while page["hasNextPage"]:
            more = self.query("query($id: ID!, $a: String) { node(id: $id) { ... on ArtifactVersion { "
                              "files(first: 500, after: $a) { edges { node { path size sha256 downloadUrl } } "
                              "pageInfo { hasNextPage endCursor } } } } }", id=version.id, a=page["endCursor"])
            files = more["node"]["files"]
            version.files.extend(File(e["node"]["path"], int(e["node"]["size"]), e["node"]["sha256"],
                                      e["node"]["downloadUrl"]) for e in files["edges"])
            page = files["pageInfo"]
        return version

    def versions(self, project: str, artifact: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every version of an artifact, newest first, page by page."""
        after = None
        while True:
            data = self.query("query($p: String!, $n: String!, $f: Int, $a: String) { artifact(project: $p, name: $n) "
                              "{ versions(first: $f, after: $a) { edges { node { id ref state digest aliases } } "
                              "pageInfo { hasNextPage endCursor } } } }", p=project, n=artifact, f=page_size, a=after)
            if data["artifact"] is None:
                raise errors.NotFound(f"artifact {project}/{artifact} not found")
            conn = data["artifact"]["versions"]
            yield from (e["node"] for e in conn["edges"])
            if not conn["pageInfo"]["hasNextPage"]:
                return
            after = conn["pageInfo"]["endCursor"]

    def download(self, ref: str, dest: str | Path) -> Path:
        """Every file of a version into ``dest``, streamed and verified; nothing half-written is left."""
        dest = Path(dest)
        version = self.resolve(ref)
        for f in version.files:
            writer = VerifiedWriter(safe_target(dest, f.path), f.sha256)
            try:
                with self._transfer.stream("GET", f.download_url) as resp:
                    if resp.status_code != 200:
                        raise errors.RegistryError(f"download of {f.path} failed: HTTP {resp.status_code}")
                    for chunk in resp.iter_bytes():
                        writer.write(chunk)
                writer.finish()
            except BaseException:
                writer.abort()
                raise
        return dest


def _check_upload(resp: httpx.Response, source: Path) -> None:
    if resp.status_code >= 300:
        raise errors.RegistryError(f"upload of {source} failed: HTTP {resp.status_code}: {resp.text[:200]}")


class Run:
    """A run in progress; as a context manager it finishes FAILED when the block raises."""

    def __init__(self, registry: Registry, project: str, run_id: str, name: str) -> None:
        self.registry, self.project, self.id, self.name = registry, project, run_id, name

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.finish("FAILED" if exc_type else "FINISHED")

    def log_metrics(self, step: int, metrics: dict[str, float]) -> None:
        self.registry.query("mutation($r: ID!, $s: Int!, $m: JSON!) { logMetrics(run: $r, step: $s, metrics: $m) }",
                            r=self.id, s=step, m=metrics)

    def use_artifact(self, ref: str) -> None:
        self.registry.query("mutation($r: ID!, $v: String!) { useArtifact(run: $r, version: $v) { id } }",
                            r=self.id, v=ref)

    def use_dataset(self, namespace: str, name: str, mode: str = "read") -> None:
        self.registry.query("mutation($r: ID!, $d: DatasetInput!, $m: String!) { useDataset(run: $r, dataset: $d, "
                            "mode: $m) { id } }", r=self.id, d={"namespace": namespace, "name": name}, m=mode)

    def log_artifact(self, name: str, *, type: str, path: str | Path, **options: Any) -> Version:
        return self.registry.log_artifact(self.project, name, type=type, path=path, run=self.id, **options)

    def finish(self, status: str = "FINISHED", summary: dict[str, Any] | None = None) -> None:
        self.registry.query("mutation($r: ID!, $s: RunStatus!, $m: JSON) { finishRun(run: $r, status: $s, summary: $m) "
                            "{ status } }", r=self.id, s=status, m=summary)
