"""Settings come from the environment, with clear errors for nonsense."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineage_reg.config import from_env


def test_environment_is_read() -> None:
    s = from_env({"LINEAGE_REG_DATA_DIR": "/srv/reg", "LINEAGE_REG_PORT": "9000", "LINEAGE_REG_ANONYMOUS": "read",
                  "LINEAGE_REG_PROTECTED_ALIASES": "production,champion", "LINEAGE_REG_STORAGE_URL": "s3://b/p",
                  "LINEAGE_REG_VERIFY": "checksum", "LINEAGE_REG_LINK_TTL_SECONDS": "600",
                  "LINEAGE_REG_RESPONSE_CACHE": "0", "AWS_REGION": "eu-west-1"})
    assert s.data_dir == Path("/srv/reg") and s.port == 9000 and s.anonymous == "read"
    assert s.protected_aliases == ("production", "champion")
    assert (s.storage_url, s.verify, s.link_ttl_seconds, s.s3_region) == ("s3://b/p", "checksum", 600, "eu-west-1")
    assert s.response_cache is False
    assert s.effective_database_url == "sqlite+aiosqlite:////srv/reg/registry.db"


def test_defaults_are_safe() -> None:
    s = from_env({})
    assert s.anonymous == "none" and s.host == "127.0.0.1" and s.dev is False
    assert s.protected_aliases == ("production",)


@pytest.mark.parametrize(("name", "value"), [("ANONYMOUS", "everyone"), ("VERIFY", "maybe")])
def test_nonsense_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"LINEAGE_REG_{name}"):
        from_env({f"LINEAGE_REG_{name}": value})


def test_openlineage_project_mapping_from_the_environment() -> None:
    settings = from_env({"LINEAGE_REG_OPENLINEAGE_PROJECTS": "airflow-prod=warehouse, *=pipelines"})
    assert settings.openlineage_projects == {"airflow-prod": "warehouse", "*": "pipelines"}
    with pytest.raises(ValueError, match="namespace=project"):
        from_env({"LINEAGE_REG_OPENLINEAGE_PROJECTS": "airflow-prod"})
    with pytest.raises(ValueError, match="not a project name"):
        from_env({"LINEAGE_REG_OPENLINEAGE_PROJECTS": "airflow=Not A Project"})


def test_slow_client_deadlines_from_the_environment() -> None:
    s = from_env({"LINEAGE_REG_HEADER_TIMEOUT_SECONDS": "3", "LINEAGE_REG_BODY_TIMEOUT_SECONDS": "7.5",
                  "LINEAGE_REG_BODY_MIN_RATE": "2000", "LINEAGE_REG_KEEP_ALIVE_SECONDS": "2"})
    assert (s.header_timeout_seconds, s.body_timeout_seconds, s.body_min_rate, s.keep_alive_seconds) == (3, 7.5, 2000, 2)
