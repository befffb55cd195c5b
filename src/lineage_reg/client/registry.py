"""The Python SDK: training scripts log runs and versions, deploy code resolves and downloads.

    from lineage_reg.client import Registry

    with Registry() as reg:                        # LINEAGE_REG_URL, LINEAGE_REG_TOKEN
        with reg.start_run(project="churn", config={"lr": 0.1}) as run:
            run.log_metrics({"loss": 0.4}, step=0)
            version = run.log_artifact("out/", name="classifier", type="model")
        reg.link(version, "churn/churn-model", aliases=["staging"])
        reg.download("churn/churn-model:staging", root="deploy/")

One keep-alive ``httpx.Client`` carries GraphQL calls and blob transfers. Only
GraphQL calls send the token: upload and download URLs are signed by the
server (or presigned by S3, which refuses a second credential). Transient
failures are tried again (``retry.py``); downloaded blobs are kept by sha256
(``cache.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .. import errors, refs
from .cache import BlobCache, default_dir
from .files import manifest, read_slice, safe_target, walk, write_verified
from .retry import TRANSIENT_STATUS, Retry, Transient, repeat
from .run import Run
from .version import MORE_FILES, VERSION_FIELDS, File, Version

if TYPE_CHECKING:
    from .watch import AliasChange

DEFAULT_URL = "http://127.0.0.1:8080"
WORKERS = 4  # parallel hashes, uploads and downloads
T = TypeVar("T")
_ERRORS = {cls.code: cls for cls in errors.RegistryError.__subclasses__()}

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


class Unreachable(errors.RegistryError):
    """The server could not be reached at all (not running, wrong URL, network down)."""

    code = "UNREACHABLE"


def credentials_path() -> Path:
    """Where ``lineage-reg login`` keeps the URL and token (``LINEAGE_REG_CREDENTIALS`` overrides)."""
    override = os.environ.get("LINEAGE_REG_CREDENTIALS")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("lineage-reg")) / "credentials.json"


def saved_credentials() -> dict[str, str]:
    try:
        data = json.loads(credentials_path().read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k in ("url", "token") and isinstance(v, str)}


def save_credentials(url: str, token: str) -> Path:
    """Write the credentials file readable by its owner only (the token is a secret)."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"url": url, "token": token}, f)
    os.replace(tmp, path)
    return path


class Registry:
    """A connection to a lineage-reg server. ``url`` and ``token`` default to ``LINEAGE_REG_URL`` and
    ``LINEAGE_REG_TOKEN``, then to what ``lineage-reg login`` saved, then to http://127.0.0.1:8080 and no token.
    ``progress`` (optional) is called with the number of bytes of each chunk uploaded or downloaded.
    ``retry`` bounds how transient failures are tried again; ``cache`` is where downloaded blobs are kept
    (True: ``LINEAGE_REG_CACHE_DIR``, else the user's cache directory; False: no cache), ``cache_max_bytes``
    its bound (default ``LINEAGE_REG_CACHE_MAX_BYTES``, else 10 GiB). ``fsync``: flush every downloaded
    file to disk before renaming it into place (off by default, like curl and pip: after a power loss,
    download again). ``transport`` is handed to httpx (a proxy, a custom TLS setup, a fault injector in tests)."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 60.0,
                 progress: Callable[[int], None] | None = None, retry: Retry | None = None,
                 cache: bool | str | Path = True, cache_max_bytes: int | None = None, fsync: bool = False,
                 transport: httpx.BaseTransport | None = None) -> None:
        saved = saved_credentials()
        self.url = (url or os.environ.get("LINEAGE_REG_URL") or saved.get("url") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("LINEAGE_REG_TOKEN") or saved.get("token")
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(timeout=timeout, transport=transport,
                                  limits=httpx.Limits(max_connections=2 * WORKERS, max_keepalive_connections=2 * WORKERS))
        self.progress = progress
        self.retry = retry or Retry()
        self.cache = (BlobCache(default_dir() if cache is True else cache, cache_max_bytes)
                      if cache is not False else None)
        self.fsync = fsync

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def query(self, text: str, **variables: Any) -> dict[str, Any]:
        """Run any GraphQL query or mutation and return its ``data``. A GraphQL error raises the
        ``lineage_reg.errors`` class of its ``extensions.code``; an unreachable or failing server a ``RegistryError``."""
        endpoint = f"{self.url}/graphql"

        def send() -> httpx.Response:
            resp = self._http.post(endpoint, json={"query": text, "variables": variables}, headers=self._auth)
            if resp.status_code in TRANSIENT_STATUS:
                raise Transient(errors.RegistryError(f"{endpoint} answered HTTP {resp.status_code}: "
                                                     f"{resp.text[:300]}"), resp)
            return resp

        try:
            resp = repeat(self.retry, send, idempotent=not text.lstrip().startswith("mutation"))
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach lineage-reg at {endpoint} ({type(exc).__name__}); "
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

    def create_project(self, name: str, description: str | None = None) -> None:
        """Create a project (admin). ``CONFLICT`` if the name is taken."""
        self.query(CREATE_PROJECT, n=name, d=description)

    def start_run(self, project: str, name: str | None = None, config: dict[str, Any] | None = None,
                  git_commit: str | None = None) -> Run:
        """Start a run in ``project``; the server names it when ``name`` is None. As a context manager the
        run finishes FINISHED, or FAILED when the block raises."""
        data = self.query(START_RUN, i={"project": project, "name": name, "config": config, "gitCommit": git_commit})
        return Run(self, project, data["startRun"]["id"], data["startRun"]["name"])

    def log_artifact(self, project: str, name: str, *, type: str, path: str | Path,
                     metadata: dict[str, Any] | None = None, description: str | None = None,
                     aliases: Sequence[str] | None = None, run: Run | str | None = None) -> Version:
        """Log a file or a directory as the next version of ``project/name``: hash it, create the version,
        upload what the server lacks (in parallel, streamed from disk), commit. Returns the committed version,
        or the latest one when it has the same content already (``aliases`` are then set on it; ``metadata``
        and ``description`` stay as they were)."""
        files = walk(Path(path))  # BadInput when path does not exist
        entries = manifest(files, WORKERS)
        inp = {"project": project, "artifact": name, "type": type, "files": entries, "metadata": metadata,
               "description": description, "aliases": list(aliases) if aliases else None,
               "run": run.id if isinstance(run, Run) else run}
        created = self.query(CREATE, input=inp)["createArtifactVersion"]
        if created["deduplicated"]:  # the latest version has this content: no upload, no new version
            existing = Version.of(created["version"])
            for alias in aliases or ():  # what the caller asked for still holds; commit would have set them
                self.set_alias(f"{project}/{name}", alias, existing.id)
            return replace(existing, aliases=sorted({*existing.aliases, *(aliases or ())}))
        by_sha = {str(e["sha256"]): files[str(e["path"])] for e in entries}
        _each(lambda target: self._upload(target, by_sha[target["sha256"]]), created["uploads"])
        return Version.of(self.query(COMMIT, v=created["version"]["id"])["commitArtifactVersion"])

    def link(self, version: Version | str, registered_model: str, aliases: Sequence[str] = ()) -> str:
        """Link a version (a ``Version`` or a ref) into ``project/registered-model`` (created if missing);
        returns the link's ref."""
        data = self.query(LINK, i={"version": _ref(version), "registeredModel": registered_model,
                                   "aliases": list(aliases)})
        return str(data["linkVersion"]["ref"])

    def set_alias(self, collection: str, alias: str, version: Version | str) -> None:
        """Point ``alias`` of ``project/name`` (artifact or registered model) at a version (``Version`` or ref)."""
        self.query(SET_ALIAS, i={"collection": collection, "alias": alias, "version": _ref(version)})

    def remove_alias(self, collection: str, alias: str) -> None:
        self.query(REMOVE_ALIAS, c=collection, a=alias)

    # --- reading ---

    def resolve(self, ref: str) -> Version:
        """The version a reference names (``p/name:v3``, ``:alias``, ``@digest``), with every file."""
        data = self.query(RESOLVE, r=ref)["resolve"]
        version = Version.of(data)
        page = data["files"]["pageInfo"]
        while page["hasNextPage"]:
            files = self.query(MORE_FILES, id=version.id, after=page["endCursor"])["node"]["files"]
            version.files.extend(File.of(e["node"]) for e in files["edges"])
            page = files["pageInfo"]
        return version

    def versions(self, collection: str, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every version of artifact ``project/name``, newest first, fetched a page at a time (keyset).
        Each item: ``id ref index digest state size metadata aliases createdAt``."""
        coll = refs.parse_collection(collection)
        after = None
        while True:
            data = self.query(VERSIONS, p=coll.project, n=coll.name, f=page_size, a=after)
            if data["artifact"] is None:
                raise errors.NotFound(f"artifact {coll} not found", collection=str(coll))
            conn = data["artifact"]["versions"]
            yield from (edge["node"] for edge in conn["edges"])
            if not conn["pageInfo"]["hasNextPage"]:
                return
            after = conn["pageInfo"]["endCursor"]

    def compare(self, *refs: str) -> dict[str, Any]:
        """2-10 versions side by side: ``versions``, ``config`` and ``metrics`` of the producing runs,
        ``metadata`` (each a list of ``{key, values, differs}``) and ``files`` (``{path, change, sha256, size}``,
        change ADDED/REMOVED/CHANGED/UNCHANGED against the first)."""
        return self.query(COMPARE, refs=list(refs))["compareVersions"]  # type: ignore[no-any-return]

    def download(self, ref: Version | str, dest_dir: str | Path | None = None, *, root: str | Path | None = None) -> Path:
        """Every file of a version (a ref, an id or a ``Version``) into ``root/<path>`` (``dest_dir`` is the
        same, positionally; default: the current directory). Each file comes from the cache when it holds
        that sha256, else is streamed and sha256-verified; either way it is renamed into place only when
        complete and correct. Refuses (before writing anything) paths escaping the directory."""
        if dest_dir is not None and root is not None:
            raise TypeError("download() takes dest_dir or root, not both")
        version = self.resolve(ref.id if isinstance(ref, Version) else ref)  # fresh download links
        return self.download_version(version, Path(root if root is not None else dest_dir or "."))

    def download_version(self, version: Version, dest: Path) -> Path:
        """``download`` of a ``Version`` just resolved (its download links expire)."""
        resolved = dest.resolve()
        targets = [(f, safe_target(dest, f.path, resolved=resolved)) for f in version.files]
        for directory in {target.parent for _, target in targets}:  # once each, not once per file
            directory.mkdir(parents=True, exist_ok=True)
        _each(lambda job: self._fetch(*job), targets)
        if self.cache is not None:
            self.cache.prune()
        return dest

    def watch(self, collection: str, alias: str | None = None, after: int | None = None) -> Iterator[AliasChange]:
        """Alias changes of ``project/name`` (every alias, or only ``alias``) as they happen, forever: an
        ``AliasChange`` (sequence, collection, alias, version, previous, actor, at) each. ``after``: start with
        the changes after that event sequence (from the log), else from now. Reconnects on its own, resuming
        after the last change yielded, so none is missed or repeated."""
        from .watch import watch

        return watch(self, collection, alias, after)

    # --- transfers ---

    def _upload(self, target: dict[str, Any], source: Path) -> None:
        if not target["parts"]:
            size = source.stat().st_size
            self._send(target["method"], target["url"], source, 0, size, target["headers"])
            return
        etags = []
        for part in target["parts"]:
            resp = self._send("PUT", part["url"], source, int(part["offset"]), int(part["size"]), {})
            etags.append({"number": part["number"], "etag": resp.headers["etag"]})
        self.query(COMPLETE, s=target["sha256"], n=source.stat().st_size, u=target["uploadId"], p=etags)

    def _send(self, method: str, url: str, source: Path, offset: int, size: int,
              headers: dict[str, str]) -> httpx.Response:
        """One blob or part, streamed from disk; sent again (from the start) on a transient failure."""
        what = f"upload of {source}"

        def send() -> httpx.Response:
            resp = self._http.request(method, url, content=self._counted(read_slice(source, offset, size)),
                                      headers={**headers, "Content-Length": str(size)})
            if resp.status_code in TRANSIENT_STATUS:
                raise Transient(_transfer_error(resp, what), resp)
            if resp.status_code >= 300:
                raise _transfer_error(resp, what)
            return resp

        try:
            return repeat(self.retry, send, idempotent=True)  # content-addressed: a second PUT stores nothing new
        except httpx.TransportError as exc:
            raise errors.RegistryError(f"{what} failed: {exc!r}") from exc

    def _counted(self, chunks: Iterable[bytes]) -> Iterable[bytes]:
        if self.progress is None:
            return chunks
        progress = self.progress

        def counting() -> Iterator[bytes]:
            for chunk in chunks:
                progress(len(chunk))
                yield chunk

        return counting()

    def _fetch(self, file: File, target: Path) -> None:
        cache = self.cache
        if cache is not None and cache.place(file.sha256, file.size, target):
            if self.progress is not None:
                self.progress(file.size)
            return
        what = f"download of {file.path}"

        def get() -> None:
            with self._http.stream("GET", file.download_url) as resp:
                if resp.status_code != 200:
                    resp.read()
                    error = _transfer_error(resp, what)
                    raise Transient(error, resp) if resp.status_code in TRANSIENT_STATUS else error
                # Straight into place (hashed on the way, renamed when whole); the cache shares these bytes.
                write_verified(target, file.sha256, self._counted(resp.iter_bytes()), sync=self.fsync,
                               label=file.path, make_parent=False)

        try:
            repeat(self.retry, get, idempotent=True)
            if cache is not None:
                try:
                    cache.adopt(file.sha256, target)
                except OSError:
                    pass  # the file is downloaded; only the next download of it will not be instant
        except httpx.TransportError as exc:
            raise errors.RegistryError(f"{what} failed: {exc!r}") from exc
        except OSError as exc:  # a full disk, a quota, no permission: say which file, keep the errno
            if exc.errno is None:
                raise
            raise OSError(exc.errno, f"{exc.strerror} during the {what} (nothing partial was kept)",
                          str(target)) from exc


def _each(work: Callable[[T], object], items: Iterable[T]) -> None:
    """Run ``work`` over ``items`` on WORKERS threads; the first failure cancels what has not started and raises."""
    pool = ThreadPoolExecutor(WORKERS)
    try:
        for _ in pool.map(work, items):
            pass
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ref(version: Version | str) -> str:
    return version.ref if isinstance(version, Version) else version


def graphql_error(errs: list[dict[str, Any]]) -> errors.RegistryError:
    first = errs[0]
    details = dict(first.get("extensions") or {})
    code = details.pop("code", None)
    details.pop("message", None)
    if code is None and "path" not in first:
        cls: type[errors.RegistryError] = errors.BadInput  # a syntax, validation or variable error in the request
    else:
        cls = _ERRORS.get(str(code), errors.RegistryError)
    message = str(first.get("message", "unknown error"))
    if len(errs) > 1:
        message += f" (and {len(errs) - 1} more error{'s' if len(errs) > 2 else ''})"
    return cls(message, **details)


def _transfer_error(resp: httpx.Response, what: str) -> errors.RegistryError:
    """The local store answers errors as GraphQL does ({"errors": [...]}); S3 answers XML."""
    try:
        body = resp.json()
        if isinstance(body, dict) and body.get("errors"):
            exc = graphql_error(body["errors"])
            return type(exc)(f"{what} failed: {exc.message}", **exc.details)
    except ValueError:
        pass
    return errors.RegistryError(f"{what} failed: HTTP {resp.status_code}: {resp.text[:300]}")
