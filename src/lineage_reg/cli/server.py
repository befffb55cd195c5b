"""The server's own commands: serve, gc, export-schema, db upgrade, token create/list/revoke.

Each is a plain function of the settings and its own options; ``cli/__init__.py`` declares the flags (typer)
and builds the settings with ``settings_of``.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from .. import config
from ..errors import RegistryError

if TYPE_CHECKING:
    from ..services.runtime import Runtime


def settings_of(*, data_dir: str | None = None, database_url: str | None = None, storage_url: str | None = None,
                s3_endpoint_url: str | None = None, verify: str | None = None, host: str | None = None,
                port: int | None = None, dev: bool = False, anonymous: str | None = None) -> config.Settings:
    """The environment's settings, with what the command line says on top (None: not said)."""
    return config.from_env().with_overrides(
        data_dir=Path(data_dir) if data_dir else None, database_url=database_url, host=host, port=port,
        dev=True if dev else None, anonymous=anonymous, storage_url=storage_url, s3_endpoint_url=s3_endpoint_url,
        verify=verify,
    )


def cmd_serve(settings: config.Settings, *, no_auth: bool = False, log_level: str = "info") -> int:
    import uvicorn

    from ..app import create_app
    from ..http.timeouts import server_options
    from ..store.db import shown_url

    if no_auth:
        settings = no_auth_settings(settings)
    refused = _database_refusal(settings.effective_database_url)
    if refused:
        return refused
    print(f"lineage-reg: data in {settings.data_dir}, database {shown_url(settings.effective_database_url)}",
          file=sys.stderr)
    print(f"lineage-reg: GraphQL at http://{settings.host}:{settings.port}/graphql "
          f"(admin token, if just created: {settings.data_dir / 'admin.token'})", file=sys.stderr)
    # One process per server: uvicorn's --workers leaves TCP_NODELAY off (uvicorn issue 3149);
    # scale by running more processes behind a load balancer.
    app = create_app(settings)
    tune_gc()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level,
                loop="uvloop", access_log=False, **server_options(settings),
                # Event messages are small: compressing each one per subscriber costs more CPU than it saves.
                ws_per_message_deflate=False)
    return 0


def refusal(exc: RegistryError) -> int:
    """A server command's refusal: one line on stderr (``error: CODE message``, as the client commands say it)
    and the exit code docs/cli.md gives that code (DATABASE_UNAVAILABLE: 7, on every command)."""
    from .client import EXIT_CODES

    print(f"error: {exc.code} {exc.message}", file=sys.stderr)
    return EXIT_CODES.get(exc.code, 1)


def _database_refusal(url: str) -> int:
    """Before the server starts: 0 with the database reachable, else a one-line refusal's exit code (not
    uvicorn's traceback)."""
    from ..store.db import Database

    async def check() -> None:
        db = Database(url)
        try:
            await db.check()
        finally:
            await db.dispose()

    try:
        asyncio.run(check())
    except RegistryError as exc:
        return refusal(exc)
    return 0


def tune_gc() -> None:
    """The server owns this process: what is loaded now lives as long as it does, so keep it out of the
    cyclic GC's scans, and collect young objects less often. Measured: fan-out to 1,000 subscribers,
    p99 commit -> last subscriber 308 -> 178 ms (GC pauses were the tail)."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def cmd_export_schema(output: str = "-") -> int:
    from ..api.schema import schema

    text = schema.as_str() + "\n"
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text)
    return 0


def cmd_db_upgrade(settings: config.Settings) -> int:
    from ..services.lifecycle import upgrade_database

    try:
        asyncio.run(upgrade_database(settings))
    except RegistryError as exc:
        return refusal(exc)
    print("database at head", file=sys.stderr)
    return 0


def cmd_token_create(settings: config.Settings, *, name: str, role: str, expires_in: str | None = None) -> int:
    from ..services import tokens

    async def create(rt: Runtime) -> int:
        lifetime = tokens.parse_lifetime(expires_in) if expires_in else None
        print(await tokens.create_token(rt, name=name, role=role, expires_in=lifetime,
                                         via=tokens.VIA_CLI))
        return 0

    return _on_database(settings, create)


def cmd_token_list(settings: config.Settings) -> int:
    from ..clock import utcnow
    from ..services import tokens

    async def show(rt: Runtime) -> int:
        now = utcnow()
        for row in await tokens.list_tokens(rt):
            state = (f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else
                     f"expired {row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at and row.expires_at <= now
                     else f"active until {row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else "active")
            print(f"{row.id}\t{row.name}\t{row.role}\t{state}")
        return 0

    return _on_database(settings, show)


def cmd_token_revoke(settings: config.Settings, id: int) -> int:
    from ..services import tokens

    async def revoke(rt: Runtime) -> int:
        if not await tokens.revoke_token(rt, token_id=id, via=tokens.VIA_CLI):
            print(f"no active token with id {id}", file=sys.stderr)
            return 1
        return 0

    return _on_database(settings, revoke)


def _on_database(settings: config.Settings, work: Callable[[Runtime], Awaitable[int]]) -> int:
    """``work`` on a runtime of the server's database (migrated to head first); a refusal is one line and its
    documented exit code."""
    from ..services.lifecycle import open_runtime

    async def run() -> int:
        try:
            async with open_runtime(settings, events=False) as rt:
                return await work(rt)
        except RegistryError as exc:
            return refusal(exc)

    return asyncio.run(run())


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def no_auth_settings(settings: config.Settings) -> config.Settings:
    """``serve --no-auth``: anyone who can connect is an admin. Only on a loopback address, and loudly."""
    if settings.host not in LOOPBACK:
        raise SystemExit(f"--no-auth lets anyone who connects do anything; it only runs on a loopback address "
                         f"({', '.join(LOOPBACK)}), not on {settings.host!r}")
    print("!" * 78 + "\n!! lineage-reg runs WITHOUT AUTHENTICATION (--no-auth): every request is an admin.\n"
          "!! For local experiments only. Never expose this port.\n" + "!" * 78, file=sys.stderr)
    return settings.with_overrides(anonymous="admin")


def cmd_gc(settings: config.Settings, *, dry_run: bool = False, now: str | None = None) -> int:
    from datetime import datetime

    from ..services import gc

    async def collect(rt: Runtime) -> int:
        report = await gc.collect(rt, now=datetime.fromisoformat(now) if now else None, dry_run=dry_run)
        for line in report.lines():
            print(("would remove " if dry_run else "removed ") + line)
        verb = "would free" if dry_run else "freed"
        print(f"gc: {verb} {report.freed_bytes} bytes", file=sys.stderr)
        return 0

    return _on_database(settings, collect)
