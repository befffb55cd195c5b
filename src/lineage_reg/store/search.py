"""SQL of the searches over versions, registered models and runs, on SQLite and PostgreSQL.

A search is a list of terms (``filters.Term``) that must all hold, an access scope (the project ids the caller
may read; None: every project) and an order. Each term becomes one condition; each order key one expression
plus the keyset condition that continues after a cursor, ending in the row id so every order is total.

JSON comparisons (metadata, config, a run's summary) compare numbers with numbers and strings with strings:
``metadata.epochs>3`` holds for ``{"epochs": 5}``, never for ``{"epochs": "5"}``. On PostgreSQL they use jsonb
operators (``@>`` where it can, for the GIN index), on SQLite ``json_type``/``json_extract`` with each path
segment quoted. docs/search.md says which index serves which term.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..filters import Created, FilterOp, JsonTerm, Match, MetricTerm, OrderKey, Term
from ..records import CollectionRec, Page, RunRec, VersionRec
from . import schema as s
from .db import Conn

V, C, P, R = s.version.c, s.collection.c, s.project.c, s.run.c
PRECEDENCE = ("evaluation", "production", "training")  # a metric asked for without a source


@dataclass(frozen=True)
class Search:
    kind: str  # "versions" | "models" | "runs"
    terms: tuple[Term, ...]
    project_ids: tuple[int, ...] | None  # None: every project
    order: tuple[OrderKey, ...]


# --- JSON values, per dialect ---

def _compare(left: Any, op: FilterOp, right: Any) -> sa.ColumnElement[bool]:
    return {FilterOp.EQ: left == right, FilterOp.NE: left != right, FilterOp.GT: left > right,
            FilterOp.GTE: left >= right, FilterOp.LT: left < right, FilterOp.LTE: left <= right}[op]


def _nested(path: Sequence[str], leaf: Any) -> Any:
    for segment in reversed(path):
        leaf = {segment: leaf}
    return leaf


class _Json:
    """A value at a path into a JSON column: its type, its number and its string, on one dialect."""

    def __init__(self, column: Any, path: Sequence[str], dialect: str) -> None:
        self.column, self.path, self.pg = column, tuple(path), dialect == "postgresql"
        if self.pg:
            at = sa.literal(list(self.path), postgresql.ARRAY(sa.Text))
            self.kind = sa.func.jsonb_typeof(column.op("#>")(at))
            self.text = column.op("#>>", return_type=sa.Text)(at)
            self.number: Any = sa.case((self.kind == "number", sa.cast(self.text, sa.Float)))
            self.types = {"number": "number", "string": "string", "array": "array"}
        else:
            jpath = "$" + "".join('."' + segment + '"' for segment in self.path)
            self.jpath = jpath
            self.kind = sa.func.json_type(column, jpath)
            value = sa.func.json_extract(column, jpath)
            self.text = sa.case((self.kind == "text", value))
            self.number = sa.cast(sa.case((self.kind.in_(["integer", "real"]), value), else_=None), sa.Float)
            self.types = {"number": "", "string": "text", "array": "array"}

    def _contains(self, doc: Any) -> sa.ColumnElement[bool]:
        return self.column.op("@>", is_comparison=True)(sa.cast(sa.literal(json.dumps(doc)), postgresql.JSONB))  # type: ignore[no-any-return]

    def equals(self, value: Any) -> sa.ColumnElement[bool]:
        if value is None:
            return self.kind == "null"
        if isinstance(value, bool):
            if self.pg:
                return sa.and_(self.kind == "boolean", self.text == json.dumps(value))
            return self.kind == ("true" if value else "false")
        cond = self.number == float(value) if isinstance(value, int | float) else self.text == value
        return sa.and_(self._contains(_nested(self.path, value)), cond) if self.pg else cond

    def condition(self, op: FilterOp, value: Any) -> sa.ColumnElement[bool]:
        if op is FilterOp.EXISTS:
            present = self.kind.is_not(None)
            return present if value in (None, True) else sa.not_(present)
        if op is FilterOp.EQ:
            return self.equals(value)
        if op is FilterOp.NE:
            return sa.not_(sa.func.coalesce(self.equals(value), sa.false()))
        if op is FilterOp.IN:
            return sa.or_(*(self.equals(v) for v in value)) if value else sa.false()
        if op is FilterOp.CONTAINS:
            return self._has(value)
        side = self.number if isinstance(value, int | float) else self.text
        return _compare(side, op, float(value) if isinstance(value, int | float) else value)

    def _has(self, value: Any) -> sa.ColumnElement[bool]:
        """A list at the path holds ``value``, or the string there has it as a substring (case-sensitive)."""
        if self.pg:
            in_list = sa.and_(self.kind == "array", self._contains(_nested(self.path, [value])))
            if isinstance(value, str):
                return sa.or_(in_list, sa.func.strpos(self.text, value) > 0)
            return in_list
        each = sa.func.json_each(self.column, self.jpath).table_valued("value", "type").alias("je")
        if isinstance(value, bool):
            match = each.c.type == ("true" if value else "false")
        elif isinstance(value, int | float):
            match = sa.and_(each.c.type.in_(["integer", "real"]), each.c.value == value)
        else:
            match = sa.and_(each.c.type == "text", each.c.value == value)
        in_list = sa.and_(self.kind == "array", sa.exists().select_from(each).where(match))
        if isinstance(value, str):
            return sa.or_(in_list, sa.func.instr(self.text, value) > 0)
        return in_list


def _tags(column: Any, values: Sequence[str], dialect: str) -> sa.ColumnElement[bool]:
    """The JSON list ``column`` holds one of ``values``."""
    if dialect == "postgresql":
        return sa.or_(*(column.op("@>", is_comparison=True)(sa.cast(sa.literal(json.dumps([t])), postgresql.JSONB)) for t in values))
    each = sa.func.json_each(column).table_valued("value").alias("tag")
    return sa.exists().select_from(each).where(each.c.value.in_(list(values)))


def _like(expr: Any, needle: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(expr).contains(needle.lower(), autoescape=True)  # type: ignore[no-any-return]


def _tag_like(column: Any, needle: str, dialect: str) -> sa.ColumnElement[bool]:
    fn = sa.func.jsonb_array_elements_text if dialect == "postgresql" else sa.func.json_each
    each = fn(column).table_valued("value").alias("tagtext")
    return sa.exists().select_from(each).where(_like(each.c.value, needle))


# --- metrics ---

def _training(name: str, dialect: str, run_id: Any) -> Any:
    value = _Json(R.summary, (name,), dialect).number
    return sa.select(value).where(R.id == run_id).scalar_subquery()


def metric_value(name: str, source: str | None, dialect: str, *, kind: str) -> Any:
    """The latest value of metric ``name`` of the outer version (or run), from ``source`` or by ``PRECEDENCE``."""
    if kind == "runs":
        return _Json(R.summary, (name,), dialect).number
    m = s.version_metric_summary.c

    def stored(src: str) -> Any:
        return sa.select(m.latest).where(m.version_id == V.id, m.source == src, m.name == name).scalar_subquery()

    if source == "training":
        return _training(name, dialect, V.run_id)
    if source is not None:
        return stored(source)
    return sa.func.coalesce(stored("evaluation"), stored("production"), _training(name, dialect, V.run_id))


def _metric(term: MetricTerm, dialect: str, kind: str) -> sa.ColumnElement[bool]:
    if kind == "versions" and term.source not in (None, "training"):  # served by ix_version_metric_summary_by_value
        m = s.version_metric_summary.c
        ids = sa.select(m.version_id).where(m.source == term.source, m.name == term.name,
                                            _compare(m.latest, term.op, term.value))
        return V.id.in_(ids)
    return _compare(metric_value(term.name, term.source, dialect, kind=kind), term.op, term.value)


# --- terms ---

def _match_versions(term: Match, dialect: str) -> sa.ColumnElement[bool]:
    values = list(term.values)
    f = term.field
    if f == "project":
        return P.name.in_(values)
    if f == "artifact":
        return C.name.in_(values)
    if f == "type":
        return C.type.in_(values)
    if f == "state":
        return V.state.in_(values)
    if f == "createdBy":
        return V.created_by.in_(values)
    if f == "tag":
        return _tags(V.tags, values, dialect)
    if f == "alias":  # in its artifact or in any registered model it is linked into: alias rows point at versions
        a = s.alias.c
        return sa.exists().where(a.version_id == V.id, a.name.in_(values))
    if f == "registeredModel":
        lk, model, mp = s.link.alias("lk"), s.collection.alias("m"), s.project.alias("mp")
        pairs = [tuple(v.split("/", 1)) for v in values]
        return sa.exists(
            sa.select(lk.c.id).join(model, model.c.id == lk.c.model_id).join(mp, mp.c.id == model.c.project_id)
            .where(lk.c.version_id == V.id, sa.or_(*(sa.and_(mp.c.name == p, model.c.name == n) for p, n in pairs)))
        )
    if f == "text":
        return sa.or_(*(sa.or_(_like(C.name, t), _like(V.description, t), _tag_like(V.tags, t, dialect))
                        for t in values))
    raise ValueError(f"versions have no field {f}")


def _match_models(term: Match, dialect: str) -> sa.ColumnElement[bool]:
    values = list(term.values)
    if term.field == "project":
        return P.name.in_(values)
    if term.field == "tag":
        return _tags(C.tags, values, dialect)
    if term.field == "alias":
        a = s.alias.c
        return sa.exists().where(a.collection_id == C.id, a.name.in_(values))
    if term.field == "text":
        return sa.or_(*(sa.or_(_like(C.name, t), _like(C.description, t), _tag_like(C.tags, t, dialect))
                        for t in values))
    raise ValueError(f"registered models have no field {term.field}")


def _match_runs(term: Match, dialect: str) -> sa.ColumnElement[bool]:
    values = list(term.values)
    if term.field == "project":
        return P.name.in_(values)
    if term.field == "status":
        return R.status.in_(values)
    if term.field == "createdBy":
        return R.created_by.in_(values)
    if term.field == "text":
        return sa.or_(*(_like(R.name, t) for t in values))
    raise ValueError(f"runs have no field {term.field}")


_MATCH = {"versions": _match_versions, "models": _match_models, "runs": _match_runs}
_JSON_COLUMN = {"versions": V.metadata, "runs": R.config}
_CREATED_AT = {"versions": V.created_at, "models": C.created_at, "runs": R.created_at}
_ID = {"versions": V.id, "models": C.id, "runs": R.id}


def condition(term: Term, kind: str, dialect: str) -> sa.ColumnElement[bool]:
    if isinstance(term, Match):
        cond = _MATCH[kind](term, dialect)
        return sa.not_(sa.func.coalesce(cond, sa.false())) if term.negate else cond
    if isinstance(term, JsonTerm):
        cond = _Json(_JSON_COLUMN[kind], term.path, dialect).condition(term.op, term.value)
        return sa.not_(sa.func.coalesce(cond, sa.false())) if term.negate else cond
    if isinstance(term, MetricTerm):
        return _metric(term, dialect, kind)
    if isinstance(term, Created):
        return _compare(_CREATED_AT[kind], term.op, sa.literal(term.at, _CREATED_AT[kind].type))
    raise TypeError(term)


def _base(kind: str) -> tuple[sa.Select[Any], Any]:
    if kind == "versions":
        return s.select_versions(), VersionRec.from_row
    if kind == "models":
        return s.select_collections().where(C.kind == "model"), CollectionRec.from_row
    return sa.select(s.run).join(s.project, P.id == R.project_id), RunRec.from_row


# "Filter by a stored metric, order by the same metric" (``auc >= 0.9``, best first) joins that metric's summary
# row instead of asking a correlated subquery per row: the database then walks ix_version_metric_summary_by_value
# (source, name, latest, version_id) in the order asked for and stops once the page is full, where the subquery
# form read every version the metric term let through, then sorted them (1.1 M versions, ~55,000 with auc >= 0.95:
# 250 ms). The join drops versions without the metric, which the filter on it drops anyway.
MS = s.version_metric_summary.alias("ms")
_BOUNDED = (FilterOp.GT, FilterOp.GTE, FilterOp.LT, FilterOp.LTE, FilterOp.EQ)


def _joined_metric(search: Search) -> MetricTerm | None:
    """The filter's term on the order key's stored metric, when the summary row can be joined (one order key:
    the index's order is then the whole order)."""
    if search.kind != "versions" or len(search.order) != 1:
        return None
    first = search.order[0]
    if first.field != "metric" or first.source in (None, "training"):
        return None
    return next((t for t in search.terms if isinstance(t, MetricTerm) and t.source == first.source
                 and t.name == first.metric and t.op in _BOUNDED), None)


def _filtered(search: Search, dialect: str, *, join_metric: bool = True) -> tuple[sa.Select[Any], Any]:
    stmt, build = _base(search.kind)
    if search.project_ids is not None:
        stmt = stmt.where(P.id.in_(list(search.project_ids)) if search.project_ids else sa.false())
    joined = _joined_metric(search)
    if joined is not None and join_metric:
        stmt = stmt.join(MS, sa.and_(MS.c.version_id == V.id, MS.c.source == joined.source,
                                     MS.c.name == joined.name))
        stmt = stmt.where(_compare(MS.c.latest, joined.op, joined.value))
    return stmt.where(*(condition(t, search.kind, dialect) for t in search.terms if t is not joined)), build


# --- order and keyset ---

def _order_expr(key: OrderKey, kind: str, dialect: str) -> tuple[Any, bool]:
    """(expression, nullable) of one order key."""
    if key.field == "metric":
        assert key.metric is not None
        return metric_value(key.metric, key.source, dialect, kind=kind), True
    table = s.version if kind == "versions" else s.run if kind == "runs" else s.collection
    return table.c[key.field], False


def _keys(search: Search, dialect: str) -> list[tuple[Any, bool, bool]]:
    """(expression, descending, nullable) for each order key, then the id (in the first key's direction)."""
    keys = [(*_order_expr(k, search.kind, dialect), k) for k in search.order]
    out = [(expr, k.descending, nullable) for expr, nullable, k in keys]
    last = _ID[search.kind]
    if _joined_metric(search) is not None:  # the joined row's columns: the index's own order
        out[0] = (MS.c.latest, search.order[0].descending, False)
        last = MS.c.version_id
    return [*out, (last, search.order[0].descending if search.order else True, False)]


def _after(keys: list[tuple[Any, bool, bool]], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after the cursor ``values`` in the order ``keys`` (nulls last whatever the direction)."""
    ors: list[sa.ColumnElement[bool]] = []
    equal: list[sa.ColumnElement[bool]] = []
    for (expr, descending, nullable), value in zip(keys, values, strict=True):
        if value is None:  # only a nullable key: the cursor is among the nulls, which sort last
            ors.append(sa.and_(*equal, sa.false()))
            equal.append(expr.is_(None))
            continue
        bound = sa.literal(value, expr.type)
        beyond = expr < bound if descending else expr > bound
        if nullable:
            beyond = sa.or_(beyond, expr.is_(None))
        ors.append(sa.and_(*equal, beyond))
        equal.append(expr == bound)
    return sa.or_(*ors)


def _walk_metric_index(search: Search, joined: MetricTerm, after: Sequence[Any] | None,
                       limit: int) -> tuple[sa.Select[Any], list[str]]:
    """PostgreSQL's form of the joined metric: its planner estimates JSONB containment (``tags @> ...``) far too
    selective, so with a plain join it reads every version the tag and metadata indexes give, then sorts (230 ms
    at 1.1 M versions). Here the summary index is walked in order and each candidate version is checked by its
    primary key in a LATERAL subquery that ``OFFSET 0`` keeps from being flattened back into that plan (20 ms)."""
    descending = search.order[0].descending
    keys = [(MS.c.latest, descending, False), (MS.c.version_id, descending, False)]
    cand = sa.select(MS.c.version_id, MS.c.latest).where(
        MS.c.source == joined.source, MS.c.name == joined.name, _compare(MS.c.latest, joined.op, joined.value))
    if after is not None:
        cand = cand.where(_after(keys, after))
    cand_q = cand.subquery("cand")
    inner, _ = _filtered(search, "postgresql", join_metric=False)
    version = inner.where(V.id == cand_q.c.version_id).offset(0).lateral("v")
    order = [cand_q.c.latest.desc() if descending else cand_q.c.latest.asc(),
             cand_q.c.version_id.desc() if descending else cand_q.c.version_id.asc()]
    stmt = (sa.select(version, cand_q.c.latest.label("_k0"), cand_q.c.version_id.label("_k1"))
            .select_from(cand_q.join(version, sa.true())).order_by(*order).limit(limit))
    return stmt, ["_k0", "_k1"]


async def search_page(conn: Conn, search: Search, *, first: int, after: Sequence[Any] | None) -> Page[Any]:
    """One page; each key is the row's order values, its id last (what the cursor encodes)."""
    dialect = conn.dialect_name
    joined = _joined_metric(search)
    if joined is not None and dialect == "postgresql":
        walk, names = _walk_metric_index(search, joined, after, first + 1)
        rows = (await conn.execute(walk)).all()
        kept = rows[:first]
        return Page(items=[VersionRec.from_row(r) for r in kept],
                    keys=[[r._mapping[n] for n in names] for r in kept], has_next=len(rows) > first,
                    has_previous=after is not None)
    stmt, build = _filtered(search, dialect)
    keys = _keys(search, dialect)
    labels = [f"_k{i}" for i in range(len(keys))]
    stmt = stmt.add_columns(*(expr.label(label) for (expr, _, _), label in zip(keys, labels, strict=True)))
    if after is not None:
        stmt = stmt.where(_after(keys, after))
    order = []
    for expr, descending, nullable in keys:
        o = expr.desc() if descending else expr.asc()
        order.append(o.nulls_last() if nullable else o)
    rows = (await conn.execute(stmt.order_by(*order).limit(first + 1))).all()
    kept = rows[:first]
    return Page(items=[build(r) for r in kept], keys=[[r._mapping[label] for label in labels] for r in kept],
                has_next=len(rows) > first, has_previous=after is not None)


async def search_count(conn: Conn, search: Search, *, cap: int) -> int:
    """How many rows match, counted up to ``cap + 1`` (the caller reports more than ``cap`` as such)."""
    stmt, _ = _filtered(search, conn.dialect_name)
    limited = stmt.with_only_columns(_ID[search.kind], maintain_column_froms=True).limit(cap + 1).subquery()
    return int((await conn.execute(sa.select(sa.func.count()).select_from(limited))).scalar_one())
