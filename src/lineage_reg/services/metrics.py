"""Metrics on versions: points from evaluation jobs, serving, any named source; and the series they make.

Writing: ``log_version_metrics`` checks every point of a request before it
stores one (a bad point names its index, version and name; nothing of that
request is stored), then inserts them all with one statement, merges their
series' summaries with one upsert and evaluates the metric rules watching the
versions it touched (``metric_rules.evaluate``), all in one transaction.
Metric points are data, not registry changes: they write no event (a serving
sidecar logs thousands a minute; the log would drown). Only a rule's breach is
an event.

Reading: a version's series are its stored summaries, plus the ``training``
source, which is never copied: it is read from the producing run (its summary
for ``latest`` where it set one, its metric history for the rest).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import ids, jsontext, refs
from ..errors import BadInput, LimitExceeded, NotFound
from ..records import MetricPointRec, MetricSummaryRec, RunRec, VersionRec
from ..store import metrics as metric_store
from ..store import runs as run_store
from ..store import versions as version_store
from ..store.metrics import SeriesKey
from . import find, metric_rules
from .metric_names import (
    EVALUATION, NAME_RE, PRECEDENCE, PRODUCTION, TRAINING, check_name, check_source, check_value,
)
from .runtime import Runtime, Tx, write

MAX_POINTS = 10_000  # per request, all versions together: more is LIMIT_EXCEEDED (send it in several requests)
@dataclass(frozen=True)
class PointsIn:
    """One entry of a request: ``metrics`` (name → number) for one version, from one source, at one time."""

    version: str
    metrics: Any
    source: str = EVALUATION
    at: datetime | None = None
    step: int | None = None


def _where(index: int, entry: PointsIn, name: str | None = None) -> str:
    shown = f"point {index} (version {entry.version!r}"
    return shown + (f", metric {name!r})" if name is not None else ")")


_CHECKED_SOURCES = frozenset({EVALUATION, PRODUCTION})


def _plain(name: Any, value: Any) -> bool:
    """A valid name with a finite number: what ``check_name`` and ``check_value`` accept, without a message."""
    if not (isinstance(name, str) and NAME_RE.fullmatch(name) is not None):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**1023  # float() can take it


def check_points(points: Sequence[PointsIn]) -> int:
    """Everything about a request that needs no database: names, values, sources, size. The number of points."""
    total = sum(len(p.metrics) if isinstance(p.metrics, dict) else 0 for p in points)
    if len(points) > MAX_POINTS or total > MAX_POINTS:
        raise LimitExceeded(f"{max(total, len(points))} points in one request; send at most {MAX_POINTS} per "
                            "request (split the batch)", limit=MAX_POINTS)
    for index, entry in enumerate(points):
        if not isinstance(entry.metrics, dict):
            raise BadInput(f"{_where(index, entry)}: metrics must be a JSON object of name: number, got "
                           f"{type(entry.metrics).__name__}", index=index, version=entry.version)
        if not entry.metrics:
            raise BadInput(f"{_where(index, entry)}: metrics is empty; give at least one name: number",
                           index=index, version=entry.version)
        if not ids.looks_like_id(entry.version):
            try:
                refs.parse_version_ref(entry.version)
            except BadInput as exc:
                raise BadInput(f"{_where(index, entry)}: {exc}", index=index, version=entry.version) from None
        if entry.source in _CHECKED_SOURCES and all(_plain(n, v) for n, v in entry.metrics.items()):
            continue  # the usual case, checked without building a message per point (a batch has 10,000)
        try:
            check_source(entry.source, what=f"{_where(index, entry)}: source")
            for name, value in entry.metrics.items():
                check_name(name, where=_where(index, entry))
                check_value(value, where=_where(index, entry, name))
        except BadInput as exc:
            raise BadInput(str(exc), index=index, version=entry.version, **exc.details) from None
    return total


def _utc(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    return at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)


async def log_version_metrics(rt: Runtime, *, actor: str | None, points: Sequence[PointsIn]) -> int:
    """Store every point of the request, or none; the number stored. Access (member of each version's project)
    is the caller's to check first (``api``: every distinct project of the request)."""
    check_points(points)

    async def work(tx: Tx) -> int:
        # Versions named by id in one read (a serving sidecar's batch names hundreds); references one by one.
        by_id = {p.version: ids.decode_as(p.version, "ArtifactVersion") for p in points
                 if ids.looks_like_id(p.version)}
        found = await version_store.versions_by_id(tx.conn, sorted(set(by_id.values()))) if by_id else {}
        versions: dict[str, VersionRec] = {text: found[v] for text, v in by_id.items() if v in found}
        for index, entry in enumerate(points):
            if entry.version not in versions:
                try:
                    versions[entry.version] = await find.version(tx.conn, entry.version)
                except (BadInput, NotFound) as exc:  # say which point named it
                    raise type(exc)(f"{_where(index, entry)}: {exc}",
                                    **{**exc.details, "index": index, "version": entry.version}) from None
            rec = versions[entry.version]
            if rec.state != "COMMITTED":
                raise BadInput(f"{_where(index, entry)}: {rec.ref} is {rec.state}; metrics can only be logged for "
                               "committed versions", index=index, version=entry.version, state=rec.state)
        rows = [
            dict(version_id=versions[e.version].id, source=e.source, name=name, value=float(value),
                 at=_utc(e.at, tx.at), step=e.step)
            for e in points for name, value in e.metrics.items()
        ]
        point_ids = await metric_store.insert_points(tx.conn, rows)
        await metric_store.merge_summaries(tx.conn, tx.dialect, rows, point_ids)
        touched = {(r["version_id"], r["source"], r["name"]) for r in rows}
        await metric_rules.evaluate(tx, touched=touched, versions={v.id: v for v in versions.values()})
        return len(rows)

    return await write(rt, actor=actor, work=work)


# --- reading ---


def training_series(run: RunRec | None, history: Sequence[MetricSummaryRec]) -> list[MetricSummaryRec]:
    """The ``training`` series of a version: its producing run's history (count/min/max/mean), with ``latest``
    the run's summary value where the summary has one (as compareVersions does), else the last logged step. A
    summary value the run never logged is a series of its own with count 0."""
    if run is None:
        return []
    summary = {k: float(v) for k, v in jsontext.flatten(run.summary).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
    out: dict[str, MetricSummaryRec] = {}
    for h in history:
        latest = summary.get(h.name, h.latest)
        out[h.name] = MetricSummaryRec(version_id=h.version_id, source=TRAINING, name=h.name, latest=latest,
                                       latest_at=h.latest_at, count=h.count, min=h.min, max=h.max, sum=h.sum)
    for name, value in summary.items():
        if name not in out:
            out[name] = MetricSummaryRec(version_id=run.id, source=TRAINING, name=name, latest=value,
                                         latest_at=run.finished_at, count=0, min=None, max=None, sum=None)
    return [out[k] for k in sorted(out)]


def select_series(series: Sequence[MetricSummaryRec], *, source: str | None,
                  names: Sequence[str] | None) -> list[MetricSummaryRec]:
    """The series asked for, by source then name (training last when every source is asked for)."""
    chosen = [s for s in series if (source is None or s.source == source) and (names is None or s.name in names)]
    return sorted(chosen, key=lambda s: (s.source == TRAINING, s.source, s.name))


def latest_value(series: Sequence[MetricSummaryRec], *, name: str, source: str | None) -> float | None:
    """``metric(name, source)``: the newest value; without a source, evaluation, then production, then training."""
    by_source = {s.source: s.latest for s in series if s.name == name}
    if source is not None:
        return by_source.get(source)
    for candidate in PRECEDENCE:
        if by_source.get(candidate) is not None:
            return by_source[candidate]
    return None


def points_cursor(point: MetricPointRec, *, training: bool) -> str:
    return ids.encode_cursor(point.id if training else f"{point.at.isoformat()}|{point.id}")


def decode_points_cursor(cursor: str | None, *, training: bool) -> Any:
    if cursor is None:
        return None
    key = ids.decode_cursor(cursor)
    if training:
        if not isinstance(key, int):
            raise BadInput(f"invalid cursor {cursor[:80]!r}: pass a cursor returned by the same series' points")
        return key
    try:
        at, _, point_id = str(key).rpartition("|")
        return datetime.fromisoformat(at).astimezone(UTC), int(point_id)
    except ValueError:
        raise BadInput(f"invalid cursor {cursor[:80]!r}: pass a cursor returned by the same series' points") from None


async def points_pages(rt: Runtime, *, keys: Sequence[SeriesKey], first: int, after: Any,
                       since: datetime | None) -> dict[SeriesKey, tuple[list[MetricPointRec], bool]]:
    """Pages of stored series ((version id, source, name) keys) and of training series ((run id, "training",
    key)), one statement for each kind."""
    stored = [k for k in keys if k[1] != TRAINING]
    trained = [(k[0], k[2]) for k in keys if k[1] == TRAINING]
    since = _utc(since, datetime.now(UTC)) if since is not None else None
    out: dict[SeriesKey, tuple[list[MetricPointRec], bool]] = {}
    async with rt.db.reader() as r:
        if stored:
            out.update(await metric_store.points_pages(r, stored, first=first, after=after, since=since))
        if trained:
            found = await metric_store.run_points_pages(r, trained, first=first, after=after, since=since)
            out.update({(run_id, TRAINING, key): page for (run_id, key), page in found.items()})
    return out


async def points_counts(rt: Runtime, *, keys: Sequence[SeriesKey], since: datetime) -> dict[SeriesKey, int]:
    stored = [k for k in keys if k[1] != TRAINING]
    trained = [(k[0], k[2]) for k in keys if k[1] == TRAINING]
    since = _utc(since, since)
    out: dict[SeriesKey, int] = {}
    async with rt.db.reader() as r:
        if stored:
            out.update(await metric_store.points_counts(r, stored, since=since))
        if trained:
            found = await metric_store.run_points_counts(r, trained, since=since)
            out.update({(run_id, TRAINING, key): n for (run_id, key), n in found.items()})
    return out


async def series_of_versions(rt: Runtime, *, versions: Sequence[VersionRec]) -> dict[int, list[MetricSummaryRec]]:
    """Every series of each version, training included (compareVersions): three statements for any number."""
    run_ids = sorted({v.run_id for v in versions if v.run_id is not None})
    async with rt.db.reader() as r:
        stored = await metric_store.summaries_of(r, [v.id for v in versions])
        runs = await run_store.runs_by_id(r, run_ids) if run_ids else {}
        history = await metric_store.run_summaries(r, run_ids) if run_ids else {}
    out: dict[int, list[MetricSummaryRec]] = {}
    for v in versions:
        run = runs.get(v.run_id) if v.run_id is not None else None
        trained = training_series(run, history.get(v.run_id, []) if v.run_id is not None else [])
        out[v.id] = select_series([*stored.get(v.id, []), *trained], source=None, names=None)
    return out
