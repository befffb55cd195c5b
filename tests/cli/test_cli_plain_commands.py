"""The server's commands are plain functions of settings and options: no typer -> argparse.Namespace shim."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import lineage_reg.cli
from lineage_reg.cli import server


def test_no_namespace_shim_between_typer_and_the_commands() -> None:
    for source in Path(lineage_reg.cli.__file__).parent.glob("*.py"):
        assert "argparse" not in source.read_text(), source.name
    for name, fn in inspect.getmembers(server, inspect.isfunction):
        if name.startswith("cmd_"):
            params = inspect.signature(fn).parameters
            assert "args" not in params, name
            assert all(p.annotation != "argparse.Namespace" for p in params.values()), name


def test_settings_of_puts_the_command_line_over_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    monkeypatch.setenv("LINEAGE_REG_DATA_DIR", str(tmp_path / "from-env"))
    assert server.settings_of().data_dir == tmp_path / "from-env"
    chosen = server.settings_of(data_dir=str(tmp_path / "from-flag"), port=9999, dev=True, anonymous="read")
    assert (chosen.data_dir, chosen.port, chosen.dev, chosen.anonymous) == (tmp_path / "from-flag", 9999, True, "read")
