"""Runs: executions of training code, their metrics, and what they read and wrote."""

from __future__ import annotations

import math
import re
import secrets
from typing import Any

from .. import ids
from ..errors import BadInput, Conflict, LimitExceeded
from ..store import runs as run_store
from ..records import DatasetRec, RunRec, VersionRec
from . import find
from .runtime import Runtime, Tx, write

RUN_STATUSES = ("RUNNING", "FINISHED", "FAILED")
GIT_COMMIT_RE = re.compile(r"[0-9a-f]{7,64}")
MAX_METRICS_PER_CALL = 1000
DATASET_MODES = ("read", "write")


def check_json_object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(f"{what} must be a JSON object, got {type(value).__name__}")
    return value


async def start_run(
    rt: Runtime, *, actor: str | None, project: str, name: str | None = None,
    config: Any = None, git_commit: str | None = None,
) -> RunRec:
    config = check_json_object(config, "config")
    if name is not None and not (0 < len(name) <= 128):
        raise BadInput("run name must be 1-128 characters")
    if git_commit is not None and not GIT_COMMIT_RE.fullmatch(git_commit):
        raise BadInput(f"invalid gitCommit {git_commit!r}: give 7-64 lowercase hex characters")
    run_name = name or f"run-{secrets.token_hex(4)}"

    async def work(tx: Tx) -> RunRec:
        proj = await find.project(tx.conn, project)
        values = dict(
            project_id=proj.id, name=run_name, status="RUNNING", config=config, summary={},
            git_commit=git_commit, created_by=tx.actor, created_at=tx.at, finished_at=None,
        )
        run_id = await run_store.insert_run(tx.conn, values)
        await tx.event("run.started", project_id=proj.id, project=proj.name, run=ids.encode("Run", run_id))
        return RunRec(id=run_id, **values)  # type: ignore[arg-type]

    return await write(rt, actor=actor, work=work)


async def finish_run(rt: Runtime, *, actor: str | None, run: str, status: str = "FINISHED", summary: Any = None) -> RunRec:
    if status not in ("FINISHED", "FAILED"):
        raise BadInput(f"a run finishes as FINISHED or FAILED, not {status}")
    summary = check_json_object(summary, "summary") if summary is not None else None

    async def work(tx: Tx) -> RunRec:
        rec = await find.run(tx.conn, run, for_update=True)
        if rec.status != "RUNNING":
            raise Conflict(f"run {run} already finished as {rec.status}")
        await run_store.finish_run(tx.conn, rec.id, status=status, summary=summary, at=tx.at)
        proj = await find.project_by_id(tx.conn, rec.project_id)
        await tx.event("run.finished", project_id=proj.id, project=proj.name, run=run, status=status)
        rec.status, rec.finished_at = status, tx.at
        if summary is not None:
            rec.summary = summary
        return rec

    return await write(rt, actor=actor, work=work)


def _metric_rows(run_id: int, step: int, metrics: Any, at: Any) -> list[dict[str, Any]]:
    if step < 0:
        raise BadInput(f"step must be >= 0, got {step}")
    metrics = check_json_object(metrics, "metrics")
    if not metrics:
        raise BadInput("metrics is empty; pass an object such as {\"loss\": 0.12}")
    if len(metrics) > MAX_METRICS_PER_CALL:
        raise LimitExceeded(f"{len(metrics)} metrics in one call; send at most {MAX_METRICS_PER_CALL}")
    rows = []
    for key, value in metrics.items():
        if not (0 < len(key) <= 256):
            raise BadInput(f"metric name {key!r} must be 1-256 characters")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadInput(f"metric {key!r} must be a finite number, got {value!r}")
        rows.append({"run_id": run_id, "key": key, "step": step, "value": float(value), "logged_at": at})
    return rows


async def log_metrics(rt: Runtime, *, actor: str | None, run: str, step: int, metrics: Any) -> bool:
    """Metric points are data, not registry changes: they write no events."""

    async def work(tx: Tx) -> bool:
        rec = await find.run(tx.conn, run)
        if rec.status != "RUNNING":
            raise Conflict(f"run {run} is {rec.status}; metrics can only be logged while it runs")
        await run_store.upsert_metrics(tx.conn, tx.dialect, _metric_rows(rec.id, step, metrics, tx.at))
        return True

    return await write(rt, actor=actor, work=work)


async def use_artifact(rt: Runtime, *, actor: str | None, run: str, version: str) -> VersionRec:
    async def work(tx: Tx) -> VersionRec:
        rec = await find.run(tx.conn, run)
        target = await find.version(tx.conn, version)
        if target.state != "COMMITTED":
            raise BadInput(f"{target.ref} is {target.state}; a run can only use committed versions")
        if target.run_id == rec.id:
            raise BadInput(f"run {run} produced {target.ref}; a run cannot use its own output")
        if await run_store.add_edge(tx.conn, tx.dialect, ("v", target.id), ("r", rec.id), tx.at):
            proj = await find.project_by_id(tx.conn, rec.project_id)
            await tx.event("run.used_artifact", project_id=proj.id, project=proj.name, run=run, ref=target.ref,
                           to_version=target.id)
        return target

    return await write(rt, actor=actor, work=work)


async def use_dataset(rt: Runtime, *, actor: str | None, run: str, namespace: str, name: str, mode: str = "read") -> DatasetRec:
    if mode not in DATASET_MODES:
        raise BadInput(f"mode must be 'read' or 'write', not {mode!r}")
    for label, value in (("namespace", namespace), ("name", name)):
        if not (0 < len(value) <= 512) or any(c in value for c in "\x00\n\r"):
            raise BadInput(f"dataset {label} must be 1-512 characters on one line")

    async def work(tx: Tx) -> DatasetRec:
        rec = await find.run(tx.conn, run)
        ds = await run_store.dataset_get_or_create(tx.conn, tx.dialect, namespace, name, tx.at)
        src, dst = (("d", ds.id), ("r", rec.id)) if mode == "read" else (("r", rec.id), ("d", ds.id))
        if await run_store.add_edge(tx.conn, tx.dialect, src, dst, tx.at):
            proj = await find.project_by_id(tx.conn, rec.project_id)
            await tx.event("run.used_dataset", project_id=proj.id, project=proj.name, run=run,
                           dataset=f"{namespace}/{name}", mode=mode)
        return ds

    return await write(rt, actor=actor, work=work)


async def metric_history(rt: Runtime, *, run_id: int, key: str | None, limit: int) -> list[tuple[str, int, float]]:
    """A run's logged metric points (key, step, value), by key then step, at most ``limit``."""
    async with rt.db.reader() as r:
        return await run_store.metric_history(r, run_id, key, limit)
