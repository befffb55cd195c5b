"""SQL for metrics on versions: points, their running summaries, the training source (a run's history) and rules.

A request's points go in with one insert (``insert_points``) and its series'
summaries are merged with one upsert (``merge_summaries``), whatever the number
of points: the newest point by (``at``, id) becomes ``latest``, an older one
only adds to count/min/max/sum. Reads come a batch of versions (or series) at a
time, so a list of versions showing its metrics costs one statement.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import schema as s
from ..records import MetricPointRec, MetricRuleRec, MetricSummaryRec
from .db import Conn

SeriesKey = tuple[int, str, str]  # (version id, source, name); for the training source (run id, "training", key)

vm = s.version_metric
vms = s.version_metric_summary
rule = s.metric_rule

_INSERT_POINTS = sa.insert(vm).returning(vm.c.id, sort_by_parameter_order=True)


# PostgreSQL: one statement over arrays, its text fixed (prepared once), where the multi-row VALUES above is
# rendered anew for each batch. Rows go in in the given order (ORDER BY ord), so their ids, drawn from the
# sequence row by row, increase in that order: sorted, they are the ids of the rows as given.
_POINT_COLUMNS = (("version_id", "INTEGER"), ("source", "VARCHAR"), ("name", "VARCHAR"),
                  ("value", "DOUBLE PRECISION"), ("at", "TIMESTAMP WITH TIME ZONE"), ("step", "INTEGER"))
_INSERT_POINT_ARRAYS = sa.text(
    f"INSERT INTO {vm.name} ({', '.join(c for c, _ in _POINT_COLUMNS)}) "
    f"SELECT {', '.join(c for c, _ in _POINT_COLUMNS)} FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t}[])" for c, t in _POINT_COLUMNS)
    + f") WITH ORDINALITY AS u({', '.join(c for c, _ in _POINT_COLUMNS)}, ord) ORDER BY ord RETURNING id"
)


async def insert_points(conn: Conn, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert every point in one statement; their ids, in the order given."""
    if not rows:
        return []
    if conn.dialect_name == "postgresql":
        arrays = {c: [r[c] for r in rows] for c, _ in _POINT_COLUMNS}
        return sorted(int(r[0]) for r in (await conn.execute(_INSERT_POINT_ARRAYS, arrays)).all())
    return [int(r[0]) for r in (await conn.execute(_INSERT_POINTS, list(rows))).all()]


def _summary_rows(rows: Sequence[dict[str, Any]], ids: Sequence[int]) -> list[dict[str, Any]]:
    """The request's points folded into one row per series: its newest point and its aggregates."""
    by_series: dict[SeriesKey, dict[str, Any]] = {}
    for row, point_id in zip(rows, ids, strict=True):
        key = (row["version_id"], row["source"], row["name"])
        value, at = float(row["value"]), row["at"]
        acc = by_series.get(key)
        if acc is None:
            by_series[key] = dict(version_id=key[0], source=key[1], name=key[2], latest=value, latest_at=at,
                                  latest_id=point_id, count=1, min=value, max=value, sum=value)
            continue
        if (at, point_id) > (acc["latest_at"], acc["latest_id"]):
            acc.update(latest=value, latest_at=at, latest_id=point_id)
        acc["count"] += 1
        acc["min"] = min(acc["min"], value)
        acc["max"] = max(acc["max"], value)
        acc["sum"] += value
    # In key order: two requests touching the same series lock their rows in the same order (no deadlock).
    return [by_series[k] for k in sorted(by_series)]


def _merge_statement(dialect: str) -> Any:
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(vms)
    new, cur = insert.excluded, vms.c
    newer = sa.or_(new.latest_at > cur.latest_at,
                   sa.and_(new.latest_at == cur.latest_at, new.latest_id > cur.latest_id))
    least, greatest = (sa.func.least, sa.func.greatest) if dialect == "postgresql" else (sa.func.min, sa.func.max)
    return insert.on_conflict_do_update(
        index_elements=["version_id", "source", "name"],
        set_={
            "latest": sa.case((newer, new.latest), else_=cur.latest),
            "latest_at": sa.case((newer, new.latest_at), else_=cur.latest_at),
            "latest_id": sa.case((newer, new.latest_id), else_=cur.latest_id),
            "count": cur.count + new.count,
            "min": least(cur.min, new.min),
            "max": greatest(cur.max, new.max),
            "sum": cur.sum + new.sum,
        },
    )


_MERGE = {d: _merge_statement(d) for d in ("sqlite", "postgresql")}

# PostgreSQL: the same upsert as one statement over arrays (``unnest``), whatever the number of series, its
# text fixed so it is prepared once: for a serving sidecar's 1,000-point batch ~10 ms where the executemany
# took ~21 (measured in-process on the 1.1 M-version bench database). The rows come in key order
# (``_summary_rows``), and so are locked.
_SUMMARY_COLUMNS = (("version_id", "INTEGER"), ("source", "VARCHAR"), ("name", "VARCHAR"),
                    ("latest", "DOUBLE PRECISION"), ("latest_at", "TIMESTAMP WITH TIME ZONE"),
                    ("latest_id", "BIGINT"), ("count", "INTEGER"), ("min", "DOUBLE PRECISION"),
                    ("max", "DOUBLE PRECISION"), ("sum", "DOUBLE PRECISION"))
_NEWER = "(EXCLUDED.latest_at > cur.latest_at OR (EXCLUDED.latest_at = cur.latest_at AND EXCLUDED.latest_id > cur.latest_id))"
_MERGE_ARRAYS = sa.text(
    f"INSERT INTO {vms.name} AS cur ({', '.join(c for c, _ in _SUMMARY_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'CAST(:{c} AS {t}[])' for c, t in _SUMMARY_COLUMNS)}) "
    "ON CONFLICT (version_id, source, name) DO UPDATE SET "
    + ", ".join(f"{c} = CASE WHEN {_NEWER} THEN EXCLUDED.{c} ELSE cur.{c} END"
                for c in ("latest", "latest_at", "latest_id"))
    + ", count = cur.count + EXCLUDED.count, min = LEAST(cur.min, EXCLUDED.min), "
      "max = GREATEST(cur.max, EXCLUDED.max), sum = cur.sum + EXCLUDED.sum"
)


async def merge_summaries(conn: Conn, dialect: str, rows: Sequence[dict[str, Any]], ids: Sequence[int]) -> None:
    """Fold the points just inserted (``rows`` with their ``ids``) into their series' summaries: one upsert."""
    summary = _summary_rows(rows, ids)
    if not summary:
        return
    if dialect == "postgresql":
        await conn.execute(_MERGE_ARRAYS, {c: [r[c] for r in summary] for c, _ in _SUMMARY_COLUMNS})
    else:
        await conn.execute(_MERGE[dialect], summary)


_SUMMARIES = (
    sa.select(vms).where(vms.c.version_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(vms.c.version_id, vms.c.source, vms.c.name)
)


async def summaries_of(conn: Conn, version_ids: Sequence[int]) -> dict[int, list[MetricSummaryRec]]:
    """Every stored series of each version (sorted by source, then name), in one statement."""
    out: dict[int, list[MetricSummaryRec]] = {}
    for r in (await conn.execute(_SUMMARIES, {"ids": list(version_ids)})).all():
        out.setdefault(int(r.version_id), []).append(MetricSummaryRec.from_row(r))
    return out


def _page_statement(keys_column: Any, order: Sequence[Any], select: Any, since_column: Any, with_since: bool,
                    after: Any) -> Any:
    rn = sa.func.row_number().over(partition_by=keys_column, order_by=order).label("_rn")
    stmt = select.add_columns(rn)
    if with_since:
        stmt = stmt.where(since_column >= sa.bindparam("since"))
    if after is not None:
        stmt = stmt.where(after)
    inner = stmt.subquery()
    return sa.select(inner).where(inner.c["_rn"] <= sa.bindparam("limit")).order_by(*[inner.c[c.name] for c in keys_column], inner.c["_rn"])


async def points_pages(conn: Conn, keys: Sequence[SeriesKey], *, first: int, after: tuple[datetime, int] | None,
                       since: datetime | None) -> dict[SeriesKey, tuple[list[MetricPointRec], bool]]:
    """Up to ``first`` points of each series, oldest first by (at, id), after the cursor and not before ``since``;
    with whether more follow. One statement for every series asked."""
    c = vm.c
    after_clause = None
    if after is not None:
        after_clause = sa.or_(c.at > sa.bindparam("after_at"),
                              sa.and_(c.at == sa.bindparam("after_at"), c.id > sa.bindparam("after_id")))
    base = (sa.select(c.id, c.value, c.at, c.step, c.version_id, c.source, c.name)
            .where(sa.tuple_(c.version_id, c.source, c.name).in_(sa.bindparam("keys", expanding=True))))
    stmt = _page_statement([c.version_id, c.source, c.name], [c.at, c.id], base, c.at, since is not None,
                           after_clause)
    params: dict[str, Any] = {"keys": [tuple(k) for k in keys], "limit": first + 1}
    if since is not None:
        params["since"] = since
    if after is not None:
        params["after_at"], params["after_id"] = after
    grouped: dict[SeriesKey, list[MetricPointRec]] = {tuple(k): [] for k in keys}  # type: ignore[misc]
    for r in (await conn.execute(stmt, params)).all():
        grouped[(int(r.version_id), r.source, r.name)].append(MetricPointRec(id=int(r.id), value=float(r.value),
                                                                             at=r.at, step=r.step))
    return {k: (pts[:first], len(pts) > first) for k, pts in grouped.items()}


async def points_counts(conn: Conn, keys: Sequence[SeriesKey], *, since: datetime) -> dict[SeriesKey, int]:
    """Points of each series at or after ``since``, in one grouped statement (without ``since`` the summary's
    count answers)."""
    c = vm.c
    stmt = (sa.select(c.version_id, c.source, c.name, sa.func.count())
            .where(sa.tuple_(c.version_id, c.source, c.name).in_([tuple(k) for k in keys]), c.at >= since)
            .group_by(c.version_id, c.source, c.name))
    found = {(int(r[0]), r[1], r[2]): int(r[3]) for r in (await conn.execute(stmt)).all()}
    return {k: found.get((k[0], k[1], k[2]), 0) for k in keys}


# --- the training source: the producing run's metric history, read in place ---


async def run_summaries(conn: Conn, run_ids: Sequence[int]) -> dict[int, list[MetricSummaryRec]]:
    """Each run's logged metrics as series (key ``version_id`` holds the run id): count/min/max/sum over its
    history, latest the value at the highest step, ``latest_at`` when that was logged."""
    m = s.metric.c
    agg = (sa.select(m.run_id, m.key, sa.func.count().label("points"), sa.func.min(m.value).label("min"),
                     sa.func.max(m.value).label("max"), sa.func.sum(m.value).label("sum"),
                     sa.func.max(m.step).label("step"))
           .where(m.run_id.in_(list(run_ids))).group_by(m.run_id, m.key).subquery())
    stmt = (sa.select(agg, m.value, m.logged_at)
            .join(s.metric, sa.and_(m.run_id == agg.c.run_id, m.key == agg.c.key, m.step == agg.c.step))
            .order_by(agg.c.run_id, agg.c.key))
    out: dict[int, list[MetricSummaryRec]] = {}
    for r in (await conn.execute(stmt)).all():
        out.setdefault(int(r.run_id), []).append(MetricSummaryRec(
            version_id=int(r.run_id), source="training", name=r.key, latest=float(r.value), latest_at=r.logged_at,
            count=int(r.points), min=float(r.min), max=float(r.max), sum=float(r.sum)))
    return out


async def run_points_pages(conn: Conn, keys: Sequence[tuple[int, str]], *, first: int, after: int | None,
                           since: datetime | None) -> dict[tuple[int, str], tuple[list[MetricPointRec], bool]]:
    """A page of each (run, key) history, by step (a run's history is ordered by step; ``at`` is when the step
    was logged), after the step ``after``, not logged before ``since``."""
    m = s.metric.c
    base = (sa.select(m.step, m.value, m.logged_at, m.run_id, m.key)
            .where(sa.tuple_(m.run_id, m.key).in_(sa.bindparam("keys", expanding=True))))
    after_clause = m.step > sa.bindparam("after_step") if after is not None else None
    stmt = _page_statement([m.run_id, m.key], [m.step], base, m.logged_at, since is not None, after_clause)
    params: dict[str, Any] = {"keys": [tuple(k) for k in keys], "limit": first + 1}
    if since is not None:
        params["since"] = since
    if after is not None:
        params["after_step"] = after
    grouped: dict[tuple[int, str], list[MetricPointRec]] = {tuple(k): [] for k in keys}  # type: ignore[misc]
    for r in (await conn.execute(stmt, params)).all():
        grouped[(int(r.run_id), r.key)].append(MetricPointRec(id=int(r.step), value=float(r.value), at=r.logged_at,
                                                              step=int(r.step)))
    return {k: (pts[:first], len(pts) > first) for k, pts in grouped.items()}


async def run_points_counts(conn: Conn, keys: Sequence[tuple[int, str]], *, since: datetime) -> dict[tuple[int, str], int]:
    m = s.metric.c
    stmt = (sa.select(m.run_id, m.key, sa.func.count())
            .where(sa.tuple_(m.run_id, m.key).in_([tuple(k) for k in keys]), m.logged_at >= since)
            .group_by(m.run_id, m.key))
    found = {(int(r[0]), r[1]): int(r[2]) for r in (await conn.execute(stmt)).all()}
    return {k: found.get((k[0], k[1]), 0) for k in keys}


# --- rules ---


def _select_rules() -> sa.Select[Any]:
    return (sa.select(rule, s.collection.c.name.label("collection"), s.collection.c.kind.label("kind"),
                      s.project.c.name.label("project"))
            .join(s.collection, s.collection.c.id == rule.c.collection_id)
            .join(s.project, s.project.c.id == rule.c.project_id))


async def insert_rule(conn: Conn, values: dict[str, Any]) -> int:
    return await s.insert_returning_id(conn, rule, values)


async def rules_by_id(conn: Conn, ids: Sequence[Hashable]) -> dict[int, MetricRuleRec]:
    rows = (await conn.execute(_select_rules().where(rule.c.id.in_(list(ids))))).all()
    return {int(r.id): MetricRuleRec.from_row(r) for r in rows}


async def rules_of_collections(conn: Conn, collection_ids: Sequence[Hashable]) -> dict[int, list[MetricRuleRec]]:
    stmt = _select_rules().where(rule.c.collection_id.in_(list(collection_ids))).order_by(rule.c.id)
    out: dict[int, list[MetricRuleRec]] = {}
    for r in (await conn.execute(stmt)).all():
        out.setdefault(int(r.collection_id), []).append(MetricRuleRec.from_row(r))
    return out


async def delete_rule(conn: Conn, rule_id: int) -> bool:
    return bool((await conn.execute(sa.delete(rule).where(rule.c.id == rule_id))).rowcount)


_WATCHING = (
    _select_rules().add_columns(s.alias.c.version_id.label("watched_version_id"))
    .join(s.alias, sa.and_(s.alias.c.collection_id == rule.c.collection_id, s.alias.c.name == rule.c.alias))
    .where(s.alias.c.version_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(rule.c.id)
)


async def rules_watching(conn: Conn, version_ids: Sequence[int]) -> list[tuple[MetricRuleRec, int]]:
    """Rules whose alias currently holds one of these versions, with the version it holds: one statement."""
    rows = (await conn.execute(_WATCHING, {"ids": list(version_ids)})).all()
    return [(MetricRuleRec.from_row(r), int(r.watched_version_id)) for r in rows]


async def window_mean(conn: Conn, version_id: int, source: str, name: str, window: int) -> float | None:
    """The mean of the newest ``window`` points of one series (by at, then id), or None without points."""
    c = vm.c
    last = (sa.select(c.value).where(c.version_id == version_id, c.source == source, c.name == name)
            .order_by(c.at.desc(), c.id.desc()).limit(window).subquery())
    value = (await conn.execute(sa.select(sa.func.avg(last.c.value)))).scalar()
    return None if value is None else float(value)


async def mark_breached(conn: Conn, rule_id: int, *, version_id: int, at: datetime) -> bool:
    """Set the rule breached for ``version_id``; False when it already was, for that version. A concurrent
    request that saw the same breach waits on the row's lock, then finds it set and writes no second event."""
    c = rule.c
    fresh = sa.or_(c.breached == False, c.breached_version_id.is_(None),  # noqa: E712
                   c.breached_version_id != version_id)
    stmt = (sa.update(rule).where(c.id == rule_id, fresh)
            .values(breached=True, breached_version_id=version_id, last_triggered_at=at))
    return bool((await conn.execute(stmt)).rowcount)


async def clear_breached(conn: Conn, rule_id: int) -> bool:
    """Re-arm the rule; False when it was not breached."""
    stmt = (sa.update(rule).where(rule.c.id == rule_id, rule.c.breached == True)  # noqa: E712
            .values(breached=False, breached_version_id=None))
    return bool((await conn.execute(stmt)).rowcount)
