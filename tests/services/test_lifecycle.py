"""open_runtime: one way to open and close the runtime (app, CLI, tests and benches all use it)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lineage_reg.config import Settings
from lineage_reg.services import projects
from lineage_reg.services.lifecycle import open_runtime


def _bus_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t.get_name().startswith("lineage-reg-bus") and not t.done()}


async def test_another_process_commit_reaches_an_open_runtime_and_its_caches(settings: Settings,
                                                                            dialect: str) -> None:
    """The bus is wired at construction: another runtime's commit arrives through LISTEN/NOTIFY (PostgreSQL) or
    data_version (SQLite), and this runtime's own commits move the counter its caches compare against."""
    async with open_runtime(settings) as rt:
        sub = rt.bus.subscribe()
        async with open_runtime(settings, events=False, migrate=False) as other:  # a CLI command, say
            await projects.create_project(other, actor="cli", name="from-elsewhere")
        event = await asyncio.wait_for(sub.get(), timeout=10)
        assert (event.kind, event.project) == ("project.created", "from-elsewhere")
        before = rt.bus.counter()
        await projects.create_project(rt, actor="me", name="from-here")
        assert rt.bus.counter() != before
        assert (await asyncio.wait_for(sub.get(), timeout=10)).project == "from-here"
    assert not _bus_tasks()  # closed: the bus's background task is gone


async def test_a_fresh_database_is_migrated_and_a_failing_block_still_closes_everything(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    with pytest.raises(RuntimeError, match="boom"):
        async with open_runtime(settings) as rt:
            made = await projects.create_project(rt, actor=None, name="first")  # tables exist: migrated
            assert _bus_tasks()
            raise RuntimeError("boom")
    assert not _bus_tasks()
    async with open_runtime(settings, migrate=False) as rt:  # the data outlived the runtime that wrote it
        assert (await projects.create_project(rt, actor=None, name="second")).id == made.id + 1
