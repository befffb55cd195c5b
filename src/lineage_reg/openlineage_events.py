"""OpenLineage events as the registry reads them: the parts of the OpenLineage schema it relies on.

Pure: parsing checks one JSON object and returns an ``OLEvent`` or raises ``BadEvent`` naming the field at
fault. The ingestion that turns events into runs, datasets and lineage is ``services/openlineage.py``.

A RunEvent has ``eventType`` (optional in the spec's older releases, but never without ``run``), ``run``
and ``job``; a static DatasetEvent has ``dataset``, a static JobEvent ``job`` (neither has ``eventType``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import BadInput

EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
DATASET_FACETS = ("schema", "dataSource", "columnLineage", "version", "symlinks", "documentation", "ownership",
                  "lifecycleStateChange", "storage")
RUN_FACETS = ("parent", "nominalTime", "errorMessage", "processing_engine", "jobType")
MAX_NAME = 512


class BadEvent(BadInput):
    """An event that fails the OpenLineage schema; ``field`` names what is wrong."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"{field_path}: {message}", field=field_path)
        self.field = field_path


@dataclass
class DatasetRef:
    namespace: str
    name: str
    facets: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    def symlinks(self) -> list[tuple[str, str]]:
        found = []
        for ident in (self.facets.get("symlinks") or {}).get("identifiers") or []:
            if isinstance(ident, dict) and _ok_name(ident.get("namespace")) and _ok_name(ident.get("name")):
                found.append((ident["namespace"], ident["name"]))
        return found


@dataclass
class OLEvent:
    kind: str  # run | dataset | job
    time: datetime
    event_type: str | None = None
    run_id: str | None = None
    job: tuple[str, str] | None = None
    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)
    run_facets: dict[str, Any] = field(default_factory=dict)
    parent: tuple[str, str, str] | None = None  # runId, job namespace, job name


def _ok_name(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME and not any(c in value for c in "\x00\n\r")


def _name(obj: dict[str, Any], path: str, key: str) -> str:
    value = obj.get(key)
    if value is None:
        raise BadEvent(f"{path}.{key}", "required")
    if not _ok_name(value):
        raise BadEvent(f"{path}.{key}", f"must be a string of 1-{MAX_NAME} characters on one line")
    return str(value)


def _object(obj: dict[str, Any], key: str, path: str | None = None, required: bool = True) -> dict[str, Any]:
    value = obj.get(key)
    where = path or key
    if value is None:
        if required:
            raise BadEvent(where, "required")
        return {}
    if not isinstance(value, dict):
        raise BadEvent(where, "must be an object")
    return value


def _time(obj: dict[str, Any]) -> datetime:
    value = obj.get("eventTime")
    if value is None:
        raise BadEvent("eventTime", "required")
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadEvent("eventTime", f"{value!r} is not an ISO 8601 date-time with a time zone "
                                    "(e.g. 2026-11-22T12:00:00.000Z)")
    return parsed


def _datasets(obj: dict[str, Any], key: str) -> list[DatasetRef]:
    items = obj.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise BadEvent(key, "must be a list of datasets")
    found = []
    for i, item in enumerate(items):
        path = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise BadEvent(path, "must be an object with namespace and name")
        facets = _object(item, "facets", f"{path}.facets", required=False)
        found.append(DatasetRef(_name(item, path, "namespace"), _name(item, path, "name"),
                                {k: v for k, v in facets.items() if k in DATASET_FACETS}))
    return found


def parse(obj: Any) -> OLEvent:
    """Validate one event against the parts of the OpenLineage schema we rely on."""
    if not isinstance(obj, dict):
        raise BadEvent("$", "an event must be a JSON object")
    for key in ("producer", "schemaURL"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise BadEvent(key, "required (a URI string)")
    when = _time(obj)
    if "eventType" in obj and "run" not in obj:
        raise BadEvent("run", "required: an event with eventType is a RunEvent, which needs run (with runId) "
                              "and job; a static DatasetEvent or JobEvent has no eventType")
    if "run" in obj:
        run = _object(obj, "run")
        run_id = run.get("runId")
        if run_id is None:
            raise BadEvent("run.runId", "required")
        try:
            run_id = str(uuid.UUID(str(run_id)))
        except ValueError:
            raise BadEvent("run.runId", f"{run_id!r} is not a UUID") from None
        event_type = obj.get("eventType")
        if event_type is not None and event_type not in EVENT_TYPES:
            raise BadEvent("eventType", f"{event_type!r} is not one of {', '.join(EVENT_TYPES)}")
        job = _object(obj, "job")
        run_facets = _object(run, "facets", "run.facets", required=False)
        parent = None
        if "parent" in run_facets:
            p = _object(run_facets, "parent", "run.facets.parent")
            p_run, p_job = _object(p, "run", "run.facets.parent.run"), _object(p, "job", "run.facets.parent.job")
            try:
                p_id = str(uuid.UUID(str(p_run.get("runId"))))
            except ValueError:
                raise BadEvent("run.facets.parent.run.runId", "must be a UUID") from None
            parent = (p_id, _name(p_job, "run.facets.parent.job", "namespace"),
                      _name(p_job, "run.facets.parent.job", "name"))
        return OLEvent(
            kind="run", time=when, event_type=event_type, run_id=run_id,
            job=(_name(job, "job", "namespace"), _name(job, "job", "name")),
            inputs=_datasets(obj, "inputs"), outputs=_datasets(obj, "outputs"),
            run_facets={k: v for k, v in run_facets.items() if k in RUN_FACETS}, parent=parent,
        )
    if "dataset" in obj:
        ds = _object(obj, "dataset")
        facets = _object(ds, "facets", "dataset.facets", required=False)
        ref = DatasetRef(_name(ds, "dataset", "namespace"), _name(ds, "dataset", "name"),
                         {k: v for k, v in facets.items() if k in DATASET_FACETS})
        return OLEvent(kind="dataset", time=when, outputs=[ref])
    if "job" in obj:
        job = _object(obj, "job")
        return OLEvent(kind="job", time=when, job=(_name(job, "job", "namespace"), _name(job, "job", "name")),
                       inputs=_datasets(obj, "inputs"), outputs=_datasets(obj, "outputs"))
    raise BadEvent("$", "not an OpenLineage event: a RunEvent has run and job, a DatasetEvent dataset, "
                        "a JobEvent job")
