"""The client commands: what a person at a terminal does with a registry (the SDK underneath).

Every read command takes ``--json`` for scripts. Errors print one line to stderr and exit with a code
scripts can rely on (see ``EXIT_CODES``); no traceback.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table
from rich.tree import Tree

from .. import errors, refs
from ..client.cache import BlobCache, default_dir, parse_size
from ..client.credentials import save_credentials
from ..client.failures import Unreachable
from ..client.registry import Registry

EXIT_CODES = {
    "NOT_FOUND": 3, "UNAUTHENTICATED": 4, "FORBIDDEN": 4, "BAD_INPUT": 5, "CONFLICT": 5, "VERSION_COMMITTED": 5,
    "DIGEST_INVALID": 5, "BLOB_UNKNOWN": 5, "LIMIT_EXCEEDED": 5, "UNREACHABLE": 6, "DATABASE_UNAVAILABLE": 7,
}
HINTS = {
    "UNAUTHENTICATED": "log in with `lineage-reg login` or set LINEAGE_REG_TOKEN",
    "FORBIDDEN": "ask an admin for a token with that role",
}

# The server's messages speak its API ("create it with createProject"): a terminal user hears this program's
# commands instead. Mutation name -> the command that does it; {detail} is filled from the error's details
# (extensions), else left as the placeholder in capitals.
COMMANDS = {
    "createProject": "`lineage-reg project create {project}`",
    "linkVersion": "`lineage-reg link REF {collection}`",
    "setAlias": "`lineage-reg alias set {collection} ALIAS REF`",
    "removeAlias": "`lineage-reg alias rm {collection} ALIAS`",
    "createArtifactVersion": "`lineage-reg log`",
    "addMember": "`lineage-reg member add {project} USER --role ROLE`",
    "removeMember": "`lineage-reg member rm {project} USER`",
    "addTags": "`lineage-reg tag add`",
    "removeTags": "`lineage-reg tag rm`",
    "createWebhook": "`lineage-reg webhook create`",
    "updateWebhook": "`lineage-reg webhook update ID`",
    "deleteWebhook": "`lineage-reg webhook rm ID`",
    "pingWebhook": "`lineage-reg webhook ping ID`",
    "logVersionMetrics": "`lineage-reg metrics log REF NAME=VALUE`",
}
_MUTATION = re.compile(r"\b(" + "|".join(COMMANDS) + r")\b")


class _Placeholder(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return key.upper()


def in_cli_terms(message: str, details: dict[str, Any] | None = None) -> str:
    """``message`` with each mutation it names replaced by the CLI command that does the same."""
    values = _Placeholder({k: str(v) for k, v in (details or {}).items() if isinstance(v, (str, int))})
    return _MUTATION.sub(lambda m: COMMANDS[m.group(1)].format_map(values), message)


def say_error(exc: errors.RegistryError, hint: str | None = None) -> None:
    err.print(f"error: {exc.code} {in_cli_terms(exc.message, exc.details)}" + (f" ({hint})" if hint else ""),
              markup=False, highlight=False, soft_wrap=True)


out = Console()
err = Console(stderr=True)

Json = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]
Url = Annotated[Optional[str], typer.Option(help="server URL (default: LINEAGE_REG_URL, then `login`)")]  # noqa: UP045


@contextmanager
def session(url: str | None = None, *, token: str | None = None,
            progress: Callable[[int], None] | None = None) -> Iterator[Registry]:
    """A Registry; any error becomes one line on stderr and its exit code."""
    try:
        with Registry(url, token, progress=progress) as reg:
            yield reg
    except errors.RegistryError as exc:
        say_error(exc, HINTS.get(exc.code))
        raise typer.Exit(EXIT_CODES.get(exc.code, 1)) from None
    except OSError as exc:  # disk full, permission denied, a path that vanished
        err.print(f"error: {exc.strerror or exc} ({exc.filename or ''})", markup=False, highlight=False)
        raise typer.Exit(1) from None


def emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def transfer_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar with bytes and rate on stderr (hidden when stderr is not a terminal)."""
    if not err.is_terminal:  # piped or logged: no bar, and not the blank line a hidden one leaves
        yield lambda n: None
        return
    columns = (TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


# --- commands -------------------------------------------------------------------------------------------------

def login(url: Annotated[str, typer.Option(help="server URL")] = "http://127.0.0.1:8080",
          token: Annotated[Optional[str], typer.Option(  # noqa: UP045
              help="API token (prompted for when left out)")] = None) -> None:
    """Check a token against a server and save both for later commands (a file only you can read)."""
    secret = token or typer.prompt("token", hide_input=True)
    with session(url, token=secret) as reg:
        reg.query("{ projects(first: 1) { totalCount } }")
    path = save_credentials(url.rstrip("/"), secret)
    out.print(f"logged in to {url}; credentials saved to {path}", highlight=False)


def log(path: Annotated[Path, typer.Argument(help="a file or a directory")],
        project: Annotated[str, typer.Option()], name: Annotated[str, typer.Option()],
        type: Annotated[str, typer.Option("--type")] = "model",
        alias: Annotated[Optional[list[str]], typer.Option(help="set this alias too (repeatable)")] = None,  # noqa: UP045
        metadata: Annotated[Optional[str], typer.Option(help="JSON object")] = None,  # noqa: UP045
        description: Annotated[Optional[str], typer.Option()] = None, url: Url = None) -> None:  # noqa: UP045
    """Log PATH as the next version of PROJECT/NAME (only bytes the server lacks are sent)."""
    if not path.exists():
        err.print(f"error: {path} does not exist", highlight=False)
        raise typer.Exit(5)
    meta = _json_object(metadata, "--metadata")
    total = sum(p.stat().st_size for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file())
    with transfer_bar("upload", total) as advance, session(url, progress=advance) as reg:
        version = reg.log_artifact(project, name, type=type, path=path, metadata=meta, description=description,
                                   aliases=alias)
    out.print(f"{version.ref} {version.digest[:12]} ({', '.join(version.aliases)})", highlight=False)


def get(ref: str, root: Annotated[Path, typer.Option(help="directory to download into")] = Path("."),
        url: Url = None) -> None:
    """Download every file of REF into ROOT, each verified against its sha256 before it appears."""
    with session(url) as reg:
        version = reg.resolve(ref)
    with transfer_bar("download", version.size) as advance, session(url, progress=advance) as reg:
        reg.download(version.id, root)
    out.print(f"{version.ref} -> {root} ({len(version.files)} files)", highlight=False)


def link(ref: str, registered_model: str,
         alias: Annotated[Optional[list[str]], typer.Option(help="alias to set (repeatable)")] = None,  # noqa: UP045
         url: Url = None) -> None:
    """Link version REF into REGISTERED_MODEL (project/name; created if missing)."""
    with session(url) as reg:
        out.print(reg.link(ref, registered_model, aliases=alias or ()), highlight=False)


alias_app = typer.Typer(help="Move or remove aliases.", no_args_is_help=True)
project_app = typer.Typer(help="Projects.", no_args_is_help=True)
cache_app = typer.Typer(help="The download cache on this machine (LINEAGE_REG_CACHE_DIR).", no_args_is_help=True)


def _fail(exc: errors.RegistryError) -> typer.Exit:
    say_error(exc)
    return typer.Exit(EXIT_CODES.get(exc.code, 1))


def _cache() -> BlobCache:
    try:
        return BlobCache(default_dir())
    except errors.BadInput as exc:  # LINEAGE_REG_CACHE_MAX_BYTES unreadable
        raise _fail(exc) from None


@cache_app.command("info")
def cache_info(as_json: Json = False) -> None:
    """Where the cache is, what it holds and its bound."""
    cache = _cache()
    usage = cache.usage()
    data = {"path": str(cache.root), "entries": usage.entries, "bytes": usage.bytes, "maxBytes": cache.max_bytes}
    if as_json:
        emit(data)
    else:
        out.print(f"{cache.root}: {usage.entries} blobs, {usage.bytes:,} bytes (bound {cache.max_bytes:,})",
                  highlight=False)


@cache_app.command("prune")
def cache_prune(max_bytes: Annotated[Optional[str], typer.Option(  # noqa: UP045
        help="keep at most this much, e.g. 2G or 0 (default: the bound, LINEAGE_REG_CACHE_MAX_BYTES or 10G)")] = None,
        as_json: Json = False) -> None:
    """Drop the least recently used blobs until the cache keeps to its bound."""
    cache = _cache()
    try:
        limit = None if max_bytes is None else parse_size(max_bytes)
    except errors.BadInput as exc:
        raise _fail(errors.BadInput(f"--max-bytes: {exc.message}")) from None
    dropped = cache.prune(limit)
    left = cache.usage()
    if as_json:
        emit({"droppedEntries": dropped.entries, "droppedBytes": dropped.bytes, "entries": left.entries,
              "bytes": left.bytes})
    else:
        out.print(f"dropped {dropped.entries} blobs ({dropped.bytes:,} bytes); {left.entries} left "
                  f"({left.bytes:,} bytes)", highlight=False)


@project_app.command("create")
def project_create(name: str, description: Annotated[Optional[str], typer.Option()] = None,  # noqa: UP045
                   url: Url = None) -> None:
    """Create project NAME (needs the admin role)."""
    with session(url) as reg:
        reg.create_project(name, description)
    out.print(f"created project {name}", highlight=False)


@alias_app.command("set")
def alias_set(collection: str, alias: str, ref: str, url: Url = None) -> None:
    """Point ALIAS of COLLECTION (project/name) at version REF."""
    with session(url) as reg:
        created = reg.set_alias(collection, alias, ref)
    out.print(f"{collection}:{alias} -> {ref}", highlight=False)
    if created:  # a note, not a refusal: a typo'd name makes a new alias instead of moving the intended one
        err.print(f"note: created a new alias {alias!r} on {collection}; if that was a typo, remove it with "
                  f"`lineage-reg alias rm {collection} {alias}`", highlight=False, soft_wrap=True)


@alias_app.command("rm")
def alias_rm(collection: str, alias: str, url: Url = None) -> None:
    """Remove ALIAS from COLLECTION."""
    with session(url) as reg:
        reg.remove_alias(collection, alias)
    out.print(f"removed {collection}:{alias}", highlight=False)


LS_PROJECTS = "query($a: String) { projects(first: 100, after: $a) { edges { node { name description createdAt } } " \
              "pageInfo { hasNextPage endCursor } } }"
LS_PROJECT = """query($p: String!) { project(name: $p) { name
  artifacts(first: 100) { edges { node { name type versions(first: 1) { totalCount } } } }
  registeredModels(first: 100) { edges { node { name aliases { name version { ref } } } } } } }"""
LS_MODEL = """query($p: String!, $n: String!) { registeredModel(project: $p, name: $n) {
  versions(first: 100) { edges { node { ref aliases version { ref digest } linkedAt } } } } }"""


def ls(target: Annotated[Optional[str], typer.Argument(help="PROJECT or PROJECT/NAME")] = None,  # noqa: UP045
       as_json: Json = False, url: Url = None) -> None:
    """List projects, a project's artifacts and models, or the versions of one."""
    with session(url) as reg:
        if target is None:
            rows = [e["node"] for e in _pages(reg, LS_PROJECTS, "projects")]
            columns = ["name", "description", "createdAt"]
        elif "/" not in target:
            data = reg.query(LS_PROJECT, p=refs.check_project_name(target))["project"]
            if data is None:
                raise errors.NotFound(f"project {target!r} not found")
            rows = [{"name": e["node"]["name"], "kind": "artifact", "type": e["node"]["type"],
                     "versions": e["node"]["versions"]["totalCount"]} for e in data["artifacts"]["edges"]]
            rows += [{"name": e["node"]["name"], "kind": "registered model",
                      "aliases": ", ".join(f"{a['name']}={a['version']['ref']}" for a in e["node"]["aliases"])}
                     for e in data["registeredModels"]["edges"]]
            columns = ["name", "kind", "type", "versions", "aliases"]
        else:
            coll = refs.parse_collection(target)
            model = reg.query(LS_MODEL, p=coll.project, n=coll.name)["registeredModel"]
            if model is not None:
                rows = [{"ref": e["node"]["ref"], "version": e["node"]["version"]["ref"],
                         "aliases": ", ".join(e["node"]["aliases"]), "linkedAt": e["node"]["linkedAt"]}
                        for e in model["versions"]["edges"]]
                columns = ["ref", "version", "aliases", "linkedAt"]
            else:
                rows = [{"ref": v["ref"], "state": v["state"], "size": int(v["size"]), "aliases": ", ".join(v["aliases"]),
                         "digest": v["digest"][:12], "createdAt": v["createdAt"]} for v in reg.versions(target)]
                columns = ["ref", "state", "size", "aliases", "digest", "createdAt"]
    table(rows, columns, as_json)


def show(ref: str, as_json: Json = False, url: Url = None) -> None:
    """One version: digest, state, aliases, metadata and files; through a registered model
    (project/model:production), also the model's aliases on it and the model's description."""
    with session(url) as reg:
        v = reg.resolve(ref)
    model = (None if v.registered_model is None else
             {"ref": v.registered_model, "aliases": v.model_aliases, "description": v.model_description})
    files = [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in v.files]
    data = {"ref": v.ref, "id": v.id, "digest": v.digest, "state": v.state, "size": v.size, "aliases": v.aliases,
            "description": v.description, "tags": v.tags, "registeredModel": model, "metadata": v.metadata,
            "files": files}
    if as_json:
        emit(data)
        return
    lines: list[tuple[str, Any]] = [(key, data[key]) for key in ("ref", "id", "digest", "state", "size")]
    if v.description:
        lines.append(("description", v.description))
    if v.tags:
        lines.append(("tags", ", ".join(v.tags)))
    lines.append(("artifact aliases" if model else "aliases", ", ".join(v.aliases) or "-"))
    if model:
        lines += [("registered model", model["ref"]), ("model aliases", ", ".join(v.model_aliases) or "-"),
                  ("model description", v.model_description or "-")]
    lines.append(("metadata", json.dumps(v.metadata, sort_keys=True)))
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        out.print(f"{label:>{width}}: {value}", highlight=False, markup=False, soft_wrap=True)
    table(files, ["path", "size", "sha256"], False)


HISTORY = """query($p: String!, $n: String!, $a: String) { registeredModel(project: $p, name: $n) {
  history(first: 100, after: $a) { edges { node { sequence at kind actor alias fromVersion { ref } toVersion { ref } } }
  pageInfo { hasNextPage endCursor } } } }"""


def history(registered_model: Annotated[str, typer.Argument(
                metavar="COLLECTION", help="project/registered-model (or, with --alias, an artifact too)")],
            alias: Annotated[Optional[str], typer.Option(  # noqa: UP045
                help="only the moves of this alias (aliasHistory), newest first")] = None,
            at: Annotated[Optional[datetime], typer.Option(  # noqa: UP045
                help="with --alias: which version held it at this time (ISO 8601; no zone means UTC)")] = None,
            as_json: Json = False, url: Url = None) -> None:
    """The event log of a registered model, newest first: who moved which alias from what to what. With --alias,
    one alias's moves in any collection; with --alias and --at, the version it held then."""
    if at is not None and alias is None:
        raise errors.BadInput("--at needs --alias: which alias's holder do you want at that time?")
    if alias is not None:
        from .governance import alias_history

        alias_history(registered_model, alias, at, as_json, url)
        return
    rows: list[dict[str, Any]] = []
    with session(url) as reg:
        coll = refs.parse_collection(registered_model)
        after = None
        while True:
            model = reg.query(HISTORY, p=coll.project, n=coll.name, a=after)["registeredModel"]
            if model is None:
                raise errors.NotFound(f"registered model {registered_model!r} not found")
            page = model["history"]
            rows += [{**e["node"], "sequence": int(e["node"]["sequence"]),  # a Float in GraphQL, an integer
                      "from": (e["node"].pop("fromVersion") or {}).get("ref"),
                      "to": (e["node"].pop("toVersion") or {}).get("ref")} for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    table(rows, ["sequence", "at", "kind", "actor", "alias", "from", "to"], as_json)


LINEAGE = """query($r: String!, $d: LineageDirection!, $depth: Int!) { resolve(ref: $r) {
  lineage(direction: $d, depth: $depth) { truncated root nodes { id kind label distance } edges { source target kind } } } }"""


def lineage(ref: str, up: Annotated[bool, typer.Option("--up", help="what produced it (default)")] = False,
            down: Annotated[bool, typer.Option("--down", help="what was made from it")] = False,
            depth: int = 5, as_json: Json = False, url: Url = None) -> None:
    """REF's lineage as a tree: upstream (inputs, the runs that made them) or downstream."""
    direction = "DOWNSTREAM" if down and not up else "UPSTREAM"
    with session(url) as reg:
        graph = reg.query(LINEAGE, r=ref, d=direction, depth=depth)["resolve"]["lineage"]
    if as_json:
        emit(graph)
        return
    label = {n["id"]: f"{n['label']} [dim]({n['kind'].lower().replace('_', ' ')})[/dim]" for n in graph["nodes"]}
    children: dict[str, list[str]] = {}
    for e in graph["edges"]:
        parent, child = (e["target"], e["source"]) if direction == "UPSTREAM" else (e["source"], e["target"])
        children.setdefault(parent, []).append(child)
    root = graph["root"]
    tree = Tree(label[root])
    seen = {root}

    def grow(node: Tree, nid: str) -> None:
        for child in sorted(children.get(nid, []), key=lambda c: label[c]):
            if child in seen:
                node.add(label[child] + " [dim](shown above)[/dim]")
                continue
            seen.add(child)
            grow(node.add(label[child]), child)

    grow(tree, root)
    out.print(tree)
    if graph["truncated"]:
        out.print("[dim](truncated: raise --depth to see more)[/dim]")


def diff(ref_a: str, ref_b: str, as_json: Json = False, url: Url = None) -> None:
    """Two versions side by side: config and metrics of their runs, metadata, and file changes."""
    with session(url) as reg:
        c = reg.compare(ref_a, ref_b)
    if as_json:
        emit(c)
        return
    a, b = (v["ref"] for v in c["versions"])
    for section in ("config", "metrics", "metadata"):
        rows = [{"key": r["key"], a: _cell(r["values"][0]), b: _cell(r["values"][1]),
                 "": "≠" if r["differs"] else ""} for r in c[section]]
        if rows:
            out.print(f"[bold]{section}[/bold]")
            table(rows, ["key", a, b, ""], False)
    changed = [f for f in c["files"] if f["change"] != "UNCHANGED"]
    out.print(f"[bold]files[/bold]: {len(c['files']) - len(changed)} unchanged")
    table([{"change": f["change"].lower(), "path": f["path"],
             "size": " -> ".join("-" if s is None else str(int(s)) for s in f["size"])} for f in changed],
           ["change", "path", "size"], False)


# --- helpers --------------------------------------------------------------------------------------------------

def _pages(reg: Registry, query: str, field: str) -> Iterator[dict[str, Any]]:
    after = None
    while True:
        page = reg.query(query, a=after)[field]
        yield from page["edges"]
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]


def _cell(value: Any) -> str:
    return "-" if value is None else value if isinstance(value, str) else json.dumps(value)


def table(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        emit(rows)
        return
    shown = [c for c in columns if any(r.get(c) not in (None, "") for r in rows)] or columns[:1]
    grid = Table(box=None, header_style="bold", pad_edge=False)
    for c in shown:  # a value too long for the terminal wraps inside its column; none is cut off
        grid.add_column(c, overflow="fold")
    for r in rows:
        grid.add_row(*(_cell(r.get(c)) for c in shown))
    print_unwrapped(grid)


def print_unwrapped(renderable: Any) -> None:
    """On a terminal, as wide as the terminal; piped into a file or grep, as wide as it is: a row stays one line."""
    if out.is_terminal:
        out.print(renderable)
        return
    width = max(Measurement.get(out, out.options.update_width(UNBOUNDED), renderable).maximum, 1)
    Console(file=out.file, width=width, color_system=None, highlight=False).print(renderable)


UNBOUNDED = 1_000_000


def _json_object(text: str | None, flag: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        err.print(f"error: {flag} must be a JSON object, e.g. '{{\"auc\": 0.91}}'", highlight=False)
        raise typer.Exit(5)
    return value


def register(app: typer.Typer) -> None:
    from . import governance, manage, search

    for command in (login, log, get, link, ls, show, history, lineage, diff):
        app.command()(command)
    app.add_typer(alias_app, name="alias")
    app.add_typer(project_app, name="project")
    app.add_typer(cache_app, name="cache")
    manage.register(app)
    search.register(app)
    governance.register(app)


__all__ = ["EXIT_CODES", "Unreachable", "register"]
