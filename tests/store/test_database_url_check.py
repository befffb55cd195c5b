"""Which database URLs the store takes, and what it says about the others (before importing any driver)."""

from __future__ import annotations

import pytest

from lineage_reg.store.db import Database, DatabaseUnavailable, check_url, shown_url


@pytest.mark.parametrize(("url", "says"), [
    ("postgresql://u:pw@h/d", "write postgresql+asyncpg://u:***@h/d"),
    ("postgres://u:pw@h/d", "write postgresql+asyncpg://u:***@h/d"),
    ("postgresql+psycopg://u@h:5433/d", "write postgresql+asyncpg://u@h:5433/d"),
    ("sqlite:///var/lib/r.db", "write sqlite+aiosqlite:///var/lib/r.db"),
    ("mysql://u@h/d", "runs on SQLite or PostgreSQL, not mysql"),
    ("registry.db", "does not parse"),
])
def test_a_url_it_cannot_use_is_refused_with_the_one_to_write(url: str, says: str) -> None:
    with pytest.raises(DatabaseUnavailable) as refused:
        Database(url)
    assert says in refused.value.message
    assert "pw" not in refused.value.message
    assert refused.value.code == "DATABASE_UNAVAILABLE"


def test_urls_it_takes_and_how_they_are_shown() -> None:
    for url in ("postgresql+asyncpg://u:pw@h/d", "postgresql+asyncpg:///d?host=/var/run/postgresql",
                "sqlite+aiosqlite:///tmp/r.db"):
        check_url(url)
    assert shown_url("postgresql+asyncpg://reg:s3cret@db:5432/reg") == "postgresql+asyncpg://reg:***@db:5432/reg"
    assert shown_url("postgresql+asyncpg:///reg?host=/var/run/postgresql") == (
        "postgresql+asyncpg:///reg?host=/var/run/postgresql")
