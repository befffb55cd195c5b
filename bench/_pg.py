"""A throwaway PostgreSQL for the benchmarks (pgserver, from the test extra): yields a database URL."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def postgres_database(name: str) -> Iterator[tuple[str, Path]]:
    """(asyncpg URL of a fresh database ``name``, a scratch directory), both gone afterwards."""
    import pgserver

    with tempfile.TemporaryDirectory() as tmp:
        pg = pgserver.get_server(Path(tmp) / "pg", cleanup_mode="stop")
        try:
            sock_dir = pg.get_uri().split("host=")[1]
            pg.psql(f"CREATE DATABASE {name};")
            yield f"postgresql+asyncpg://postgres@/{name}?host={sock_dir}", Path(tmp)
        finally:
            pg.cleanup()
