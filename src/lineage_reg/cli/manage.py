"""The client commands that manage rather than move models: tags, webhooks, project members (the SDK underneath).

    lineage-reg tag add|rm TARGET TAG...
    lineage-reg webhook create|ls|update|ping|deliveries|rm ...
    lineage-reg member add|ls|rm ...
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from .client import Json, Url, emit, out, session, table

tag_app = typer.Typer(help="Tags on versions, artifacts and registered models.", no_args_is_help=True)
webhook_app = typer.Typer(help="A project's webhooks (project admins; see docs/events.md).", no_args_is_help=True)
member_app = typer.Typer(help="Who has which role in a project (project admins change it).", no_args_is_help=True)

Target = Annotated[str, typer.Argument(
    help="a version (project/name:v3, project/model:production, project/name@digest) or a whole artifact or "
         "registered model (project/name)")]
Tags = Annotated[list[str], typer.Argument(help="one or more tags")]


def _tags_line(target: str, tags: list[str], as_json: bool) -> None:
    if as_json:
        emit({"target": target, "tags": tags})
    else:
        out.print(f"{target}: {', '.join(tags) or '(no tags)'}", highlight=False, markup=False, soft_wrap=True)


@tag_app.command("add")
def tag_add(target: Target, tags: Tags, as_json: Json = False, url: Url = None) -> None:
    """Add TAGS to TARGET; print the tags it has afterwards."""
    with session(url) as reg:
        _tags_line(target, reg.add_tags(target, tags), as_json)


@tag_app.command("rm")
def tag_rm(target: Target, tags: Tags, as_json: Json = False, url: Url = None) -> None:
    """Remove TAGS from TARGET (tags it doesn't have are ignored); print the tags it has afterwards."""
    with session(url) as reg:
        _tags_line(target, reg.remove_tags(target, tags), as_json)


WEBHOOK_COLUMNS = ["id", "url", "kinds", "collection", "aliasPattern", "active", "createdAt", "createdBy"]
Kinds = Annotated[Optional[list[str]], typer.Option(  # noqa: UP045
    "--kind", help="event kind to send, e.g. alias.set (repeatable; see docs/events.md)")]


def _webhook_rows(hooks: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{**h, "kinds": ", ".join(h["kinds"])} for h in hooks]  # type: ignore[arg-type]


@webhook_app.command("create")
def webhook_create(project: str, target_url: Annotated[str, typer.Argument(
                       metavar="URL", help="http(s) URL that receives a POST per matching event")],
                   kind: Kinds = None,
                   secret: Annotated[Optional[str], typer.Option(  # noqa: UP045
                       help="16-256 characters, the HMAC-SHA256 key of X-LineageReg-Signature "
                            "(env LINEAGE_REG_WEBHOOK_SECRET; prompted for when left out)",
                       envvar="LINEAGE_REG_WEBHOOK_SECRET")] = None,
                   collection: Annotated[Optional[str], typer.Option(  # noqa: UP045
                       help="project/name: only this collection's events")] = None,
                   alias_pattern: Annotated[Optional[str], typer.Option(  # noqa: UP045
                       help="glob on the alias, e.g. 'prod*': only alias events")] = None,
                   as_json: Json = False, url: Url = None) -> None:
    """Send PROJECT's events of each --kind to URL, signed with --secret; print the webhook's id."""
    if not kind:
        raise typer.BadParameter("name at least one event kind with --kind, e.g. --kind alias.set",
                                 param_hint="--kind")
    key = secret or typer.prompt("secret", hide_input=True)
    with session(url) as reg:
        hook = reg.create_webhook(project, target_url, kinds=kind, secret=key, collection=collection,
                                  alias_pattern=alias_pattern)
    if as_json:
        emit(hook)
    else:
        out.print(f"created webhook {hook['id']} -> {hook['url']} ({', '.join(hook['kinds'])})",
                  highlight=False, markup=False, soft_wrap=True)


@webhook_app.command("ls")
def webhook_ls(project: str, as_json: Json = False, url: Url = None) -> None:
    """PROJECT's webhooks (never their secrets)."""
    with session(url) as reg:
        hooks = reg.webhooks(project)
    table(hooks if as_json else _webhook_rows(hooks), WEBHOOK_COLUMNS, as_json)


@webhook_app.command("update")
def webhook_update(id: str, target_url: Annotated[Optional[str], typer.Option(  # noqa: UP045
                       "--target-url", help="a new receiving URL")] = None,
                   kind: Kinds = None,
                   secret: Annotated[Optional[str], typer.Option(help="a new signing secret")] = None,  # noqa: UP045
                   collection: Annotated[Optional[str], typer.Option(  # noqa: UP045
                       help="project/name; '' removes the filter")] = None,
                   alias_pattern: Annotated[Optional[str], typer.Option(  # noqa: UP045
                       help="glob on the alias; '' removes the filter")] = None,
                   active: Annotated[Optional[bool], typer.Option(  # noqa: UP045
                       "--active/--paused", help="resume or pause deliveries")] = None,
                   as_json: Json = False, url: Url = None) -> None:
    """Change webhook ID; what is left out stays as it is."""
    with session(url) as reg:
        hook = reg.update_webhook(id, url=target_url, kinds=kind or None, secret=secret, collection=collection,
                                  alias_pattern=alias_pattern, active=active)
    table([hook] if as_json else _webhook_rows([hook]), WEBHOOK_COLUMNS, as_json)


@webhook_app.command("ping")
def webhook_ping(id: str, as_json: Json = False, url: Url = None) -> None:
    """Send a `ping` delivery to webhook ID (see it with `webhook deliveries ID`)."""
    with session(url) as reg:
        delivery = reg.ping_webhook(id)
    if as_json:
        emit(delivery)
    else:
        out.print(f"ping {delivery['id']}: {delivery['status'].lower()}", highlight=False, markup=False,
                  soft_wrap=True)


@webhook_app.command("deliveries")
def webhook_deliveries(id: str, first: Annotated[int, typer.Option(help="how many, newest first")] = 20,
                       as_json: Json = False, url: Url = None) -> None:
    """The most recent deliveries of webhook ID: status, attempts, the receiver's last answer."""
    with session(url) as reg:
        rows = reg.deliveries(id, first=first)
    if not as_json:
        rows = [{**r, "status": r["status"].lower(), "event": (r.get("event") or {}).get("sequence")} for r in rows]
    table(rows, ["id", "kind", "event", "status", "attempts", "lastStatusCode", "lastError", "createdAt",
                 "deliveredAt"], as_json)


@webhook_app.command("rm")
def webhook_rm(id: str, url: Url = None) -> None:
    """Delete webhook ID and its delivery history."""
    with session(url) as reg:
        reg.delete_webhook(id)
    out.print(f"deleted webhook {id}", highlight=False, markup=False, soft_wrap=True)


class ProjectRole(str, Enum):
    viewer = "viewer"
    member = "member"
    admin = "admin"


MEMBER_COLUMNS = ["user", "role", "createdAt", "createdBy"]


def _members(project: str, rows: list[dict[str, object]], as_json: bool) -> None:
    if rows or as_json:
        table(rows, MEMBER_COLUMNS, as_json)
    else:
        out.print(f"no members in {project} (global roles still count)", highlight=False, markup=False)


@member_app.command("add")
def member_add(project: str, user: Annotated[str, typer.Argument(help="the name its tokens were created with")],
               role: Annotated[ProjectRole, typer.Option(help="viewer (reads), member (writes), admin")
                               ] = ProjectRole.viewer,
               as_json: Json = False, url: Url = None) -> None:
    """Give USER a role in PROJECT (replacing the one it had there); print the project's members."""
    with session(url) as reg:
        _members(project, reg.add_member(project, user, role.value), as_json)


@member_app.command("ls")
def member_ls(project: str, as_json: Json = False, url: Url = None) -> None:
    """Who has which role in PROJECT."""
    with session(url) as reg:
        _members(project, reg.members(project), as_json)


@member_app.command("rm")
def member_rm(project: str, user: str, as_json: Json = False, url: Url = None) -> None:
    """Take USER's role in PROJECT away (a global role stays); print the members left."""
    with session(url) as reg:
        _members(project, reg.remove_member(project, user), as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(tag_app, name="tag")
    app.add_typer(webhook_app, name="webhook")
    app.add_typer(member_app, name="member")
