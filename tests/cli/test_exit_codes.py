"""Every server command that opens the database refuses a wrong or unreachable database URL the same way:
exit 7 (docs/cli.md, "Exit codes": DATABASE_UNAVAILABLE) and one line ``error: DATABASE_UNAVAILABLE …`` on
stderr. ``db upgrade`` and ``serve`` used to exit 1 where ``token`` and ``gc`` exited 5.

Through the real ``lineage-reg`` command line in subprocesses; nothing listens on the unreachable URL's port.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port

from lineage_reg.cli.client import EXIT_CODES

DATABASE_COMMANDS = [["serve", "--port", "0"], ["gc", "--dry-run"], ["db", "upgrade"], ["token", "list"],
                     ["token", "create", "--user", "ci"], ["token", "revoke", "1"]]


def _urls(dialect: str, tmp_path: Path) -> list[str]:
    if dialect == "sqlite":  # the wrong driver; a database "in" a regular file, which no directory can be made at
        (tmp_path / "a-file").write_text("")
        return [f"sqlite:///{tmp_path / 'r.db'}", f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'r.db'}"]
    return ["postgresql://registry:s3cret@db.internal/registry",
            f"postgresql+asyncpg://registry:s3cret@127.0.0.1:{free_port()}/registry"]


def test_the_database_refusal_code_is_the_documented_one() -> None:
    table = Path(__file__).parents[2].joinpath("docs", "cli.md").read_text()
    assert EXIT_CODES["DATABASE_UNAVAILABLE"] == 7
    assert "| 7 | `DATABASE_UNAVAILABLE`" in table


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=" ".join)
def test_every_database_command_refuses_a_bad_or_unreachable_url_with_exit_7_in_one_line(
        command: list[str], dialect: str, tmp_path: Path) -> None:
    for url in _urls(dialect, tmp_path):
        run = subprocess.run([sys.executable, "-m", "lineage_reg.cli", *command, "--database-url", url],
                             check=False, capture_output=True, text=True, timeout=60,
                             env={**os.environ, "LINEAGE_REG_DATA_DIR": str(tmp_path / "data")})
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 7, (url, run.returncode, run.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: DATABASE_UNAVAILABLE "), (url, run.stderr)
        assert "s3cret" not in run.stderr
