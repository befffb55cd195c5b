"""The text form of a search: every term form and every error, with its position and token."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lineage_reg.errors import BadInput
from lineage_reg.filters import Created, FilterOp, JsonTerm, Match, MetricTerm
from lineage_reg.services.search_query import parse, tokens


@pytest.mark.parametrize(("text", "term"), [
    ("type:model", Match("type", ("model",))),
    ("tag:candidate", Match("tag", ("candidate",))),
    ('tag:"two words"', Match("tag", ("two words",))),
    ("-tag:x", Match("tag", ("x",), negate=True)),
    ("alias:production", Match("alias", ("production",))),
    ("-alias:production", Match("alias", ("production",), negate=True)),
    ("project:churn", Match("project", ("churn",))),
    ("state:pending", Match("state", ("PENDING",))),
    ("artifact:clf", Match("artifact", ("clf",))),
    ("-type:dataset", Match("type", ("dataset",), negate=True)),
    ("model:churn/prod", Match("registeredModel", ("churn/prod",))),
    ("by:alice", Match("createdBy", ("alice",))),
    ("metadata.framework=sklearn", JsonTerm(("framework",), FilterOp.EQ, "sklearn")),
    ("-metadata.framework=sklearn", JsonTerm(("framework",), FilterOp.EQ, "sklearn", negate=True)),
    ("metadata.train.epochs>3", JsonTerm(("train", "epochs"), FilterOp.GT, 3)),
    ("metadata.lr>=0.5", JsonTerm(("lr",), FilterOp.GTE, 0.5)),
    ("metadata.lr<1e-3", JsonTerm(("lr",), FilterOp.LT, 0.001)),
    ("metadata.n<=2", JsonTerm(("n",), FilterOp.LTE, 2)),
    ("metadata.x!=y", JsonTerm(("x",), FilterOp.NE, "y")),
    ('metadata.x="a b"', JsonTerm(("x",), FilterOp.EQ, "a b")),
    ('metadata.x="5"', JsonTerm(("x",), FilterOp.EQ, "5")),
    ("metadata.x=true", JsonTerm(("x",), FilterOp.EQ, True)),
    ("metadata.x=null", JsonTerm(("x",), FilterOp.EQ, None)),
    ("metadata.x=inf", JsonTerm(("x",), FilterOp.EQ, "inf")),
    ("metric.auc>=0.9", MetricTerm("auc", None, FilterOp.GTE, 0.9)),
    ("metric.production:latency_p99<50", MetricTerm("latency_p99", "production", FilterOp.LT, 50.0)),
    ("metric.val/auc=1", MetricTerm("val/auc", None, FilterOp.EQ, 1.0)),
    ("created>2026-11-01", Created(FilterOp.GT, datetime(2026, 11, 1, tzinfo=UTC))),
    ("created<=2026-11-01T10:00:00Z", Created(FilterOp.LTE, datetime(2026, 11, 1, 10, tzinfo=UTC))),
    ("baseline", Match("text", ("baseline",))),
    ('"two words"', Match("text", ("two words",))),
])
def test_each_form(text: str, term: object) -> None:
    assert parse(text, kind="versions") == [term]


def test_terms_combine_and_positions() -> None:
    assert tokens('  a  tag:"x y"  b') == [(3, "a"), (6, 'tag:"x y"'), (17, "b")]
    assert parse("type:model tag:candidate metric.auc>=0.9 churn", kind="versions") == [
        Match("type", ("model",)), Match("tag", ("candidate",)), MetricTerm("auc", None, FilterOp.GTE, 0.9),
        Match("text", ("churn",))]
    assert parse("", kind="versions") == []


def test_runs_and_models_vocabulary() -> None:
    assert parse("status:finished config.lr>0.1 metric.auc>0.5", kind="runs") == [
        Match("status", ("FINISHED",)), JsonTerm(("lr",), FilterOp.GT, 0.1), MetricTerm("auc", None, FilterOp.GT, 0.5)]
    assert parse("tag:gold -alias:production", kind="models") == [
        Match("tag", ("gold",)), Match("alias", ("production",), negate=True)]


@pytest.mark.parametrize(("text", "kind", "message"), [
    ("type:model metric.auc>>0.9", "versions", "query: unexpected 'metric.auc>>0.9' at 12; write metric.NAME>=NUMBER"),
    ("metric.auc>=high", "versions", "unexpected 'metric.auc>=high' at 1; write metric.NAME>=NUMBER"),
    ("metadata.x>>1", "versions", "unexpected 'metadata.x>>1' at 1; write metadata.PATH=VALUE"),
    ("metadata..x=1", "versions", "write metadata.PATH=VALUE"),
    ("created>yesterday", "versions", "unexpected 'created>yesterday' at 1; write created>YYYY-MM-DD"),
    ("created>2026-13-01", "versions", "write created>YYYY-MM-DD"),
    ("a color:red", "versions", "unexpected 'color:red' at 3; color: is not a key here"),
    ("tag:", "versions", "unexpected 'tag:' at 1; write tag:VALUE"),
    ('tag:"x', "versions", "unclosed quote at 5"),
    ('"open', "versions", "unclosed quote at 1"),
    ("state:gone", "versions", "state is one of pending, committed, deleted"),
    ("status:gone", "runs", "status is one of running, finished, failed"),
    ("model:noslash", "versions", "write model:PROJECT/NAME"),
    ("-project:churn", "versions", "'-' negates only"),
    ("-metric.auc>1", "versions", "'-' negates only"),
    ("-created>2026-01-01", "versions", "'-' negates only"),
    ("-word", "versions", "unexpected '-word' at 1"),
    ("a=b", "versions", "unexpected 'a=b' at 1; use a bare word"),
    ("config.lr=1", "versions", "unexpected 'config.lr=1'"),
    ("metadata.x=1", "runs", "unexpected 'metadata.x=1'"),
    ("metric.auc>1", "models", "unexpected 'metric.auc>1'"),
    ("type:model", "models", "type: is not a key here"),
    ("x" * 2001, "versions", "write at most 2000"),
])
def test_each_error(text: str, kind: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse(text, kind=kind)
    assert message in str(caught.value), str(caught.value)
