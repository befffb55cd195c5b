"""The SDK's and the CLI's version metrics against a real server: log, batch, read back, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import LiveServer
from support.cli import run_cli

from lineage_reg.client import AsyncRegistry, BadInput, NotFound, Registry, Version
from lineage_reg.client import search as sdk_search

pytestmark = pytest.mark.dialects("sqlite")  # the SDK is the subject, not the database


@pytest.fixture
def reg(live: LiveServer, tmp_path: Path, dialect: str) -> Registry:
    with Registry(live.url, live.admin_token()) as reg:
        reg.create_project("churn")
        src = tmp_path / "model.bin"
        for weights in (b"one", b"two"):
            src.write_bytes(weights)
            reg.log_artifact("churn", "clf", type="model", path=src)
        yield reg


def by_name(series: list[dict[str, object]]) -> dict[tuple[object, object], dict[str, object]]:
    return {(s["source"], s["name"]): s for s in series}


def test_version_log_metrics_and_read_them_back(reg: Registry) -> None:
    v0 = reg.resolve("churn/clf:v0")
    assert v0.log_metrics({"auc": 0.9, "f1": 0.7}) == 2
    assert v0.log_metrics({"auc": 0.94}, step=2) == 1
    assert reg.log_version_metrics("churn/clf:v0", {"latency_p99": 41}, source="production") == 1
    series = by_name(v0.metrics())
    assert series[("evaluation", "auc")] == {"name": "auc", "source": "evaluation", "latest": 0.94, "count": 2,
                                             "min": 0.9, "max": 0.94, "mean": pytest.approx(0.92)}
    assert series[("production", "latency_p99")]["latest"] == 41.0
    assert set(series) == {("evaluation", "auc"), ("evaluation", "f1"), ("production", "latency_p99")}
    assert [s["name"] for s in v0.metrics(source="evaluation", names=["f1"])] == ["f1"]
    assert reg.resolve("churn/clf:v1").metrics() == []  # nothing leaked to the other version


def test_batch_splits_by_points_and_each_request_is_all_or_nothing(reg: Registry,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sdk_search, "BATCH_POINTS", 3)  # requests of at most 3 points: 2 + 1, then 2 + ...
    points = [{"version": "churn/clf:v0", "metrics": {"a": 1, "b": 2}},
              {"version": reg.resolve("churn/clf:v1"), "metrics": {"a": 3}, "source": "production"},
              {"version": "churn/clf:v1", "metrics": {"a": 4, "b": 5}, "step": 7}]
    assert reg.log_version_metrics_batch(points) == 5
    v1 = by_name(reg.resolve("churn/clf:v1").metrics())
    assert v1[("production", "a")]["count"] == 1 and v1[("evaluation", "b")]["latest"] == 5.0
    with pytest.raises(NotFound, match="v9"):
        reg.log_version_metrics_batch([{"version": "churn/clf:v0", "metrics": {"c": 1}},
                                       {"version": "churn/clf:v9", "metrics": {"c": 2}}])
    assert ("evaluation", "c") not in by_name(reg.resolve("churn/clf:v0").metrics())  # same request: not stored


def test_bad_values_are_refused_before_sending_and_by_the_server(reg: Registry) -> None:
    with pytest.raises(BadInput, match="name → number"):
        reg.log_version_metrics("churn/clf:v0", {})
    with pytest.raises(BadInput):
        reg.log_version_metrics("churn/clf:v0", {"auc": float("nan")})
    with pytest.raises(BadInput, match="reserved"):
        reg.log_version_metrics("churn/clf:v0", {"auc": 0.5}, source="training")
    with pytest.raises(BadInput, match="not valid"):
        reg.log_version_metrics("churn/clf:v0", {"a b": 0.5})
    with pytest.raises(TypeError, match="made by hand"):
        Version(id="x", ref="churn/clf:v0", index=0, digest="", state="COMMITTED", size=0, metadata={},
                aliases=[], files=[]).log_metrics({"auc": 1})
    assert reg.resolve("churn/clf:v0").metrics() == []


async def test_async_versions_await_their_metrics(live: LiveServer, reg: Registry) -> None:
    async with AsyncRegistry(live.url, live.admin_token()) as aio:
        version = await aio.resolve("churn/clf:v1")
        assert await version.log_metrics({"auc": 0.5}, source="shadow") == 1
        assert [(s["source"], s["latest"]) for s in await version.metrics()] == [("shadow", 0.5)]


def test_cli_metrics_log_and_show(live: LiveServer, reg: Registry, tmp_path: Path) -> None:
    env = {"LINEAGE_REG_URL": live.url, "LINEAGE_REG_TOKEN": live.admin_token(),
           "LINEAGE_REG_CREDENTIALS": str(tmp_path / "none.json")}
    done = run_cli("metrics", "log", "churn/clf:v0", "auc=0.91", "loss=0.2", "--source", "production", "--step", "3",
                   env=env)
    assert done.returncode == 0, done.stderr
    assert "2 points stored on churn/clf:v0 (production)" in done.stdout
    shown = run_cli("metrics", "show", "churn/clf:v0", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    rows = by_name(json.loads(shown.stdout))
    assert rows[("production", "auc")]["latest"] == 0.91 and rows[("production", "loss")]["count"] == 1
    table = run_cli("metrics", "show", "churn/clf:v0", env=env).stdout
    assert "production" in table and "auc" in table and "0.91" in table
    bad = run_cli("metrics", "log", "churn/clf:v0", "auc=high", env=env)
    assert bad.returncode != 0 and "NAME=NUMBER" in bad.stderr
    missing = run_cli("metrics", "log", "churn/clf:v7", "auc=1", env=env)
    assert missing.returncode != 0 and "v7" in missing.stderr
    assert len(reg.resolve("churn/clf:v0").metrics()) == 2  # the refused commands stored nothing
