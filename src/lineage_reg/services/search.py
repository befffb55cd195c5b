"""Searches over versions, registered models and runs: validation, the text query, cursors, counts.

The API hands over the typed filter as terms (``filters.Term``), the text ``query`` and the order; here they
are checked and combined (by AND), the page is read and each row gets a cursor that encodes its order values,
its id and which order it belongs to (a cursor used with another ``orderBy`` is refused). ``total_count`` is
exact up to ``COUNT_CAP``; past it the answer is ``COUNT_CAP + 1``, meaning "more than 10,000"
(docs/search.md, "totalCount").
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import ids, refs
from ..errors import BadInput
from ..filters import ORDERING, Created, FilterOp, JsonTerm, Match, MetricTerm, OrderKey, Term
from ..records import Page
from ..store import search as search_store
from ..store.search import Search
from . import search_query
from .runtime import Runtime

COUNT_CAP = 10_000
MAX_TERMS = 50
METRIC_NAME = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")
PATH_SEGMENT = re.compile(r'[^"\\.]{1,128}')
ORDER_FIELDS = {"versions": ("created_at", "index", "size", "metric"), "runs": ("created_at", "metric"),
                "models": ("created_at",)}


@dataclass(frozen=True)
class Found:
    """A page of a search with each row's cursor."""

    page: Page[Any]
    cursors: list[str]


def terms_of(kind: str, *, terms: Sequence[Term], query: str | None) -> tuple[Term, ...]:
    """The typed filter's terms and the query's, checked; versions are COMMITTED unless a state is asked for."""
    every = [*terms, *(search_query.parse(query, kind=kind) if query else [])]
    if len(every) > MAX_TERMS:
        raise BadInput(f"{len(every)} filter terms; combine at most {MAX_TERMS}")
    for term in every:
        _check(term, kind)
    if kind == "versions" and not any(isinstance(t, Match) and t.field == "state" for t in every):
        every.append(Match("state", ("COMMITTED",)))
    return tuple(every)


def projects_named(terms: Sequence[Term]) -> list[str]:
    """Every project a search names, itself or as a registered model's (each must be readable, checked like the
    project itself)."""
    named = {v for t in terms if isinstance(t, Match) and t.field == "project" for v in t.values}
    named |= {v.split("/", 1)[0] for t in terms if isinstance(t, Match) and t.field == "registeredModel"
              for v in t.values}
    return sorted(named)


def _check(term: Term, kind: str) -> None:
    if isinstance(term, JsonTerm):
        what = "metadata" if kind == "versions" else "config"
        if not term.path or len(term.path) > 16 or not all(PATH_SEGMENT.fullmatch(p) for p in term.path):
            raise BadInput(f"{what} path {'.'.join(term.path)[:200]!r}: write dot-separated keys (1-16 of them, "
                           'no quotes or backslashes), e.g. train.epochs')
        _check_json_value(term, what)
    elif isinstance(term, MetricTerm):
        if not METRIC_NAME.fullmatch(term.name) or (term.source is not None and not METRIC_NAME.fullmatch(term.source)):
            raise BadInput(f"metric {term.name[:130]!r}: names and sources are 1-128 of [A-Za-z0-9_.:/-]")
        if term.op not in ORDERING:
            raise BadInput(f"a metric filter compares one number: op is one of {', '.join(ORDERING)}, not {term.op}")
        if not math.isfinite(term.value):
            raise BadInput("a metric filter's value must be a finite number")
        if kind == "runs" and term.source not in (None, "training"):
            raise BadInput(f"runs have only their own (training) metrics; drop source {term.source!r}")
    elif isinstance(term, Created):
        if term.op not in (FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE):
            raise BadInput("created compares with > >= < <=")
    elif isinstance(term, Match):
        if not term.values or len(term.values) > 100:
            raise BadInput(f"{term.field}: give 1-100 values (or leave the field out)")
        if term.field == "registeredModel":
            for value in term.values:
                refs.parse_collection(value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int | float)


def _check_json_value(term: JsonTerm, what: str) -> None:
    path, v, op = ".".join(term.path), term.value, term.op
    if op in (FilterOp.EQ, FilterOp.NE) and not _scalar(v):
        raise BadInput(f"{what}.{path} {op}: compare with a string, number, boolean or null (CONTAINS finds an "
                       "item in a list)")
    if op is FilterOp.IN and not (isinstance(v, list) and v and all(_scalar(x) for x in v) and len(v) <= 100):
        raise BadInput(f"{what}.{path} IN: value is a list of 1-100 strings, numbers, booleans or nulls")
    if op in (FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE) and (
            isinstance(v, bool) or not isinstance(v, str | int | float)):
        raise BadInput(f"{what}.{path} {op}: compare with a number (numbers only) or a string (strings only)")
    if op is FilterOp.CONTAINS and (v is None or not _scalar(v)):
        raise BadInput(f"{what}.{path} CONTAINS: value is the string, number or boolean to find")
    if op is FilterOp.EXISTS and v not in (None, True, False):
        raise BadInput(f"{what}.{path} EXISTS: value is true (present, the default) or false (absent)")
    if isinstance(v, float) and not math.isfinite(v):
        raise BadInput(f"{what}.{path}: compare with a finite number")


def check_order(kind: str, order: Sequence[OrderKey]) -> tuple[OrderKey, ...]:
    """The order asked for (newest first when empty), checked."""
    if len(order) > 5:
        raise BadInput(f"orderBy has {len(order)} keys; give at most 5")
    for key in order:
        if key.field not in ORDER_FIELDS[kind]:
            raise BadInput(f"{kind} are ordered by {', '.join(ORDER_FIELDS[kind]).upper()}, not {key.field.upper()}")
        if key.field == "metric":
            if not key.metric:
                raise BadInput("orderBy METRIC needs the metric's name: {field: METRIC, metric: \"auc\"}")
            if not METRIC_NAME.fullmatch(key.metric) or (key.source is not None and not METRIC_NAME.fullmatch(key.source)):
                raise BadInput(f"orderBy metric {key.metric[:130]!r}: names and sources are 1-128 of [A-Za-z0-9_.:/-]")
            if kind == "runs" and key.source not in (None, "training"):
                raise BadInput(f"runs are ordered by their own (training) metrics; drop source {key.source!r}")
        elif key.metric is not None or key.source is not None:
            raise BadInput(f"orderBy {key.field.upper()} takes no metric or source; those go with METRIC")
    return tuple(order) or (OrderKey("created_at", True),)


def _signature(search: Search) -> str:
    return search.kind + ";" + ";".join(f"{k.field},{int(k.descending)},{k.metric},{k.source}" for k in search.order)


def _encode(search: Search, values: Sequence[Any]) -> str:
    plain = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    return ids.encode_cursor(json.dumps({"o": _signature(search), "k": plain}, separators=(",", ":")))


def _decode(search: Search, cursor: str) -> list[Any]:
    raw = ids.decode_cursor(cursor)
    try:
        data: Any = json.loads(raw) if isinstance(raw, str) else None
        values = [datetime.fromisoformat(v["t"]) if isinstance(v, dict) else v for v in data["k"]]
        signature = data["o"]
    except (ValueError, TypeError, KeyError):
        raise BadInput(f"invalid cursor {cursor[:80]!r}: pass an endCursor this search returned") from None
    if signature != _signature(search) or len(values) != len(search.order) + 1:
        raise BadInput("this cursor belongs to another search order: pass `after` only with the orderBy it came "
                       "from, or start again without it")
    return values


def prepare(kind: str, *, terms: tuple[Term, ...], order: Sequence[OrderKey],
            project_ids: tuple[int, ...] | None) -> Search:
    """A search of ``kind`` from checked ``terms`` (``terms_of``) within ``project_ids`` (None: every project)."""
    return Search(kind, terms, project_ids, check_order(kind, order))


async def search(rt: Runtime, *, spec: Search, first: int, after: str | None) -> Found:
    """One page of a checked search (``terms_of``, ``check_order``) within ``spec.project_ids``."""
    keys = _decode(spec, after) if after else None
    async with rt.db.reader() as r:
        page = await search_store.search_page(r, spec, first=first, after=keys)
    return Found(page, [_encode(spec, k) for k in page.keys])


async def count(rt: Runtime, *, spec: Search) -> int:
    """Matching rows up to ``COUNT_CAP``; ``COUNT_CAP + 1`` means more."""
    async with rt.db.reader() as r:
        return await search_store.search_count(r, spec, cap=COUNT_CAP)
