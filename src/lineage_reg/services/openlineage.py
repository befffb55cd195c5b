"""OpenLineage ingestion: RunEvents, DatasetEvents and JobEvents become runs, datasets and lineage edges.

Mapping: a job (namespace, name) → a run named after the job, in the project
the namespace maps to (one per namespace by default, created on first use);
``runId`` → the run's identity; inputs → ``read`` edges, outputs → ``wrote``
edges; the ``parent`` run facet → the run's parent. A dataset's ``symlinks``
make its other names find the same node, and a dataset a training run declared
with ``useDataset`` is the same node when namespace and name match.

Parsing (what an event must look like) is ``lineage_reg/openlineage_events.py``.

Replays and reordering change nothing: edges are sets; a run's status comes
from its terminal event with the latest ``eventTime`` (START never undoes
COMPLETE); its start is the earliest ``eventTime`` seen; every facet keeps the
value from the newest event that carried it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import refs
from ..openlineage_events import OLEvent
from ..store import openlineage as ol_store
from ..store import projects as project_store
from ..clock import utcnow
from .runtime import Runtime, Tx, write
from ..store.db import Conn

TERMINAL = {"COMPLETE": "FINISHED", "FAIL": "FAILED", "ABORT": "FAILED"}


# --- mapping ------------------------------------------------------------------

def project_for(rt: Runtime, *, namespace: str) -> str:
    """The project a job namespace maps to: LINEAGE_REG_OPENLINEAGE_PROJECTS, else the namespace made a name."""
    mapped = rt.settings.openlineage_projects.get(namespace) or rt.settings.openlineage_projects.get("*")
    if mapped:
        return mapped
    name = re.sub(r"[^a-z0-9._-]+", "-", namespace.lower()).strip("-._")[:128]
    return name if name and refs.PROJECT_RE.fullmatch(name) else "openlineage"


def _merge_facets(facets: dict[str, Any], times: dict[str, str], new: dict[str, Any],
                  at: datetime) -> bool:
    """Keep each facet from the newest event that carried it; True when something changed."""
    changed = False
    stamp = at.isoformat()
    for key, value in new.items():
        old = times.get(key)
        if (old is None or datetime.fromisoformat(old) <= at) and (facets.get(key) != value or old != stamp):
            facets[key], times[key] = value, stamp
            changed = True
    return changed


@dataclass
class _RunState:
    id: int | None
    project: str
    name: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    parent: str | None  # external id
    facets: dict[str, Any]
    times: dict[str, str]
    parent_id: int | None = None
    changed: bool = False

    def apply(self, event: OLEvent) -> None:
        if event.time < self.created_at:
            self.created_at, self.changed = event.time, True
        terminal = TERMINAL.get(event.event_type or "")
        if terminal is not None and (self.finished_at is None or event.time > self.finished_at):
            self.status, self.finished_at, self.changed = terminal, event.time, True
        if event.parent is not None:
            parent_time = self.times.get("parent")
            if parent_time is None or datetime.fromisoformat(parent_time) <= event.time:
                if self.parent != event.parent[0]:
                    self.parent, self.changed = event.parent[0], True
        if _merge_facets(self.facets, self.times, event.run_facets, event.time):
            self.changed = True


# --- ingestion ----------------------------------------------------------------

async def ingest(rt: Runtime, *, actor: str | None, events: Sequence[OLEvent]) -> None:
    """Apply parsed events in one transaction (retried whole on a lost race; every step is idempotent)."""
    if not events:
        return

    async def work(tx: Tx) -> None:
        await _apply(tx, rt, list(events))

    await write(rt, actor=actor, work=work)


async def _apply(tx: Tx, rt: Runtime, events: list[OLEvent]) -> None:
    conn, dialect, now = tx.conn, tx.dialect, utcnow()
    # Projects of every job (and parent job) namespace.
    namespaces = {e.job[0] for e in events if e.job} | {e.parent[1] for e in events if e.parent}
    names = sorted({project_for(rt, namespace=ns) for ns in namespaces})
    projects = await ol_store.project_ids(conn, names) if names else {}
    for name in names:
        if name not in projects:
            projects[name] = await project_store.insert_project(conn, name=name, description="created by OpenLineage",
                                                                at=tx.at, actor=tx.actor)
            await tx.event("project.created", project_id=projects[name], project=name, source="openlineage")

    dataset_ids = await _resolve_datasets(conn, dialect, events, now)

    # Runs: existing ones, then every event applied in eventTime order.
    run_keys = {e.run_id for e in events if e.run_id} | {e.parent[0] for e in events if e.parent}
    existing = await ol_store.runs_by_external_id(conn, sorted(run_keys))
    states: dict[str, _RunState] = {}
    for ext, row in existing.items():
        states[ext] = _RunState(id=row.id, project="", name="", status=row.status, created_at=row.created_at,
                                finished_at=row.finished_at, parent=None, facets=dict(row.facets or {}),
                                times=dict(row.facet_times or {}), parent_id=row.parent_id)
    for event in sorted((e for e in events if e.kind == "run"), key=lambda e: e.time):
        assert event.run_id is not None and event.job is not None
        state = states.get(event.run_id)
        if state is None:
            state = states[event.run_id] = _RunState(
                id=None, project=project_for(rt, namespace=event.job[0]), name=event.job[1][:128], status="RUNNING",
                created_at=event.time, finished_at=None, parent=None, facets={}, times={}, changed=True)
        state.apply(event)
        if event.parent is not None and event.parent[0] not in states:
            # The parent run may not have reported yet: a placeholder it will fill in.
            p_id, p_ns, p_name = event.parent
            states[p_id] = _RunState(id=None, project=project_for(rt, namespace=p_ns), name=p_name[:128],
                                     status="RUNNING", created_at=event.time, finished_at=None, parent=None,
                                     facets={}, times={}, changed=True)
    new = [(ext, st) for ext, st in states.items() if st.id is None]
    await ol_store.insert_runs(conn, [dict(
        project_id=projects[st.project], name=st.name, status=st.status, config={}, summary={}, git_commit=None,
        created_by=tx.actor, created_at=st.created_at, finished_at=st.finished_at, external_id=ext,
        parent_id=None, facets=st.facets, facet_times=st.times) for ext, st in new])
    if new:
        ids = await ol_store.runs_by_external_id(conn, [ext for ext, _ in new])
        for ext, st in new:
            st.id = ids[ext].id
    updates = []
    for st in states.values():
        parent_id = states[st.parent].id if st.parent and st.parent in states else st.parent_id
        if st.changed or parent_id != st.parent_id:
            updates.append(dict(b_id=st.id, b_status=st.status, b_created_at=st.created_at,
                                b_finished_at=st.finished_at, b_parent_id=parent_id, b_facets=st.facets,
                                b_times=st.times))
    await ol_store.update_runs(conn, updates)

    # Lineage edges.
    edges = []
    for event in events:
        if event.kind != "run":
            continue
        run_id = states[event.run_id].id  # type: ignore[index]
        edges += [dict(src_kind="d", src_id=dataset_ids[d.key], dst_kind="r", dst_id=run_id, kind="read",
                       created_at=event.time) for d in event.inputs]
        edges += [dict(src_kind="r", src_id=run_id, dst_kind="d", dst_id=dataset_ids[d.key], kind="wrote",
                       created_at=event.time) for d in event.outputs]
    unique = {(e["src_kind"], e["src_id"], e["dst_kind"], e["dst_id"]): e for e in edges}
    await ol_store.insert_edges(conn, dialect, sorted(unique.values(), key=lambda e: (e["src_id"], e["dst_id"])))


async def _resolve_datasets(conn: Conn, dialect: str, events: list[OLEvent], now: datetime) -> dict[tuple[str, str], int]:
    """Every dataset the events name, created if new, symlinks registered, facets merged; name → node id."""
    refs_by_time = sorted(((e.time, d) for e in events for d in (*e.inputs, *e.outputs)), key=lambda t: t[0])
    pairs = sorted({d.key for _, d in refs_by_time})
    via_alias = await ol_store.alias_targets(conn, pairs)
    direct = [p for p in pairs if p not in via_alias]
    rows = await ol_store.datasets_by_pair(conn, direct)
    missing = [p for p in direct if p not in rows]
    if missing:
        await ol_store.insert_datasets(conn, dialect, missing, now)
        rows.update(await ol_store.datasets_by_pair(conn, missing))
    ids = {p: int(rows[p].id) for p in direct} | via_alias

    # Facets, newest first-seen per key, and symlinks (another name that isn't a dataset of its own yet).
    by_id = {int(r.id): r for r in rows.values()}
    by_id |= await ol_store.datasets_by_ids(conn, sorted(set(via_alias.values()) - set(by_id)))
    state = {i: (dict(r.facets or {}), dict(r.facet_times or {})) for i, r in by_id.items()}
    changed: set[int] = set()
    aliases: list[dict[str, Any]] = []
    for when, d in refs_by_time:
        dataset_id = ids[d.key]
        facets, times = state[dataset_id]
        if _merge_facets(facets, times, d.facets, when):
            changed.add(dataset_id)
        aliases += [dict(namespace=ns, name=name, dataset_id=dataset_id) for ns, name in d.symlinks()
                    if (ns, name) != d.key]
    if aliases:
        taken = await ol_store.datasets_by_pair(conn, sorted({(a["namespace"], a["name"]) for a in aliases}))
        await ol_store.insert_aliases(conn, dialect, [a for a in aliases if (a["namespace"], a["name"]) not in taken])
    await ol_store.update_dataset_facets(conn, [dict(b_id=i, b_facets=state[i][0], b_times=state[i][1])
                                                for i in sorted(changed)])
    return ids

