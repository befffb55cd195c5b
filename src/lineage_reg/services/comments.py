"""Comments: annotations from collaborators on versions, registered models and promotion requests.

Anyone who may read the project may comment (a reviewer's question, an evaluator's note); the author edits and
deletes their own, a project admin any. Every change is an event (``comment.added``, ``comment.edited``,
``comment.deleted``) naming the comment, its target and its author — never its text: a comment deleted because
it held something it shouldn't must not live on in the append-only log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import ids
from ..errors import BadInput, Forbidden, NotFound
from ..records import CollectionRec, CommentRec
from ..store import comments as store
from ..store import projects as project_store
from ..store import promotions as promotion_store
from . import find
from .runtime import Runtime, Tx, write

MAX_TEXT = 10_000
TARGET_TYPES = ("ArtifactVersion", "RegisteredModel", "PromotionRequest")
_KEY = {"ArtifactVersion": "v", "RegisteredModel": "m", "PromotionRequest": "r"}
_TYPE = {key: type_name for type_name, key in _KEY.items()}
NOBODY = "anonymous"


def target_key(type_name: str, row_id: int) -> str:
    """How the comment table names a target (the list's parent): "v:12", "m:3", "r:7"."""
    return f"{_KEY[type_name]}:{row_id}"


def target_id(key: str) -> str:
    """The global id of the target a comment table key names."""
    kind, _, row_id = key.partition(":")
    return ids.encode(_TYPE[kind], int(row_id))


def check_text(text: str) -> str:
    if not text.strip():
        raise BadInput("a comment needs some text")
    if len(text) > MAX_TEXT:
        raise BadInput(f"a comment is at most {MAX_TEXT:,} characters; this one has {len(text):,}")
    return text


@dataclass(frozen=True)
class _Target:
    key: str
    project_id: int
    collection: CollectionRec  # for the event: the version's artifact, the model, the request's collection


async def _target(tx: Tx, global_id: str) -> _Target:
    type_name, row_id = ids.decode(global_id, *TARGET_TYPES)
    if type_name == "ArtifactVersion":
        version = await find.version_by_id(tx.conn, row_id)
        coll_id = version.artifact_id
    elif type_name == "RegisteredModel":
        coll_id = row_id
    else:
        request = (await promotion_store.by_id(tx.conn, [row_id])).get(row_id)
        if request is None:
            raise NotFound(f"promotion request {global_id} not found")
        coll_id = request.collection_id
    coll = (await project_store.collections_by_id(tx.conn, [coll_id])).get(coll_id)
    if coll is None or (type_name == "RegisteredModel" and coll.kind != "model"):
        raise NotFound(f"{type_name} {global_id} not found")
    return _Target(target_key(type_name, row_id), coll.project_id, coll)


def _payload(rec: CommentRec, target: str) -> dict[str, Any]:
    return dict(comment=ids.encode("Comment", rec.id), target=target, author=rec.author)


async def add(rt: Runtime, *, actor: str | None, target: str, text: str) -> CommentRec:
    check_text(text)

    async def work(tx: Tx) -> CommentRec:
        found = await _target(tx, target)
        rec = await store.insert(tx.conn, dict(project_id=found.project_id, target=found.key,
                                               author=tx.actor or NOBODY, text=text, at=tx.at))
        await tx.event("comment.added", project_id=found.project_id, project=found.collection.project,
                       collection=found.collection, **_payload(rec, target), length=len(text))
        return rec

    return await write(rt, actor=actor, work=work)


async def _owned(tx: Tx, comment_id: int, *, may_moderate: bool, doing: str) -> tuple[CommentRec, _Target]:
    rec = await store.locked(tx.conn, comment_id)
    if rec is None:
        raise NotFound(f"comment {ids.encode('Comment', comment_id)} not found")
    if not may_moderate and (tx.actor or NOBODY) != rec.author:
        raise Forbidden(f"only its author ({rec.author}) or someone with the admin role in the project may {doing} "
                        "this comment")
    return rec, await _target(tx, target_id(rec.target))


async def edit(rt: Runtime, *, actor: str | None, comment_id: int, text: str, may_moderate: bool) -> CommentRec:
    check_text(text)

    async def work(tx: Tx) -> CommentRec:
        rec, found = await _owned(tx, comment_id, may_moderate=may_moderate, doing="edit")
        if rec.text == text:
            return rec  # nothing changes: no event
        await store.set_text(tx.conn, rec.id, text, tx.at)
        await tx.event("comment.edited", project_id=found.project_id, project=found.collection.project,
                       collection=found.collection, **_payload(rec, target_id(found.key)), length=len(text))
        return (await store.by_id(tx.conn, [rec.id]))[rec.id]

    return await write(rt, actor=actor, work=work)


async def delete(rt: Runtime, *, actor: str | None, comment_id: int, may_moderate: bool) -> bool:
    async def work(tx: Tx) -> bool:
        rec, found = await _owned(tx, comment_id, may_moderate=may_moderate, doing="delete")
        await store.delete(tx.conn, rec.id)
        await tx.event("comment.deleted", project_id=found.project_id, project=found.collection.project,
                       collection=found.collection, **_payload(rec, target_id(found.key)))
        return True

    return await write(rt, actor=actor, work=work)
