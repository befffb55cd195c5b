"""schema.graphql is generated from the code and keeps every promise of the API contract."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema, find_breaking_changes

from lineage_reg.api.schema import schema

ROOT = Path(__file__).resolve().parents[2]


def test_exported_schema_is_current() -> None:
    exported = (ROOT / "schema.graphql").read_text()
    assert exported == schema.as_str() + "\n", "schema.graphql is stale: run `lineage-reg export-schema -o schema.graphql`"


def test_no_breaking_changes_against_contract() -> None:
    # tests/contract.graphql is a copy of the shared API contract clients are written against.
    contract = build_schema((Path(__file__).parents[1] / "contract.graphql").read_text())
    broken = find_breaking_changes(contract, build_schema(schema.as_str()))
    assert broken == [], [c.description for c in broken]


def test_breaking_change_is_detected() -> None:
    """The check above can fail: removing a contract field is caught."""
    contract_text = (Path(__file__).parents[1] / "contract.graphql").read_text()
    mutilated = schema.as_str().replace("  digest: String!\n", "", 1)
    broken = find_breaking_changes(build_schema(contract_text), build_schema(mutilated))
    assert any("digest" in c.description for c in broken)
