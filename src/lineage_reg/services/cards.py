"""Model cards: a registered model's or a version's documentation, as markdown plus structured fields.

``fields`` follows the Hugging Face model-card metadata keys where one exists (``license``, ``language``,
``tags``, ``pipeline_tag``, ``intended_use``, ``limitations``, ``ethical_considerations`` …); unknown keys are
kept. Markdown is stored and returned as text: rendering it (safely) is the client's job. Every change is a
``card.updated`` event with the previous markdown and fields, so the card's history is in the model's history.
"""

from __future__ import annotations

import json
from typing import Any

from .. import ids
from ..errors import BadInput, NotFound
from ..records import CollectionRec, ModelCardRec
from ..store import cards as store
from ..store import projects as project_store
from . import find
from .comments import target_key
from .runtime import Runtime, Tx, write

MAX_MARKDOWN = 256 * 1024  # characters
MAX_FIELDS_BYTES = 64 * 1024  # as JSON
TARGET_TYPES = ("RegisteredModel", "ArtifactVersion")


def empty(target: str, project_id: int) -> ModelCardRec:
    return ModelCardRec(target=target, project_id=project_id, markdown="", fields={}, updated_at=None,
                        updated_by=None)


def check_card(markdown: str | None, fields: Any) -> None:
    if markdown is None and fields is None:
        raise BadInput("give markdown, fields or both: a card update with neither changes nothing")
    if markdown is not None and len(markdown) > MAX_MARKDOWN:
        raise BadInput(f"markdown is {len(markdown):,} characters; a card holds at most {MAX_MARKDOWN:,}")
    if fields is not None:
        if not isinstance(fields, dict):
            raise BadInput(f"fields must be a JSON object (Hugging Face card metadata keys), got "
                           f"{type(fields).__name__}")
        size = len(json.dumps(fields).encode())
        if size > MAX_FIELDS_BYTES:
            raise BadInput(f"fields are {size:,} bytes as JSON; at most {MAX_FIELDS_BYTES:,}")


async def _target(tx: Tx, global_id: str) -> tuple[str, int, CollectionRec]:
    type_name, row_id = ids.decode(global_id, *TARGET_TYPES)
    coll_id = (await find.version_by_id(tx.conn, row_id)).artifact_id if type_name == "ArtifactVersion" else row_id
    coll = (await project_store.collections_by_id(tx.conn, [coll_id])).get(coll_id)
    if coll is None or (type_name == "RegisteredModel" and coll.kind != "model"):
        raise NotFound(f"{type_name} {global_id} not found")
    return target_key(type_name, row_id), coll.project_id, coll


async def update(rt: Runtime, *, actor: str | None, target: str, markdown: str | None,
                 fields: Any) -> ModelCardRec:
    """Replace the card's markdown and/or fields (each replaced whole); the card afterwards."""
    check_card(markdown, fields)

    async def work(tx: Tx) -> ModelCardRec:
        key, project_id, coll = await _target(tx, target)
        before = await store.locked(tx.conn, key) or empty(key, project_id)
        after_markdown = before.markdown if markdown is None else markdown
        after_fields = before.fields if fields is None else fields
        if (after_markdown, after_fields) == (before.markdown, before.fields):
            return before
        await store.upsert(tx.conn, tx.dialect, dict(target=key, project_id=project_id, markdown=after_markdown,
                                                     fields=after_fields, updated_at=tx.at, updated_by=tx.actor))
        changed = [n for n, new, old in (("markdown", after_markdown, before.markdown),
                                         ("fields", after_fields, before.fields)) if new != old]
        await tx.event("card.updated", project_id=project_id, project=coll.project, collection=coll,
                       target=target, changed=changed, previous={"markdown": before.markdown,
                                                                 "fields": before.fields})
        return (await store.of_targets(tx.conn, [key]))[key]

    return await write(rt, actor=actor, work=work)
