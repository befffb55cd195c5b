"""The SDK itself, async: ``AsyncRegistry`` is what ``Registry`` (the blocking facade) runs.

    from lineage_reg.client import AsyncRegistry

    async with AsyncRegistry() as reg:                   # LINEAGE_REG_URL, LINEAGE_REG_TOKEN
        async with await reg.start_run(project="churn", config={"lr": 0.1}) as run:
            await run.log_metrics({"loss": 0.4}, step=0)
            version = await run.log_artifact("out/", name="classifier", type="model")
        await reg.link(version, "churn/churn-model", aliases=["staging"])
        await reg.download("churn/churn-model:staging", root="deploy/")

One keep-alive ``httpx.AsyncClient`` carries GraphQL calls and blob transfers. Only GraphQL calls send the
token: upload and download URLs are signed by the server (or presigned by S3, which refuses a second
credential). Transient failures are tried again (``retry.py``); blobs move ``concurrency`` at a time
(``transfers.py``); downloaded blobs are kept by sha256 (``cache.py``).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import urllib.request
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from .. import errors, refs
from . import network
from .cache import BlobCache, default_dir
from .credentials import saved_credentials
from .failures import Unreachable, graphql_error
from .files import manifest, safe_target, walk
from .retry import TRANSIENT_STATUS, Retry, Transient, repeat
from .run import AsyncRun
from .transfers import USER_AGENT, Transfers, each
from .version import MORE_FILES, VERSION_FIELDS, File, Version

if TYPE_CHECKING:
    from .watch import AliasChange

DEFAULT_URL = "http://127.0.0.1:8080"
CONCURRENCY = 8  # blobs moving at once
HASHERS = 4  # files hashed at once (hashlib releases the GIL)

CREATE_PROJECT = "mutation($n: String!, $d: String) { createProject(name: $n, description: $d) { name } }"
START_RUN = "mutation($i: StartRunInput!) { startRun(input: $i) { id name } }"
CREATE = f"""mutation($input: CreateArtifactVersionInput!) {{ createArtifactVersion(input: $input) {{
  version {{ {VERSION_FIELDS} }} deduplicated
  uploads {{ sha256 url method headers uploadId parts {{ number url offset size }} }} }} }}"""
COMMIT = f"mutation($v: ID!) {{ commitArtifactVersion(version: $v) {{ {VERSION_FIELDS} }} }}"
COMPLETE = ("mutation($s: String!, $n: Float!, $u: String!, $p: [CompletedPartInput!]!) "
            "{ completeUpload(sha256: $s, size: $n, uploadId: $u, parts: $p) }")
LINK = "mutation($i: LinkVersionInput!) { linkVersion(input: $i) { ref } }"
SET_ALIAS = "mutation($i: SetAliasInput!) { setAlias(input: $i) { name } }"
REMOVE_ALIAS = "mutation($c: String!, $a: String!) { removeAlias(collection: $c, alias: $a) }"
RESOLVE = f"query($r: String!) {{ resolve(ref: $r) {{ {VERSION_FIELDS} }} }}"
VERSIONS = """query($p: String!, $n: String!, $f: Int, $a: String) { artifact(project: $p, name: $n) {
  versions(first: $f, after: $a) { edges { node { id ref index digest state size metadata aliases createdAt } }
  pageInfo { hasNextPage endCursor } } } }"""
COMPARE = """query($refs: [String!]!) { compareVersions(refs: $refs) {
  versions { ref digest } config { key values differs } metrics { key values differs }
  metadata { key values differs } files { path change sha256 size } } }"""


class Identified(Protocol):
    """A run, async or blocking: anything with the run's ``id``."""

    @property
    def id(self) -> str: ...


class AsyncRegistry:
    """A connection to a lineage-reg server, for async code. ``url`` and ``token`` default to ``LINEAGE_REG_URL``
    and ``LINEAGE_REG_TOKEN``, then to what ``lineage-reg login`` saved, then to http://127.0.0.1:8080 and no
    token. ``progress`` (optional) is called with the number of bytes of each chunk uploaded or downloaded.
    ``retry`` bounds how transient failures are tried again; ``concurrency`` how many blobs move at once.
    ``cache`` is where downloaded blobs are kept (True: ``LINEAGE_REG_CACHE_DIR``, else the user's cache
    directory; False: no cache), ``cache_max_bytes`` its bound (default ``LINEAGE_REG_CACHE_MAX_BYTES``, else
    10 GiB). ``fsync``: flush every downloaded file to disk before renaming it into place (off by default, like
    curl and pip: after a power loss, download again). ``verify``: how to check the server's TLS certificate
    (True: the usual CAs, or ``SSL_CERT_FILE``; a path: that CA bundle; an ``ssl.SSLContext``; False: don't).
    ``transport`` is handed to httpx (an ``httpx.AsyncBaseTransport``: a proxy, a fault injector in tests)."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 60.0,
                 progress: Callable[[int], None] | None = None, retry: Retry | None = None,
                 concurrency: int = CONCURRENCY, cache: bool | str | Path = True, cache_max_bytes: int | None = None,
                 fsync: bool = False, verify: bool | str | Path | ssl.SSLContext = True,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise TypeError("transport must be an httpx.AsyncBaseTransport (e.g. httpx.AsyncHTTPTransport): "
                            "the SDK is async inside, also behind the blocking Registry")
        if concurrency < 1:
            raise errors.BadInput(f"concurrency is how many blobs move at once: 1 or more, not {concurrency}")
        saved = saved_credentials()
        self.url = (url or os.environ.get("LINEAGE_REG_URL") or saved.get("url") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("LINEAGE_REG_TOKEN") or saved.get("token")
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.retry = retry or Retry()
        self.concurrency = concurrency
        self.ssl_context = network.ssl_context(verify)  # watch() uses it too (wss://)
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        # httpx honours HTTP(S)_PROXY only with a transport of its own making: then it gets to make it.
        proxied = any(scheme != "no" for scheme in urllib.request.getproxies())
        if transport is None and not proxied:
            transport = network.transport(limits, self.ssl_context)
        self._http = httpx.AsyncClient(timeout=timeout, verify=self.ssl_context, limits=limits, transport=transport,
                                       headers={"User-Agent": USER_AGENT})
        self.cache = (BlobCache(default_dir() if cache is True else cache, cache_max_bytes)
                      if cache is not False else None)
        direct = None if proxied else transport  # through a proxy, blobs go where the client sends them
        self.transfers = Transfers(self._http, direct, retry=self.retry, progress=progress, cache=self.cache,
                                   fsync=fsync)

    def __repr__(self) -> str:
        return f"AsyncRegistry({self.url!r})"

    async def __aenter__(self) -> AsyncRegistry:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def query(self, text: str, /, **variables: Any) -> dict[str, Any]:
        """Run any GraphQL query or mutation and return its ``data``. A GraphQL error raises the
        ``lineage_reg.errors`` class of its ``extensions.code``; an unreachable or failing server a ``RegistryError``."""
        endpoint = f"{self.url}/graphql"

        async def send() -> httpx.Response:
            resp = await self._http.post(endpoint, json={"query": text, "variables": variables}, headers=self.auth)
            if resp.status_code in TRANSIENT_STATUS:
                raise Transient(errors.RegistryError(f"{endpoint} answered HTTP {resp.status_code}: "
                                                     f"{resp.text[:300]}"), resp)
            return resp

        try:
            resp = await repeat(self.retry, send, idempotent=not text.lstrip().startswith("mutation"))
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach lineage-reg at {endpoint} ({type(exc).__name__}: {exc}); "
                              "is the server running and LINEAGE_REG_URL (or `lineage-reg login --url`) right?") from exc
        try:
            body = resp.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("errors"):
            raise graphql_error(body["errors"])
        if resp.status_code != 200 or not isinstance(body, dict) or "data" not in body:
            raise errors.RegistryError(f"{endpoint} answered HTTP {resp.status_code}: {resp.text[:300]}")
        return body["data"]  # type: ignore[no-any-return]

    # --- writing ---

    async def create_project(self, name: str, description: str | None = None) -> None:
        """Create a project (admin). ``CONFLICT`` if the name is taken."""
        await self.query(CREATE_PROJECT, n=name, d=description)

    async def start_run(self, project: str, name: str | None = None, config: dict[str, Any] | None = None,
                        git_commit: str | None = None) -> AsyncRun:
        """Start a run in ``project``; the server names it when ``name`` is None. As a context manager the
        run finishes FINISHED, or FAILED when the block raises."""
        data = await self.query(START_RUN, i={"project": project, "name": name, "config": config,
                                              "gitCommit": git_commit})
        return AsyncRun(self, project, data["startRun"]["id"], data["startRun"]["name"])

    async def log_artifact(self, project: str, name: str, *, type: str, path: str | Path,
                           metadata: dict[str, Any] | None = None, description: str | None = None,
                           aliases: Sequence[str] | None = None, run: Identified | str | None = None) -> Version:
        """Log a file or a directory as the next version of ``project/name``: hash it, create the version,
        upload what the server lacks (in parallel, streamed from disk), commit. Returns the committed version,
        or the latest one when it has the same content already (``aliases`` are then set on it; ``metadata``
        and ``description`` stay as they were)."""
        files = walk(Path(path))  # BadInput when path does not exist
        entries = await asyncio.to_thread(manifest, files, HASHERS)
        inp = {"project": project, "artifact": name, "type": type, "files": entries, "metadata": metadata,
               "description": description, "aliases": list(aliases) if aliases else None,
               "run": run if isinstance(run, str) or run is None else run.id}
        created = (await self.query(CREATE, input=inp))["createArtifactVersion"]
        if created["deduplicated"]:  # the latest version has this content: no upload, no new version
            existing = Version.of(created["version"])
            for alias in aliases or ():  # what the caller asked for still holds; commit would have set them
                await self.set_alias(f"{project}/{name}", alias, existing.id)
            return replace(existing, aliases=sorted({*existing.aliases, *(aliases or ())}))
        by_sha = {str(e["sha256"]): files[str(e["path"])] for e in entries}

        async def complete(target: dict[str, Any], size: int, parts: list[dict[str, Any]]) -> None:
            await self.query(COMPLETE, s=target["sha256"], n=size, u=target["uploadId"], p=parts)

        await each(lambda target: self.transfers.upload(target, by_sha[target["sha256"]], complete),
                   created["uploads"], self.concurrency)
        return Version.of((await self.query(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"])

    async def link(self, version: Version | str, registered_model: str, aliases: Sequence[str] = ()) -> str:
        """Link a version (a ``Version`` or a ref) into ``project/registered-model`` (created if missing);
        returns the link's ref."""
        data = await self.query(LINK, i={"version": _ref(version), "registeredModel": registered_model,
                                         "aliases": list(aliases)})
        return str(data["linkVersion"]["ref"])

    async def set_alias(self, collection: str, alias: str, version: Version | str) -> None:
        """Point ``alias`` of ``project/name`` (artifact or registered model) at a version (``Version`` or ref)."""
        await self.query(SET_ALIAS, i={"collection": collection, "alias": alias, "version": _ref(version)})

    async def remove_alias(self, collection: str, alias: str) -> None:
        """Remove ``alias`` from ``project/name`` (artifact or registered model)."""
        await self.query(REMOVE_ALIAS, c=collection, a=alias)

    # --- reading ---

    async def resolve(self, ref: str) -> Version:
        """The version a reference names (``p/name:v3``, ``:alias``, ``@digest``), with every file."""
        data = (await self.query(RESOLVE, r=ref))["resolve"]
        version = Version.of(data)
        page = data["files"]["pageInfo"]
        while page["hasNextPage"]:
            files = (await self.query(MORE_FILES, id=version.id, after=page["endCursor"]))["node"]["files"]
            version.files.extend(File.of(e["node"]) for e in files["edges"])
            page = files["pageInfo"]
        return version

    async def versions(self, collection: str, *, page_size: int = 100) -> AsyncIterator[dict[str, Any]]:
        """Every version of artifact ``project/name``, newest first, fetched a page at a time (keyset).
        Each item: ``id ref index digest state size metadata aliases createdAt``."""
        coll = refs.parse_collection(collection)
        after = None
        while True:
            data = await self.query(VERSIONS, p=coll.project, n=coll.name, f=page_size, a=after)
            if data["artifact"] is None:
                raise errors.NotFound(f"artifact {coll} not found", collection=str(coll))
            conn = data["artifact"]["versions"]
            for edge in conn["edges"]:
                yield edge["node"]
            if not conn["pageInfo"]["hasNextPage"]:
                return
            after = conn["pageInfo"]["endCursor"]

    async def compare(self, *refs: str) -> dict[str, Any]:
        """2-10 versions side by side: ``versions``, ``config`` and ``metrics`` of the producing runs,
        ``metadata`` (each a list of ``{key, values, differs}``) and ``files`` (``{path, change, sha256, size}``,
        change ADDED/REMOVED/CHANGED/UNCHANGED against the first)."""
        return (await self.query(COMPARE, refs=list(refs)))["compareVersions"]  # type: ignore[no-any-return]

    async def download(self, ref: Version | str, dest_dir: str | Path | None = None, *,
                       root: str | Path | None = None) -> Path:
        """Every file of a version (a ref, an id or a ``Version``) into ``root/<path>`` (``dest_dir`` is the
        same, positionally; default: the current directory). Each file comes from the cache when it holds
        that sha256, else is streamed and sha256-verified; either way it is renamed into place only when
        complete and correct. Refuses (before writing anything) paths escaping the directory."""
        if dest_dir is not None and root is not None:
            raise TypeError("download() takes dest_dir or root, not both")
        version = await self.resolve(ref.id if isinstance(ref, Version) else ref)  # fresh download links
        return await self.download_version(version, Path(root if root is not None else dest_dir or "."))

    async def download_version(self, version: Version, dest: Path) -> Path:
        """``download`` of a ``Version`` just resolved (its download links expire)."""
        resolved = dest.resolve()
        targets = [(f, safe_target(dest, f.path, resolved=resolved)) for f in version.files]
        for directory in {target.parent for _, target in targets}:  # once each, not once per file
            directory.mkdir(parents=True, exist_ok=True)
        await self.transfers.fetch_all(targets, self.concurrency)
        if self.cache is not None:
            await asyncio.to_thread(self.cache.prune)
        return dest

    def watch(self, collection: str, alias: str | None = None, after: int | None = None) -> AsyncIterator[AliasChange]:
        """Alias changes of ``project/name`` (every alias, or only ``alias``) as they happen, forever: an
        ``AliasChange`` (sequence, collection, alias, version, previous, actor, at) each. ``after``: start with
        the changes after that event sequence (from the log), else from now. Reconnects on its own, resuming
        after the last change yielded, so none is missed or repeated."""
        from .watch import watch

        return watch(self, collection, alias, after)


def _ref(version: Version | str) -> str:
    return version.ref if isinstance(version, Version) else version
