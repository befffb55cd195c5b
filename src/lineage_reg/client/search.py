"""Search and metrics for the SDK: the GraphQL it sends and the short order syntax it accepts.

``order_by`` is text a person can write: ``"-metric.auc"`` (newest/largest first with ``-``),
``"metric.production:latency_p99"`` (a metric of one source), ``"created"``, ``"index"``, ``"size"``;
several orders as a list or comma-separated. See docs/search.md.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .. import errors
from .version import VERSION_FIELDS

PAGE_INFO = "pageInfo { hasNextPage endCursor }"
SEARCH_VERSIONS = (f"query($f: VersionFilter, $q: String, $o: [VersionOrder!], $n: Int, $a: String) {{ "
                   f"searchVersions(filter: $f, query: $q, orderBy: $o, first: $n, after: $a) {{ "
                   f"edges {{ node {{ {VERSION_FIELDS} }} }} {PAGE_INFO} }} }}")
MODEL_FIELDS = "id name project { name } description tags createdAt aliases { name version { ref } }"
SEARCH_MODELS = (f"query($f: ModelFilter, $q: String, $n: Int, $a: String) {{ "
                 f"searchRegisteredModels(filter: $f, query: $q, first: $n, after: $a) {{ "
                 f"edges {{ node {{ {MODEL_FIELDS} }} }} {PAGE_INFO} }} }}")
RUN_FIELDS = "id name project { name } status config summary createdAt finishedAt createdBy"
SEARCH_RUNS = (f"query($f: RunFilter, $q: String, $o: [RunOrder!], $n: Int, $a: String) {{ "
               f"searchRuns(filter: $f, query: $q, orderBy: $o, first: $n, after: $a) {{ "
               f"edges {{ node {{ {RUN_FIELDS} }} }} {PAGE_INFO} }} }}")
LOG_METRICS = ("mutation($v: String!, $m: JSON!, $s: String!, $at: DateTime, $step: Int) { "
               "logVersionMetrics(version: $v, metrics: $m, source: $s, at: $at, step: $step) }")
LOG_METRICS_BATCH = "mutation($p: [VersionMetricsInput!]!) { logVersionMetricsBatch(points: $p) }"
METRICS = ("query($v: String!, $s: String, $n: [String!]) { resolve(ref: $v) { "
           "metrics(source: $s, names: $n) { name source latest count min max mean } } }")
BATCH_POINTS = 10_000  # points (names) per logVersionMetricsBatch request: the server's bound (docs/metrics.md)

_VERSION_FIELDS = {"created": "CREATED_AT", "index": "INDEX", "size": "SIZE"}
_RUN_FIELDS = {"created": "CREATED_AT"}
_METRIC = re.compile(r"metric\.(?:(?P<source>[A-Za-z0-9_.-]+):)?(?P<name>[A-Za-z0-9_.:/-]+)$")


def orders(order_by: str | Sequence[str] | None, *, runs: bool = False) -> list[dict[str, Any]] | None:
    """``"-metric.auc,created"`` → ``[{field: METRIC, direction: DESC, metric: auc}, {field: CREATED_AT, …}]``."""
    if order_by is None:
        return None
    items = order_by.split(",") if isinstance(order_by, str) else list(order_by)
    fields = _RUN_FIELDS if runs else _VERSION_FIELDS
    result = []
    for raw in items:
        text = raw.strip()
        direction = "DESC" if text.startswith("-") else "ASC"
        key = text.lstrip("-+")
        if key in fields:
            result.append({"field": fields[key], "direction": direction})
            continue
        m = _METRIC.match(key)
        if m is None:
            names = ", ".join([*fields, "metric.NAME"] + ([] if runs else ["metric.SOURCE:NAME"]))
            raise errors.BadInput(f"order {raw!r} is not one of {names} (prefix - for descending)")
        order: dict[str, Any] = {"field": "METRIC", "direction": direction, "metric": m["name"]}
        if m["source"] is not None:
            if runs:
                raise errors.BadInput(f"order {raw!r}: runs order by their own metrics, write metric.NAME")
            order["source"] = m["source"]
        result.append(order)
    return result


def metric_values(metrics: dict[str, Any]) -> dict[str, float]:
    """``metrics`` checked before it is sent: names to finite numbers (the server checks again)."""
    if not isinstance(metrics, dict) or not metrics:
        raise errors.BadInput("metrics must be a non-empty dict of name → number, e.g. {'auc': 0.93}")
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise errors.BadInput(f"metric {name!r} is {value!r}: give a finite number")
    return {str(k): float(v) for k, v in metrics.items()}


def point(version: str, metrics: dict[str, Any], *, source: str = "evaluation", at: datetime | None = None,
          step: int | None = None) -> dict[str, Any]:
    """One ``VersionMetricsInput``."""
    return {"version": version, "metrics": metric_values(metrics), "source": source,
            "at": at.isoformat() if at is not None else None, "step": step}
