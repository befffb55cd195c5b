"""The SDK's and the CLI's search against a real server: the text query, orders, lazy pages, limits, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import LiveServer
from support.cli import run_cli

from lineage_reg.client import AsyncRegistry, BadInput, Registry

pytestmark = pytest.mark.dialects("sqlite")  # the SDK is the subject, not the database

AUC = {0: 0.7, 1: 0.95, 2: 0.91, 3: 0.6, 4: 0.93}


@pytest.fixture
def reg(live: LiveServer, tmp_path: Path, dialect: str) -> Registry:
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        src = tmp_path / "model.bin"
        for i, auc in AUC.items():
            src.write_bytes(f"weights {i}".encode())
            v = reg.log_artifact("churn", "clf", type="model", path=src, metadata={"framework": "sklearn" if i % 2
                                                                                  else "torch"})
            v.log_metrics({"auc": auc})
        src.write_bytes(b"rows")
        reg.log_artifact("churn", "table", type="dataset", path=src)
        reg.add_tags("churn/clf:v2", ["candidate"])
        reg.link("churn/clf:v4", "churn/prod", aliases=["production"])
        with reg.start_run("churn", name="sweep", config={"lr": 0.1}) as run:
            run.log_metrics(0, {"loss": 0.2})
        yield reg


def test_search_versions_filters_orders_and_pages_lazily(reg: Registry) -> None:
    found = list(reg.search_versions("type:model metric.auc>=0.9", order_by="-metric.auc", page_size=2))
    assert [v.ref for v in found] == ["churn/clf:v1", "churn/clf:v4", "churn/clf:v2"]
    assert found[0].metrics()[0]["latest"] == 0.95  # the Version came bound to its registry
    assert [v.ref for v in reg.search_versions("type:model", order_by="index", limit=2)] == ["churn/clf:v0",
                                                                                             "churn/clf:v1"]
    assert [v.ref for v in reg.search_versions("metadata.framework=sklearn -tag:candidate")] == ["churn/clf:v3",
                                                                                                 "churn/clf:v1"]
    assert [v.ref for v in reg.search_versions(filter={"tagsAll": ["candidate"]})] == ["churn/clf:v2"]
    assert [v.ref for v in reg.search_versions("alias:production")] == ["churn/clf:v4"]
    assert list(reg.search_versions("type:model", limit=0)) == []
    with pytest.raises(BadInput, match="unexpected"):
        list(reg.search_versions("metric.auc>>1"))


def test_search_models_and_runs(reg: Registry) -> None:
    assert [m["name"] for m in reg.search_models("alias:production")] == ["prod"]
    assert [r["name"] for r in reg.search_runs("status:finished config.lr=0.1", order_by="-metric.loss")] == ["sweep"]
    assert list(reg.search_runs("status:failed")) == []


async def test_async_search_is_an_async_iterator(live: LiveServer, reg: Registry) -> None:
    async with AsyncRegistry(live.url, live.admin_token()) as aio:
        refs = [v.ref async for v in aio.search_versions("type:dataset")]
    assert refs == ["churn/table:v0"]


def test_cli_search(live: LiveServer, reg: Registry, tmp_path: Path) -> None:
    env = {"LINEAGE_REG_URL": live.url, "LINEAGE_REG_TOKEN": live.admin_token(),
           "LINEAGE_REG_CREDENTIALS": str(tmp_path / "none.json")}
    done = run_cli("search", "versions", "type:model metric.auc>=0.9", "--order", "-metric.auc", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert [v["ref"] for v in json.loads(done.stdout)] == ["churn/clf:v1", "churn/clf:v4", "churn/clf:v2"]
    table = run_cli("search", "versions", "tag:candidate", env=env).stdout
    assert "churn/clf:v2" in table and "churn/clf:v1" not in table
    assert "no versions match" in run_cli("search", "versions", "tag:nothing", env=env).stdout
    runs = run_cli("search", "runs", "status:finished", "--json", env=env)
    assert [r["name"] for r in json.loads(runs.stdout)] == ["sweep"]
    bad = run_cli("search", "versions", "metric.auc>>1", env=env)
    assert bad.returncode != 0 and "unexpected" in bad.stderr
