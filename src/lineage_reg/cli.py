"""``lineage-reg``: serve | export-schema | db upgrade | token create/list/revoke."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from pathlib import Path

from . import config


def _settings(args: argparse.Namespace) -> config.Settings:
    return config.from_env().with_overrides(
        data_dir=Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        database_url=getattr(args, "database_url", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        dev=True if getattr(args, "dev", False) else None,
        anonymous=getattr(args, "anonymous", None),
        storage_url=getattr(args, "storage_url", None),
        s3_endpoint_url=getattr(args, "s3_endpoint_url", None),
        verify=getattr(args, "verify", None),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = _settings(args)
    print(f"lineage-reg: data in {settings.data_dir}, database {settings.effective_database_url.split('@')[-1]}",
          file=sys.stderr)
    print(f"lineage-reg: GraphQL at http://{settings.host}:{settings.port}/graphql "
          f"(admin token, if just created: {settings.data_dir / 'admin.token'})", file=sys.stderr)
    # One process per server: uvicorn's --workers leaves TCP_NODELAY off (uvicorn issue 3149);
    # scale by running more processes behind a load balancer.
    app = create_app(settings)
    # The server owns this process: what is loaded now lives as long as it does, so keep it out of the
    # cyclic GC's scans, and collect young objects less often. Measured: fan-out to 1,000 subscribers,
    # p99 commit -> last subscriber 308 -> 178 ms (GC pauses were the tail).
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level,
                http="httptools", loop="uvloop", access_log=False,
                # Event messages are small: compressing each one per subscriber costs more CPU than it saves.
                ws_per_message_deflate=False)
    return 0


def cmd_export_schema(args: argparse.Namespace) -> int:
    from .api.schema import schema

    text = schema.as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from .store import migrations
    from .store.db import Database

    async def run() -> None:
        db = Database(_settings(args).effective_database_url)
        try:
            await migrations.upgrade(db)
        finally:
            await db.dispose()

    asyncio.run(run())
    print("database at head", file=sys.stderr)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from .app import build_runtime
    from .services import auth
    from .store import migrations
    from .store import tokens as token_store
    from .store.tables.types import utcnow

    async def run() -> int:
        rt = build_runtime(_settings(args))
        try:
            await migrations.upgrade(rt.db)
            if args.token_cmd == "create":
                print(await auth.create_token(rt, name=args.name, role=args.role))
            elif args.token_cmd == "list":
                async with rt.db.reader() as r:
                    for row in await token_store.list_tokens(r):
                        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                        print(f"{row.id}\t{row.name}\t{row.role}\t{state}")
            else:
                if not await rt.db.transaction(lambda c: token_store.revoke_token(c, args.id, utcnow())):
                    print(f"no active token with id {args.id}", file=sys.stderr)
                    return 1
            return 0
        finally:
            await rt.db.dispose()

    return asyncio.run(run())


def cmd_gc(args: argparse.Namespace) -> int:
    from datetime import datetime

    from .app import build_runtime
    from .services import gc
    from .store import migrations

    async def run() -> int:
        rt = build_runtime(_settings(args))
        await rt.blobs.start()
        try:
            await migrations.upgrade(rt.db)
            now = datetime.fromisoformat(args.now) if args.now else None
            report = await gc.collect(rt, now=now, dry_run=args.dry_run)
            for line in report.lines():
                print(("would remove " if args.dry_run else "removed ") + line)
            verb = "would free" if args.dry_run else "freed"
            print(f"gc: {verb} {report.freed_bytes} bytes", file=sys.stderr)
            return 0
        finally:
            await rt.blobs.stop()
            await rt.db.dispose()

    return asyncio.run(run())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lineage-reg", description="ML model registry with a lineage graph")
    sub = p.add_subparsers(dest="command", required=True)

    def storage_flags(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data-dir", help="embedded data directory (env LINEAGE_REG_DATA_DIR)")
        sp.add_argument("--database-url", help="e.g. postgresql+asyncpg://user@host/db (env LINEAGE_REG_DATABASE_URL)")
        sp.add_argument("--storage-url", help="s3://bucket/prefix for S3 blob storage (env LINEAGE_REG_STORAGE_URL)")
        sp.add_argument("--s3-endpoint-url", help="S3-compatible endpoint (env LINEAGE_REG_S3_ENDPOINT_URL)")
        sp.add_argument("--verify", choices=("full", "checksum"),
                        help="how commit checks S3 objects: hash them (full) or trust the store's checksum")

    serve = sub.add_parser("serve", help="run the API server")
    storage_flags(serve)
    serve.add_argument("--host", help="listen address (default 127.0.0.1, env LINEAGE_REG_HOST)")
    serve.add_argument("--port", type=int, help="listen port (default 8080, env LINEAGE_REG_PORT)")
    serve.add_argument("--dev", action="store_true", help="serve GraphiQL at /graphql")
    serve.add_argument("--anonymous", choices=config.ANONYMOUS_MODES, help="what requests without a token may do")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=cmd_serve)

    collect = sub.add_parser("gc", help="collect abandoned uploads and unreferenced blobs")
    storage_flags(collect)
    collect.add_argument("--dry-run", action="store_true", help="print what would go; change nothing")
    collect.add_argument("--now", help=argparse.SUPPRESS)  # tests: a controllable clock (ISO 8601)
    collect.set_defaults(func=cmd_gc)

    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("-o", "--output", default="-")
    export.set_defaults(func=cmd_export_schema)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_cmd", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply migrations up to the newest")
    storage_flags(upgrade)
    upgrade.set_defaults(func=cmd_db_upgrade)

    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_cmd", required=True)
    create = token_sub.add_parser("create", help="create a token and print its secret (shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=("viewer", "member", "admin"), default="member")
    storage_flags(create)
    listing = token_sub.add_parser("list", help="list tokens (never their secrets)")
    storage_flags(listing)
    revoke = token_sub.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id", type=int)
    storage_flags(revoke)
    for sp in (create, listing, revoke):
        sp.set_defaults(func=cmd_token)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
