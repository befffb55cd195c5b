"""``lineage-reg``: the server's commands and the client's, in one program (typer).

Server: serve, gc, export-schema, db upgrade, token create/list/revoke.
Client (talks to a server like the SDK does; see docs/cli.md): login, log, get, link, alias set/rm,
ls, show, history, lineage, diff, project create, cache, tag, webhook, member, search, metrics, promote, rollback, comment, card.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

import typer

from .. import config
from . import client, server

app = typer.Typer(name="lineage-reg", help="An ML model registry with a lineage graph.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (on the server's database).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
client.register(app)


class Verify(str, Enum):
    full = "full"
    checksum = "checksum"


class Anonymous(str, Enum):
    none = "none"
    read = "read"
    write = "write"


class Role(str, Enum):
    user = "user"
    viewer = "viewer"
    member = "member"
    admin = "admin"


DataDir = Annotated[Optional[str], typer.Option(help="embedded data directory (env LINEAGE_REG_DATA_DIR)")]  # noqa: UP045
DatabaseUrl = Annotated[Optional[str], typer.Option(  # noqa: UP045
    help="e.g. postgresql+asyncpg://user@host/db (env LINEAGE_REG_DATABASE_URL)")]
StorageUrl = Annotated[Optional[str], typer.Option(  # noqa: UP045
    help="s3://bucket/prefix for S3 blob storage (env LINEAGE_REG_STORAGE_URL)")]
S3Endpoint = Annotated[Optional[str], typer.Option(  # noqa: UP045
    help="S3-compatible endpoint (env LINEAGE_REG_S3_ENDPOINT_URL)")]
VerifyOpt = Annotated[Optional[Verify], typer.Option(  # noqa: UP045
    help="how commit checks S3 objects: hash them (full) or trust the store's checksum")]


def _value(option: Enum | None) -> str | None:
    return None if option is None else str(option.value)


@app.command(help="Run the API server.")
def serve(data_dir: DataDir = None, database_url: DatabaseUrl = None, storage_url: StorageUrl = None,
          s3_endpoint_url: S3Endpoint = None, verify: VerifyOpt = None,
          host: Annotated[Optional[str], typer.Option(help="listen address (default 127.0.0.1)")] = None,  # noqa: UP045
          port: Annotated[Optional[int], typer.Option(help="listen port (default 8080)")] = None,  # noqa: UP045
          dev: Annotated[bool, typer.Option(help="serve GraphiQL at /graphql")] = False,
          anonymous: Annotated[Optional[Anonymous], typer.Option(  # noqa: UP045
              help="what requests without a token may do")] = None,
          no_auth: Annotated[bool, typer.Option(
              help="local experiments only: every request is an admin (refused unless on a loopback address)")] = False,
          log_level: str = "info") -> None:
    settings = server.settings_of(data_dir=data_dir, database_url=database_url, storage_url=storage_url,
                                  s3_endpoint_url=s3_endpoint_url, verify=_value(verify), host=host, port=port,
                                  dev=dev, anonymous=_value(anonymous))
    raise typer.Exit(server.cmd_serve(settings, no_auth=no_auth, log_level=log_level))


@app.command(help="Collect abandoned uploads and unreferenced blobs.")
def gc(data_dir: DataDir = None, database_url: DatabaseUrl = None, storage_url: StorageUrl = None,
       s3_endpoint_url: S3Endpoint = None, verify: VerifyOpt = None,
       dry_run: Annotated[bool, typer.Option(help="print what would go; change nothing")] = False,
       now: Annotated[Optional[str], typer.Option(hidden=True)] = None) -> None:  # noqa: UP045  (tests: a clock)
    settings = server.settings_of(data_dir=data_dir, database_url=database_url, storage_url=storage_url,
                                  s3_endpoint_url=s3_endpoint_url, verify=_value(verify))
    raise typer.Exit(server.cmd_gc(settings, dry_run=dry_run, now=now))


@app.command("export-schema", help="Print the GraphQL schema (SDL).")
def export_schema(output: Annotated[str, typer.Option("-o", "--output")] = "-") -> None:
    raise typer.Exit(server.cmd_export_schema(output))


@db_app.command(help="Apply migrations up to the newest.")
def upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None, storage_url: StorageUrl = None,
            s3_endpoint_url: S3Endpoint = None, verify: VerifyOpt = None) -> None:
    settings = server.settings_of(data_dir=data_dir, database_url=database_url, storage_url=storage_url,
                                  s3_endpoint_url=s3_endpoint_url, verify=_value(verify))
    raise typer.Exit(server.cmd_db_upgrade(settings))


@token_app.command(help="Create a token and print its secret (shown once; only a hash is stored).")
def create(name: Annotated[Optional[str], typer.Option("--user", "--name", help="who the token is for")] = None,  # noqa: UP045
           role: Annotated[Role, typer.Option(help="global role: user (only the projects it is a member of; "
                                                   "addMember), viewer (reads all), member (writes all), admin")
                           ] = Role.user,
           admin: Annotated[bool, typer.Option("--admin", help="same as --role admin")] = False,
           expires_in: Annotated[Optional[str], typer.Option(help="lifetime, e.g. 90d, 12h, 30m (default: none)")] = None,  # noqa: UP045
           data_dir: DataDir = None, database_url: DatabaseUrl = None, storage_url: StorageUrl = None,
           s3_endpoint_url: S3Endpoint = None, verify: VerifyOpt = None) -> None:
    if not name:
        raise typer.BadParameter("name who the token is for with --user NAME")
    settings = server.settings_of(data_dir=data_dir, database_url=database_url, storage_url=storage_url,
                                  s3_endpoint_url=s3_endpoint_url, verify=_value(verify))
    raise typer.Exit(server.cmd_token_create(settings, name=name, role="admin" if admin else role.value,
                                             expires_in=expires_in))


@token_app.command("list", help="List tokens (never their secrets).")
def list_tokens(data_dir: DataDir = None, database_url: DatabaseUrl = None, storage_url: StorageUrl = None,
                s3_endpoint_url: S3Endpoint = None, verify: VerifyOpt = None) -> None:
    settings = server.settings_of(data_dir=data_dir, database_url=database_url, storage_url=storage_url,
                                  s3_endpoint_url=s3_endpoint_url, verify=_value(verify))
    raise typer.Exit(server.cmd_token_list(settings))


@token_app.command(help="Revoke a token by id.")
def revoke(id: int, data_dir: DataDir = None, database_url: DatabaseUrl = None, storage_url: StorageUrl = None,
           s3_endpoint_url: S3Endpoint = None, verify: VerifyOpt = None) -> None:
    settings = server.settings_of(data_dir=data_dir, database_url=database_url, storage_url=storage_url,
                                  s3_endpoint_url=s3_endpoint_url, verify=_value(verify))
    raise typer.Exit(server.cmd_token_revoke(settings, id))


def main(argv: list[str] | None = None) -> int:
    try:
        app(args=argv, prog_name="lineage-reg", standalone_mode=True)
    except SystemExit as exc:
        if isinstance(exc.code, str):  # a refusal with its reason: say it, fail
            print(f"error: {exc.code}", file=sys.stderr)
            return 1
        return int(exc.code or 0)
    return 0


__all__ = ["app", "config", "main"]
