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
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
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
from .governance import GovernanceCalls
from .retry import TRANSIENT_STATUS, Retry, Transient, repeat
from .run import AsyncRun
from .transfers import USER_AGENT, Transfers, each
from . import search
from .search import LOG_METRICS, LOG_METRICS_BATCH, METRICS, SEARCH_MODELS, SEARCH_RUNS, SEARCH_VERSIONS
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
SET_ALIAS = "mutation($i: SetAliasInput!) { setAlias(input: $i) { name created } }"
REMOVE_ALIAS = "mutation($c: String!, $a: String!) { removeAlias(collection: $c, alias: $a) }"
RESOLVE = f"query($r: String!) {{ resolve(ref: $r) {{ {VERSION_FIELDS} }} }}"
# A reference into a collection: the version, and the registered model when that is what the collection is.
# By an alias: that link's aliases; by v3 or a digest: the model's aliases whose version is this one.
RESOLVE_BY_ALIAS = f"""query($r: String!, $p: String!, $n: String!, $a: String!) {{ resolve(ref: $r) {{ {VERSION_FIELDS} }}
  registeredModel(project: $p, name: $n) {{ description alias(name: $a) {{ aliases }} }} }}"""
RESOLVE_IN = f"""query($r: String!, $p: String!, $n: String!) {{ resolve(ref: $r) {{ {VERSION_FIELDS} }}
  registeredModel(project: $p, name: $n) {{ description aliases {{ name version {{ id }} }} }} }}"""
TARGET_VERSION = "query($r: String!) { resolve(ref: $r) { id } }"
TARGET_COLLECTION = ("query($p: String!, $n: String!) { artifact(project: $p, name: $n) { id } "
                     "registeredModel(project: $p, name: $n) { id } }")
ADD_TAGS = "mutation($t: ID!, $tags: [String!]!) { addTags(target: $t, tags: $tags) }"
REMOVE_TAGS = "mutation($t: ID!, $tags: [String!]!) { removeTags(target: $t, tags: $tags) }"
WEBHOOK_FIELDS = "id project url kinds collection aliasPattern active createdAt createdBy"
CREATE_WEBHOOK = f"mutation($i: CreateWebhookInput!) {{ createWebhook(input: $i) {{ {WEBHOOK_FIELDS} }} }}"
UPDATE_WEBHOOK = f"mutation($i: UpdateWebhookInput!) {{ updateWebhook(input: $i) {{ {WEBHOOK_FIELDS} }} }}"
DELETE_WEBHOOK = "mutation($id: ID!) { deleteWebhook(id: $id) }"
DELIVERY_FIELDS = "id kind status attempts createdAt nextAttemptAt deliveredAt lastStatusCode lastLatencyMs lastError"
PING_WEBHOOK = f"mutation($id: ID!) {{ pingWebhook(id: $id) {{ {DELIVERY_FIELDS} }} }}"
WEBHOOKS = f"query($p: String!) {{ webhooks(project: $p) {{ {WEBHOOK_FIELDS} }} }}"
DELIVERIES = f"""query($w: ID!, $f: Int, $a: String) {{ deliveries(webhook: $w, first: $f, after: $a) {{
  edges {{ node {{ {DELIVERY_FIELDS} event {{ sequence }} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
MEMBER_FIELDS = "user role createdAt createdBy"
ADD_MEMBER = f"mutation($p: String!, $u: String!, $r: String!) {{ addMember(project: $p, user: $u, role: $r) {{ {MEMBER_FIELDS} }} }}"
REMOVE_MEMBER = f"mutation($p: String!, $u: String!) {{ removeMember(project: $p, user: $u) {{ {MEMBER_FIELDS} }} }}"
MEMBERS = f"query($p: String!) {{ members(project: $p) {{ {MEMBER_FIELDS} }} }}"
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


class AsyncRegistry(GovernanceCalls):
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
            existing = Version.of(created["version"], self)
            for alias in aliases or ():  # what the caller asked for still holds; commit would have set them
                await self.set_alias(f"{project}/{name}", alias, existing.id)
            return replace(existing, aliases=sorted({*existing.aliases, *(aliases or ())}))
        by_sha = {str(e["sha256"]): files[str(e["path"])] for e in entries}

        async def complete(target: dict[str, Any], size: int, parts: list[dict[str, Any]]) -> None:
            await self.query(COMPLETE, s=target["sha256"], n=size, u=target["uploadId"], p=parts)

        await each(lambda target: self.transfers.upload(target, by_sha[target["sha256"]], complete),
                   created["uploads"], self.concurrency)
        return Version.of((await self.query(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"], self)

    async def link(self, version: Version | str, registered_model: str, aliases: Sequence[str] = ()) -> str:
        """Link a version (a ``Version`` or a ref) into ``project/registered-model`` (created if missing);
        returns the link's ref."""
        data = await self.query(LINK, i={"version": _ref(version), "registeredModel": registered_model,
                                         "aliases": list(aliases)})
        return str(data["linkVersion"]["ref"])

    async def set_alias(self, collection: str, alias: str, version: Version | str) -> bool:
        """Point ``alias`` of ``project/name`` (artifact or registered model) at a version (``Version`` or ref).

        True when the collection had no alias of that name before, so a new one was created rather than an
        existing one moved: a typo'd name does that (resolving a typo'd name is refused, setting one is not).
        """
        data = await self.query(SET_ALIAS, i={"collection": collection, "alias": alias, "version": _ref(version)})
        return bool(data["setAlias"]["created"])

    async def remove_alias(self, collection: str, alias: str) -> None:
        """Remove ``alias`` from ``project/name`` (artifact or registered model)."""
        await self.query(REMOVE_ALIAS, c=collection, a=alias)

    # --- reading ---

    async def resolve(self, ref: str) -> Version:
        """The version a reference names (``p/name:v3``, ``:alias``, ``@digest``, or a version id), with every
        file. Through a registered model (``p/model:production``) it also carries the model's name, its aliases
        that point at this version (``model_aliases``) and its description (``model_description``)."""
        parsed = _parse_ref(ref)
        if parsed is None:
            data = (await self.query(RESOLVE, r=ref))["resolve"]
            version = Version.of(data, self)
        else:
            coll = parsed.collection
            if parsed.alias is not None:
                both = await self.query(RESOLVE_BY_ALIAS, r=ref, p=coll.project, n=coll.name, a=parsed.alias)
            else:
                both = await self.query(RESOLVE_IN, r=ref, p=coll.project, n=coll.name)
            data, model = both["resolve"], both["registeredModel"]
            version = Version.of(data, self)
            if model is not None:
                held = ((model["alias"] or {}).get("aliases", []) if parsed.alias is not None else
                        [a["name"] for a in model["aliases"] if a["version"]["id"] == version.id])
                version = replace(version, registered_model=str(coll), model_description=model["description"],
                                  model_aliases=sorted(held))
        await self._all_files(version, data["files"]["pageInfo"])
        return version

    async def _all_files(self, version: Version, page: dict[str, Any]) -> None:
        """Fetch the rest of ``version``'s files when its first page was not all of them."""
        while page["hasNextPage"]:
            files = (await self.query(MORE_FILES, id=version.id, after=page["endCursor"]))["node"]["files"]
            version.files.extend(File.of(e["node"]) for e in files["edges"])
            page = files["pageInfo"]

    # --- tags ---

    async def add_tags(self, target: Version | str, tags: Sequence[str]) -> list[str]:
        """Tag a version (a ``Version``, a ref such as ``p/name:v3`` or ``p/model:production``: the version it
        names) or a whole artifact or registered model (``p/name``). Returns the target's tags afterwards;
        tags it has already stay once."""
        data = await self.query(ADD_TAGS, t=await self._tag_target(target), tags=list(tags))
        return list(data["addTags"])

    async def remove_tags(self, target: Version | str, tags: Sequence[str]) -> list[str]:
        """Take tags off a version or a collection (as ``add_tags``); tags it doesn't have are ignored.
        Returns the target's tags afterwards."""
        data = await self.query(REMOVE_TAGS, t=await self._tag_target(target), tags=list(tags))
        return list(data["removeTags"])

    async def _tag_target(self, target: Version | str) -> str:
        """The node id of what a tag command names."""
        if isinstance(target, Version):
            return target.id
        if ":" in target or "@" in target:
            return str((await self.query(TARGET_VERSION, r=target))["resolve"]["id"])
        coll = refs.parse_collection(target)
        data = await self.query(TARGET_COLLECTION, p=coll.project, n=coll.name)
        found = data["artifact"] or data["registeredModel"]
        if found is None:
            raise errors.NotFound(f"no artifact or registered model {coll}: check the name (`p/name`), or "
                                  "name a version with `p/name:v3`", collection=str(coll))
        return str(found["id"])

    # --- webhooks (project admins) ---

    async def create_webhook(self, project: str, url: str, *, kinds: Sequence[str], secret: str,
                             collection: str | None = None, alias_pattern: str | None = None) -> dict[str, Any]:
        """POST every event of ``kinds`` in ``project`` (only ``collection``'s, only aliases matching
        ``alias_pattern``, when given) to ``url``, signed with ``secret`` (16-256 characters; see docs/events.md).
        Returns the webhook: ``id project url kinds collection aliasPattern active createdAt createdBy``."""
        data = await self.query(CREATE_WEBHOOK, i={"project": project, "url": url, "kinds": list(kinds),
                                                   "secret": secret, "collection": collection,
                                                   "aliasPattern": alias_pattern})
        return data["createWebhook"]  # type: ignore[no-any-return]

    async def update_webhook(self, webhook: str, *, url: str | None = None, kinds: Sequence[str] | None = None,
                             secret: str | None = None, collection: str | None = None,
                             alias_pattern: str | None = None, active: bool | None = None) -> dict[str, Any]:
        """Change a webhook by id; what is left None stays as it is (``""`` removes the collection or alias
        filter)."""
        data = await self.query(UPDATE_WEBHOOK, i={"id": webhook, "url": url,
                                                   "kinds": None if kinds is None else list(kinds),
                                                   "secret": secret, "collection": collection,
                                                   "aliasPattern": alias_pattern, "active": active})
        return data["updateWebhook"]  # type: ignore[no-any-return]

    async def delete_webhook(self, webhook: str) -> None:
        """Delete a webhook by id, and its delivery history."""
        await self.query(DELETE_WEBHOOK, id=webhook)

    async def ping_webhook(self, webhook: str) -> dict[str, Any]:
        """Send a ``ping`` delivery to test the receiver; returns the delivery (``id kind status ...``)."""
        return (await self.query(PING_WEBHOOK, id=webhook))["pingWebhook"]  # type: ignore[no-any-return]

    async def webhooks(self, project: str) -> list[dict[str, Any]]:
        """A project's webhooks (never their secrets)."""
        return list((await self.query(WEBHOOKS, p=project))["webhooks"])

    async def deliveries(self, webhook: str, *, first: int = 20) -> list[dict[str, Any]]:
        """A webhook's ``first`` most recent deliveries, newest first."""
        conn = (await self.query(DELIVERIES, w=webhook, f=first, a=None))["deliveries"]
        return [e["node"] for e in conn["edges"]]

    # --- members (project admins) ---

    async def add_member(self, project: str, user: str, role: str = "viewer") -> list[dict[str, Any]]:
        """Give ``user`` (the name its tokens were created with) ``role`` in ``project``: viewer, member or
        admin, replacing the role it had there. Returns the project's members: ``user role createdAt createdBy``."""
        return list((await self.query(ADD_MEMBER, p=project, u=user, r=role))["addMember"])

    async def remove_member(self, project: str, user: str) -> list[dict[str, Any]]:
        """Take ``user``'s role in ``project`` away (a global role stays). Returns the members left."""
        return list((await self.query(REMOVE_MEMBER, p=project, u=user))["removeMember"])

    async def members(self, project: str) -> list[dict[str, Any]]:
        """Who has which role in ``project``."""
        return list((await self.query(MEMBERS, p=project))["members"])

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

    # --- search (docs/search.md) ---

    async def search_versions(self, query: str | None = None, *, filter: dict[str, Any] | None = None,
                              order_by: str | Sequence[str] | None = None, limit: int | None = None,
                              page_size: int = 50) -> AsyncIterator[Version]:
        """Versions matching ``query`` (the text form: ``"type:model tag:candidate metric.auc>=0.9"``) and
        ``filter`` (a ``VersionFilter`` as a dict), in ``order_by`` order (``"-metric.auc"``; default newest
        first), fetched a page at a time as you iterate; at most ``limit``. Only projects this token may read."""
        async for node in self._search(SEARCH_VERSIONS, "searchVersions", limit, page_size,
                                       f=filter, q=query, o=search.orders(order_by)):
            version = Version.of(node, self)
            await self._all_files(version, node["files"]["pageInfo"])
            yield version

    async def search_models(self, query: str | None = None, *, filter: dict[str, Any] | None = None,
                            limit: int | None = None, page_size: int = 50) -> AsyncIterator[dict[str, Any]]:
        """Registered models matching ``query`` (``"tag:churn alias:production"``) and ``filter`` (a
        ``ModelFilter``). Each item: ``id name project description tags createdAt aliases``."""
        async for node in self._search(SEARCH_MODELS, "searchRegisteredModels", limit, page_size, f=filter, q=query):
            yield node

    async def search_runs(self, query: str | None = None, *, filter: dict[str, Any] | None = None,
                          order_by: str | Sequence[str] | None = None, limit: int | None = None,
                          page_size: int = 50) -> AsyncIterator[dict[str, Any]]:
        """Runs matching ``query`` and ``filter`` (a ``RunFilter``), in ``order_by`` order (``"-metric.loss"``,
        ``"created"``). Each item: ``id name project status config summary createdAt finishedAt createdBy``."""
        async for node in self._search(SEARCH_RUNS, "searchRuns", limit, page_size, f=filter, q=query,
                                       o=search.orders(order_by, runs=True)):
            yield node

    async def _search(self, text: str, field: str, limit: int | None, page_size: int,
                      **variables: Any) -> AsyncIterator[dict[str, Any]]:
        if limit is not None and limit < 0:
            raise errors.BadInput(f"limit must be >= 0, got {limit}")
        left, after = limit, None
        while left is None or left > 0:
            size = page_size if left is None else min(page_size, left)
            conn = (await self.query(text, n=size, a=after, **variables))[field]
            for edge in conn["edges"]:
                yield edge["node"]
            if left is not None:
                left -= len(conn["edges"])
            if not conn["pageInfo"]["hasNextPage"]:
                return
            after = conn["pageInfo"]["endCursor"]

    # --- metrics on versions (docs/metrics.md) ---

    async def log_version_metrics(self, version: Version | str, metrics: dict[str, float], *,
                                  source: str = "evaluation", at: datetime | None = None,
                                  step: int | None = None) -> int:
        """Record ``metrics`` (name → number) on a version (a ``Version``, a ref or an id) from ``source``
        ("evaluation", "production", or your own name); ``at`` defaults to the server's now. Returns the
        number of points stored."""
        p = search.point(_ref(version), metrics, source=source, at=at, step=step)
        data = await self.query(LOG_METRICS, v=p["version"], m=p["metrics"], s=p["source"], at=p["at"],
                                step=p["step"])
        return int(data["logVersionMetrics"])

    async def log_version_metrics_batch(self, points: Iterable[dict[str, Any]]) -> int:
        """Many points at once: each ``{"version": ref-or-Version, "metrics": {...}, "source": ..., "at": ...,
        "step": ...}`` (source defaults to "evaluation"). Sent in requests of at most ``search.BATCH_POINTS``
        points (one per metric name), the server's bound; each request is all-or-nothing, so after an error
        the earlier requests' points are stored and the failing one's are not. Returns the number stored."""
        batch = [search.point(_ref(p["version"]), p["metrics"], source=p.get("source", "evaluation"),
                              at=p.get("at"), step=p.get("step")) for p in points]
        stored, size = 0, 0
        request: list[dict[str, Any]] = []
        for entry in [*batch, None]:
            if entry is None or (request and size + len(entry["metrics"]) > search.BATCH_POINTS):
                if request:
                    data = await self.query(LOG_METRICS_BATCH, p=request)
                    stored += int(data["logVersionMetricsBatch"])
                request, size = [], 0
            if entry is not None:
                request.append(entry)
                size += len(entry["metrics"])
        return stored

    async def version_metrics(self, version: Version | str, *, source: str | None = None,
                              names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """A version's metric series: ``[{name, source, latest, count, min, max, mean}]`` (``training`` is the
        producing run's summary and history)."""
        data = await self.query(METRICS, v=_ref(version), s=source, n=list(names) if names else None)
        return list(data["resolve"]["metrics"])

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


def _parse_ref(ref: str) -> refs.VersionRef | None:
    """A reference, parsed; None for an id (or a reference the server will refuse, in its own words)."""
    try:
        return refs.parse_version_ref(ref)
    except errors.BadInput:
        return None

