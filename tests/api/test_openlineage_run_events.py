"""A RunEvent is known by its eventType: one without `run` is refused (400 naming `run`), not taken for a static
JobEvent; static JobEvents and DatasetEvents (no eventType) are still accepted."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Api, snapshot

from lineage_reg.openlineage_events import BadEvent, parse

BASE = {"eventTime": "2026-11-22T06:00:00Z", "producer": "https://example.com/dag", "schemaURL":
        "https://openlineage.io/spec/2-0-2/OpenLineage.json"}
JOB = {"namespace": "airflow", "name": "daily_dag.ingest"}
DATASET = {"namespace": "s3://lake", "name": "raw/events"}


def test_the_parser_refuses_a_run_event_without_run() -> None:
    with pytest.raises(BadEvent) as refused:
        parse({**BASE, "eventType": "START", "job": JOB})
    assert refused.value.field == "run" and "eventType" in refused.value.message


def test_the_parser_still_reads_static_job_and_dataset_events() -> None:
    assert parse({**BASE, "job": JOB, "outputs": [DATASET]}).kind == "job"
    assert parse({**BASE, "dataset": DATASET}).kind == "dataset"


async def post(api: Api, event: dict[str, Any]) -> Any:
    return await api.http.post(f"{api.url}/api/v1/lineage", json=event,
                               headers={"Authorization": f"Bearer {api.token}"})


async def test_a_run_event_without_run_is_400_naming_run_and_changes_nothing(api: Api, dialect: str) -> None:
    before = await snapshot(api.server)
    resp = await post(api, {**BASE, "eventType": "COMPLETE", "job": JOB, "inputs": [DATASET]})
    assert resp.status_code == 400, resp.text
    error = resp.json()["error"]
    assert error["code"] == "BAD_INPUT" and error["field"] == "run" and error["message"].startswith("run: required")
    assert await snapshot(api.server) == before


async def test_static_job_and_dataset_events_are_still_accepted(api: Api, dialect: str) -> None:
    assert (await post(api, {**BASE, "job": JOB, "inputs": [DATASET]})).status_code == 201
    assert (await post(api, {**BASE, "dataset": DATASET})).status_code == 201
