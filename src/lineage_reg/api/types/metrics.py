"""Metrics on versions (MetricSeries and its points) and the rules that watch them (MetricRule)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from ... import ids
from ...filters import FilterOp as FilterOpValue
from ...records import MetricPointRec, MetricRuleRec, MetricSummaryRec, RunRec, VersionRec
from ...services import lists
from ...services import metrics as metric_service
from ...services.metric_names import TRAINING
from ..context import Info
from ..permissions import may_read
from ..relay import PageInfo
from .common import FilterOp, Node


@strawberry.type
class VersionMetricPoint:
    value: float
    at: datetime
    step: int | None


@strawberry.type
class VersionMetricPointEdge:
    cursor: str
    node: VersionMetricPoint


@strawberry.type
class VersionMetricPointConnection:
    edges: list[VersionMetricPointEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="One metric of a version from one source: its newest value and aggregates over "
                 "every point, and the points themselves. See docs/metrics.md.")
class MetricSeries:
    name: str
    source: str = strawberry.field(description='"training" (the producing run\'s summary and history), '
                                   '"evaluation", "production", or any name the caller uses')
    latest: float | None = strawberry.field(description="The newest point's value (by `at`, then arrival); for "
                                            "training the run's summary value where it set one.")
    count: int
    min: float | None
    max: float | None
    mean: float | None
    _rec: strawberry.Private[VersionRec | RunRec]  # what access is checked on (training: the producing run)
    _key: strawberry.Private[tuple[int, str, str]]

    @classmethod
    def of(cls, rec: MetricSummaryRec, owner: VersionRec | RunRec) -> MetricSeries:
        return cls(name=rec.name, source=rec.source, latest=rec.latest, count=rec.count, min=rec.min, max=rec.max,
                   mean=rec.mean, _rec=owner, _key=(rec.version_id, rec.source, rec.name))

    @strawberry.field(description="Points oldest first, by `at` then arrival (training: by step); `since`: only "
                      "points at or after that time.")
    async def points(self, info: Info, first: int | None = None, after: str | None = None,
                     since: datetime | None = None) -> VersionMetricPointConnection:
        training = self.source == TRAINING
        size = lists.page_size(info.context.rt, first=first)
        after_key = metric_service.decode_points_cursor(after, training=training)
        loaders = info.context.loaders
        items, has_next = await loaders.points(self._key, first=size, after=after_key, since=since)
        total = self.count if since is None else await loaders.points_count(self._key, since=since)
        cursors = [metric_service.points_cursor(p, training=training) for p in items]
        return VersionMetricPointConnection(
            edges=[VersionMetricPointEdge(cursor=c, node=_point(p)) for c, p in zip(cursors, items, strict=True)],
            page_info=PageInfo(has_next_page=has_next, has_previous_page=after is not None,
                               start_cursor=cursors[0] if cursors else None,
                               end_cursor=cursors[-1] if cursors else None),
            total_count=total,
        )


def _point(p: MetricPointRec) -> VersionMetricPoint:
    return VersionMetricPoint(value=p.value, at=p.at, step=p.step)


async def series_of(info: Info, rec: VersionRec, *, source: str | None,
                    names: list[str] | None) -> list[tuple[MetricSummaryRec, VersionRec | RunRec]]:
    """A version's series, batched with its siblings' (one statement for stored series, one each for the runs
    and their histories). Training series only when the caller may read the producing run's project."""
    loaders = info.context.loaders
    stored: list[MetricSummaryRec] = [] if source == TRAINING else await loaders.metric_summaries.load(rec.id)
    trained: list[MetricSummaryRec] = []
    run: RunRec | None = None
    if rec.run_id is not None and source in (None, TRAINING):
        run = await loaders.run.load(rec.run_id)
        if run is not None and may_read(info.context.actor, run.project_id):
            trained = metric_service.training_series(run, await loaders.run_metric_summaries.load(rec.run_id))
    chosen = metric_service.select_series([*stored, *trained], source=source, names=names)
    return [(s, run if s.source == TRAINING and run is not None else rec) for s in chosen]


async def version_metrics(info: Info, rec: VersionRec, *, source: str | None,
                          names: list[str] | None) -> list[MetricSeries]:
    return [MetricSeries.of(s, owner) for s, owner in await series_of(info, rec, source=source, names=names)]


async def version_metric(info: Info, rec: VersionRec, *, name: str, source: str | None) -> float | None:
    series = [s for s, _ in await series_of(info, rec, source=source, names=[name])]
    return metric_service.latest_value(series, name=name, source=source)


@strawberry.type(description="Raises `metric.breached` when the mean of the last `window` points of `metric` "
                 "(from `source`) for the version holding `alias` in `collection` satisfies `op threshold`; "
                 "fires again only after the condition cleared. See docs/metrics.md.")
class MetricRule(Node):
    id: strawberry.ID
    collection: str = strawberry.field(description="project/name of the artifact or registered model.")
    alias: str
    metric: str
    source: str
    op: FilterOp  # type: ignore[valid-type]
    threshold: float
    window: int
    last_triggered_at: datetime | None
    created_by: str | None
    breached: bool = strawberry.field(description="True from a breach until a point makes the condition stop "
                                      "holding (then the rule is re-armed).")
    _rec: strawberry.Private[MetricRuleRec]

    @classmethod
    def of(cls, rec: MetricRuleRec) -> MetricRule:
        op: Any = FilterOpValue(rec.op)
        return cls(id=strawberry.ID(ids.encode("MetricRule", rec.id)), collection=rec.collection_ref,
                   alias=rec.alias, metric=rec.metric, source=rec.source, op=op, threshold=rec.threshold,
                   window=rec.window, last_triggered_at=rec.last_triggered_at, created_by=rec.created_by,
                   breached=rec.breached, _rec=rec)


async def rules_of(info: Info, collection_id: int) -> list[MetricRule]:
    return [MetricRule.of(r) for r in await info.context.loaders.metric_rules_of_collection.load(collection_id)]
