"""The SDK's short order syntax and its metric checks: what is sent, and what is refused before sending."""

from __future__ import annotations

import math

import pytest

from lineage_reg.client import BadInput
from lineage_reg.client.search import metric_values, orders, point


def test_orders_of_versions() -> None:
    assert orders(None) is None
    assert orders("-metric.auc") == [{"field": "METRIC", "direction": "DESC", "metric": "auc"}]
    assert orders("metric.production:latency_p99") == [
        {"field": "METRIC", "direction": "ASC", "metric": "latency_p99", "source": "production"}]
    assert orders("-created, index") == [{"field": "CREATED_AT", "direction": "DESC"},
                                         {"field": "INDEX", "direction": "ASC"}]
    assert orders(["size", "-metric.val/loss"]) == [{"field": "SIZE", "direction": "ASC"},
                                                    {"field": "METRIC", "direction": "DESC", "metric": "val/loss"}]


def test_orders_of_runs() -> None:
    assert orders("-created", runs=True) == [{"field": "CREATED_AT", "direction": "DESC"}]
    assert orders("metric.loss", runs=True) == [{"field": "METRIC", "direction": "ASC", "metric": "loss"}]
    with pytest.raises(BadInput, match="runs order by their own metrics"):
        orders("metric.production:loss", runs=True)
    with pytest.raises(BadInput, match="not one of created, metric.NAME"):
        orders("size", runs=True)  # a run has no size


@pytest.mark.parametrize("bad", ["newest", "metric.", "-metric.a b", "metric.a:b c"])
def test_orders_refused_say_what_is_allowed(bad: str) -> None:
    with pytest.raises(BadInput, match="prefix - for descending"):
        orders(bad)


@pytest.mark.parametrize("metrics", [{}, {"auc": "0.9"}, {"auc": True}, {"auc": math.nan}, {"auc": math.inf},
                                     {"auc": None}])
def test_metric_values_refused_before_sending(metrics: dict[str, object]) -> None:
    with pytest.raises(BadInput):
        metric_values(metrics)  # type: ignore[arg-type]


def test_point_is_a_version_metrics_input() -> None:
    assert point("p/a:v0", {"auc": 1}, source="production", step=3) == {
        "version": "p/a:v0", "metrics": {"auc": 1.0}, "source": "production", "at": None, "step": 3}
