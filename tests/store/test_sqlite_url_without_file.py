"""A SQLite URL that names no file is refused in one sentence (it used to end in a TypeError traceback)."""

from __future__ import annotations

import pytest

from lineage_reg.store.db import Database, DatabaseUnavailable


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"])
def test_an_in_memory_sqlite_url_is_refused_with_the_url_to_write(url: str) -> None:
    with pytest.raises(DatabaseUnavailable) as refused:
        Database(url)
    assert "names no file" in refused.value.message
    assert "sqlite+aiosqlite:///path/to/registry.db" in refused.value.message
    assert refused.value.code == "DATABASE_UNAVAILABLE"
