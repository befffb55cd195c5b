"""Metric rules: watch whatever version holds an alias and raise ``metric.breached`` when its metric goes bad.

A rule is evaluated in the transaction of the points that may trip it: for
each rule whose collection's alias holds a version that just received points
of the rule's (source, metric), the mean of the newest ``window`` points is
compared with the threshold. When the condition starts to hold the rule is
marked breached (for that version) and one ``metric.breached`` event is
written; while it keeps holding nothing more is written; once a point makes it
stop holding the rule re-arms silently (no event: a recovery is no change to
act on, and the next breach fires again). A version that newly holds the alias
and breaches is a new breach. The flip is a conditional UPDATE: of two
concurrent requests seeing the same breach only the one whose UPDATE changed
the row writes the event.
"""

from __future__ import annotations

import math
from collections.abc import Set
from typing import Any

from .. import ids, refs
from ..errors import BadInput, NotFound
from ..filters import ORDERING, FilterOp, holds
from ..records import MetricRuleRec, VersionRec
from ..store import metrics as metric_store
from ..store import projects as project_store
from ..store.metrics import SeriesKey
from . import find
from .metric_names import check_name, check_source
from .runtime import Runtime, Tx, write

MAX_WINDOW = 1000


async def evaluate(tx: Tx, *, touched: Set[SeriesKey], versions: dict[int, VersionRec]) -> None:
    """Evaluate the rules watching the versions that just received the ``touched`` series. One statement finds
    them (none: nothing else is read); each matching rule reads its window and, on a change, flips its state."""
    if not touched:
        return
    watching = await metric_store.rules_watching(tx.conn, sorted({k[0] for k in touched}))
    for rule, version_id in watching:
        if (version_id, rule.source, rule.metric) not in touched:
            continue
        mean = await metric_store.window_mean(tx.conn, version_id, rule.source, rule.metric, rule.window)
        if mean is not None and holds(FilterOp(rule.op), mean, rule.threshold):
            if rule.breached and rule.breached_version_id == version_id:
                continue
            if await metric_store.mark_breached(tx.conn, rule.id, version_id=version_id, at=tx.at):
                await _breached_event(tx, rule, versions[version_id], mean)
        elif rule.breached:
            await metric_store.clear_breached(tx.conn, rule.id)


async def _breached_event(tx: Tx, rule: MetricRuleRec, version: VersionRec, observed: float) -> None:
    coll = (await project_store.collections_by_id(tx.conn, [rule.collection_id]))[rule.collection_id]
    await tx.event(
        "metric.breached", project_id=rule.project_id, project=rule.project, collection=coll, alias=rule.alias,
        to_version=version.id, rule=ids.encode("MetricRule", rule.id), version=version.ref,
        versionId=ids.encode("ArtifactVersion", version.id), metric=rule.metric, source=rule.source,
        observed=observed, threshold=rule.threshold, op=rule.op, window=rule.window,
    )


def _payload(rule: MetricRuleRec) -> dict[str, Any]:
    return dict(rule=ids.encode("MetricRule", rule.id), metric=rule.metric, source=rule.source, op=rule.op,
                threshold=rule.threshold, window=rule.window)


def check_rule(*, alias: str, metric: str, source: str, op: str, threshold: float, window: int) -> None:
    refs.check_alias(alias)
    check_name(metric, where="metric rule")
    check_source(source)
    if op not in ORDERING:
        raise BadInput(f"op {op} does not compare two numbers; a metric rule takes one of "
                       f"{', '.join(ORDERING)}", op=op)
    if not math.isfinite(threshold):
        raise BadInput(f"threshold must be a finite number, got {threshold}")
    if not 1 <= window <= MAX_WINDOW:
        raise BadInput(f"window must be 1 to {MAX_WINDOW} points, got {window}", window=window)


async def create_rule(rt: Runtime, *, actor: str | None, collection: str, alias: str, metric: str, source: str,
                      op: str, threshold: float, window: int) -> MetricRuleRec:
    coll_ref = refs.parse_collection(collection)
    check_rule(alias=alias, metric=metric, source=source, op=op, threshold=threshold, window=window)

    async def work(tx: Tx) -> MetricRuleRec:
        coll = await find.collection(tx.conn, coll_ref)
        rule_id = await metric_store.insert_rule(tx.conn, dict(
            project_id=coll.project_id, collection_id=coll.id, alias=alias, metric=metric, source=source, op=op,
            threshold=float(threshold), window=window, breached=False, created_at=tx.at, created_by=actor))
        rec = (await metric_store.rules_by_id(tx.conn, [rule_id]))[rule_id]
        await tx.event("metric_rule.created", project_id=coll.project_id, project=coll.project, collection=coll,
                       alias=alias, **_payload(rec))
        return rec

    return await write(rt, actor=actor, work=work)


async def delete_rule(rt: Runtime, *, actor: str | None, rule_id: int) -> bool:
    async def work(tx: Tx) -> bool:
        rec = (await metric_store.rules_by_id(tx.conn, [rule_id])).get(rule_id)
        if rec is None or not await metric_store.delete_rule(tx.conn, rule_id):
            raise NotFound(f"metric rule {ids.encode('MetricRule', rule_id)} not found")
        coll = (await project_store.collections_by_id(tx.conn, [rec.collection_id]))[rec.collection_id]
        await tx.event("metric_rule.deleted", project_id=rec.project_id, project=rec.project, collection=coll,
                       alias=rec.alias, **_payload(rec))
        return True

    return await write(rt, actor=actor, work=work)
