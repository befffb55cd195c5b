"""Finding and judging models from a terminal (the SDK underneath; docs/search.md, docs/metrics.md).

    lineage-reg search versions|models|runs 'QUERY' [--order -metric.auc] [--limit N] [--json]
    lineage-reg metrics log REF name=value... [--source production] [--step N] [--at TIME]
    lineage-reg metrics show REF [--source S] [--json]
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Optional

import typer

from .. import errors
from ..client import search
from .client import Json, Url, out, session, table

search_app = typer.Typer(help="Search versions, registered models and runs (grammar: docs/search.md).",
                         no_args_is_help=True)
metrics_app = typer.Typer(help="Metrics on versions: evaluation, production, your own sources (docs/metrics.md).",
                          no_args_is_help=True)

Query = Annotated[str, typer.Argument(
    help="e.g. 'type:model tag:candidate metric.auc>=0.9' (quote it; '' for everything you may read)")]
Limit = Annotated[int, typer.Option(help="at most this many results", min=0)]
Order = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--order", help="e.g. -metric.auc, created, -created, index, size, metric.production:latency_p99 "
                    "(- for descending; comma-separated for several)")]

VERSION_COLUMNS = ["ref", "state", "size", "tags", "aliases", "metrics"]
MODEL_COLUMNS = ["model", "aliases", "tags", "description", "createdAt"]
RUN_COLUMNS = ["project", "name", "status", "createdBy", "createdAt", "summary"]


def _metrics_cell(series: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['source']}:{s['name']}={_number(s['latest'])}" for s in series)


def _number(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


VERSIONS = """query($q: String, $o: [VersionOrder!], $n: Int, $a: String) {
  searchVersions(query: $q, orderBy: $o, first: $n, after: $a) {
    edges { node { id ref state size createdAt tags aliases metrics { name source latest } } }
    pageInfo { hasNextPage endCursor } } }"""
PAGE = 100


@search_app.command("versions")
def search_versions(query: Query, order: Order = None, limit: Limit = 20, as_json: Json = False,
                    url: Url = None) -> None:
    """Artifact versions matching QUERY, newest first unless --order says otherwise."""
    found: list[dict[str, Any]] = []
    with session(url) as reg:
        orders, after = search.orders(order), None
        while len(found) < limit:  # one request per page, metrics included: no request per version
            page = reg.query(VERSIONS, q=query or None, o=orders, n=min(PAGE, limit - len(found)),
                             a=after)["searchVersions"]
            found += [e["node"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    if as_json:
        table(found, [], True)
        return
    rows = [{**v, "tags": ", ".join(v["tags"]), "aliases": ", ".join(v["aliases"]),
             "metrics": _metrics_cell(v["metrics"])} for v in found]
    _table_or_none(rows, VERSION_COLUMNS, "versions")


@search_app.command("models")
def search_models(query: Query, limit: Limit = 20, as_json: Json = False, url: Url = None) -> None:
    """Registered models matching QUERY."""
    with session(url) as reg:
        found = list(reg.search_models(query or None, limit=limit))
    if as_json:
        table(found, [], True)
        return
    rows = [{"model": f"{m['project']['name']}/{m['name']}", "tags": ", ".join(m["tags"]),
             "aliases": ", ".join(f"{a['name']}={a['version']['ref']}" for a in m["aliases"]),
             "description": m["description"], "createdAt": m["createdAt"]} for m in found]
    _table_or_none(rows, MODEL_COLUMNS, "registered models")


@search_app.command("runs")
def search_runs(query: Query, order: Order = None, limit: Limit = 20, as_json: Json = False,
                url: Url = None) -> None:
    """Runs matching QUERY, newest first unless --order says otherwise (created, metric.NAME)."""
    with session(url) as reg:
        found = list(reg.search_runs(query or None, order_by=order, limit=limit))
    if as_json:
        table(found, [], True)
        return
    rows = [{**r, "project": r["project"]["name"],
             "summary": ", ".join(f"{k}={_number(v)}" for k, v in sorted(r["summary"].items()))} for r in found]
    _table_or_none(rows, RUN_COLUMNS, "runs")


def _table_or_none(rows: list[dict[str, Any]], columns: list[str], what: str) -> None:
    if rows:
        table(rows, columns, False)
    else:
        out.print(f"no {what} match", highlight=False, markup=False)


def parse_assignments(pairs: list[str]) -> dict[str, float]:
    """``["auc=0.93", "loss=0.1"]`` → ``{"auc": 0.93, "loss": 0.1}``; a malformed pair is BAD_INPUT."""
    metrics: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not sep or not name or not math.isfinite(value):
            raise errors.BadInput(f"{pair!r} is not NAME=NUMBER (e.g. auc=0.93)")
        metrics[name] = value
    return metrics


@metrics_app.command("log")
def metrics_log(ref: Annotated[str, typer.Argument(help="the version: project/name:v3, project/model:production, "
                                                        "or an id")],
                values: Annotated[list[str], typer.Argument(metavar="NAME=VALUE...", help="e.g. auc=0.93 loss=0.1")],
                source: Annotated[str, typer.Option(help="evaluation, production, or a name of your own")
                                  ] = "evaluation",
                step: Annotated[Optional[int], typer.Option(help="a step number to keep with the points")] = None,  # noqa: UP045
                at: Annotated[Optional[datetime], typer.Option(  # noqa: UP045
                    help="when they were measured (ISO 8601, default now)")] = None,
                url: Url = None) -> None:
    """Record metric values on a version; print how many points were stored."""
    with session(url) as reg:
        metrics = parse_assignments(values)
        stored = reg.log_version_metrics(ref, metrics, source=source, at=at, step=step)
    out.print(f"{stored} point{'s' if stored != 1 else ''} stored on {ref} ({source})", highlight=False,
              markup=False)


@metrics_app.command("show")
def metrics_show(ref: str, source: Annotated[Optional[str], typer.Option(help="only this source")] = None,  # noqa: UP045
                 as_json: Json = False, url: Url = None) -> None:
    """A version's metric series: latest, count, min, max and mean per source and name."""
    with session(url) as reg:
        rows = reg.version_metrics(ref, source=source)
    table(rows, ["source", "name", "latest", "count", "min", "max", "mean"], as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(search_app, name="search")
    app.add_typer(metrics_app, name="metrics")
