"""A wrong or unreachable database URL: one line saying what to write or do, a non-zero exit, no traceback.

Against the real PostgreSQL of the test session (``pg_admin_url``: pgserver over a unix socket, or
``LINEAGE_REG_TEST_PG_URL``), through the real ``lineage-reg`` command line in a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import unquote

import sqlalchemy as sa
from conftest import free_port
from sqlalchemy.ext.asyncio import create_async_engine


def cli(*args: str, tmp_path: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lineage_reg.cli", *args], check=False, capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "LINEAGE_REG_DATA_DIR": str(tmp_path / "data")})


def one_line_refusal(run: subprocess.CompletedProcess[str]) -> str:
    assert run.returncode != 0, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_a_postgresql_url_without_the_asyncpg_driver_says_which_url_to_write(tmp_path: Path) -> None:
    line = one_line_refusal(cli("serve", "--port", str(free_port()), "--database-url",
                                "postgresql://registry:s3cret@db.internal/registry", tmp_path=tmp_path))
    assert "postgresql+asyncpg://registry:***@db.internal/registry" in line
    assert "s3cret" not in line
    line = one_line_refusal(cli("db", "upgrade", "--database-url", "postgresql+psycopg2://r@h/d", tmp_path=tmp_path))
    assert "postgresql+asyncpg://" in line



def test_gc_and_token_commands_refuse_a_wrong_url_in_one_line_too(tmp_path: Path) -> None:
    for args in (["gc", "--dry-run"], ["token", "list"]):
        line = one_line_refusal(cli(*args, "--database-url", "postgresql://registry:s3cret@db.internal/registry",
                                    tmp_path=tmp_path))
        assert "postgresql+asyncpg://registry:***@db.internal/registry" in line and "s3cret" not in line, args

def test_a_database_that_does_not_exist_says_how_to_create_it(pg_admin_url: str, tmp_path: Path) -> None:
    name = f"lr_missing_{uuid.uuid4().hex[:8]}"
    url = sa.engine.make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    for args in (["serve", "--port", str(free_port())], ["db", "upgrade"]):
        line = one_line_refusal(cli(*args, "--database-url", url, tmp_path=tmp_path))
        assert f"the database '{name}' does not exist" in line
        assert "createdb" in line and line.split("`createdb")[1].split("`")[0].endswith(f" {name}"), line


def test_the_banner_shows_scheme_user_and_database_but_not_the_password(pg_admin_url: str, tmp_path: Path) -> None:
    name = f"lr_banner_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        admin = create_async_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()

    asyncio.run(create())
    parsed = sa.engine.make_url(pg_admin_url).set(database=name)
    if parsed.password is None:  # pgserver trusts its socket: a password in the URL is sent only if asked for
        parsed = parsed.set(password="hunter2-not-shown")
    url = parsed.render_as_string(hide_password=False)
    server = subprocess.Popen([sys.executable, "-m", "lineage_reg.cli", "serve", "--port", str(free_port()),
                               "--database-url", url], stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "LINEAGE_REG_DATA_DIR": str(tmp_path / "data")})
    try:
        assert server.stderr is not None
        banner = server.stderr.readline()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert f"database {unquote(parsed.render_as_string(hide_password=True))}" in banner, banner
    assert f"postgresql+asyncpg://{parsed.username}:***@" in banner
    assert str(parsed.password) not in banner
