"""The webhook outbox: deliveries are written in the same transaction as the events they carry.

So a delivery exists exactly when its event committed, and a crash after the
commit loses nothing: the dispatcher finds the row when it next looks.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from .. import ids
from ..store import versions as version_store
from ..store import webhooks as webhook_store
from ..records import EventRec, WebhookRec
from ..clock import utcnow
from ..store.db import Conn

MAX_FILES_IN_PAYLOAD = 1000


def matches(hook: WebhookRec, event: EventRec) -> bool:
    return (
        hook.project_id == event.project_id
        and event.kind in hook.kinds
        and (hook.collection_id is None or hook.collection_id == event.collection_id)
        and (hook.alias_pattern is None or (event.alias is not None and fnmatchcase(event.alias, hook.alias_pattern)))
    )


async def _version_info(conn: Conn, version_id: int | None) -> dict[str, Any] | None:
    if version_id is None:
        return None
    v = await version_store.version_by_id(conn, version_id)
    if v is None:
        return None
    files = (await version_store.files_of(conn, [v.id])).get(v.id, [])
    return {
        "id": ids.encode("ArtifactVersion", v.id), "ref": v.ref, "digest": v.digest, "state": v.state,
        "size": v.size, "fileCount": v.file_count, "metadata": v.metadata,
        # Download links expire, so a delivery carries what is needed to fetch fresh ones
        # (`resolve(ref) { files { downloadUrl } }` or `lineage-reg get <ref>`) and to verify them.
        "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in files[:MAX_FILES_IN_PAYLOAD]],
        "filesTruncated": len(files) > MAX_FILES_IN_PAYLOAD,
    }


async def event_payload(conn: Conn, event: EventRec) -> dict[str, Any]:
    return {
        "kind": event.kind, "sequence": event.id, "at": event.at.isoformat(), "actor": event.actor,
        "project": event.project,
        "collection": f"{event.project}/{event.collection}" if event.collection else None,
        "alias": event.alias,
        "version": await _version_info(conn, event.to_version_id),
        "previous": await _version_info(conn, event.from_version_id),
        "details": event.payload,
    }


async def enqueue(conn: Conn, events: list[EventRec]) -> int:
    """Write one delivery per (event, webhook that wants it); returns how many."""
    # Registry events (no project) go to no webhook: webhooks are a project's.
    hooks = await webhook_store.active_webhooks_of(conn, sorted({e.project_id for e in events
                                                                 if e.project_id is not None}))
    if not hooks:
        return 0
    rows: list[dict[str, Any]] = []
    for event in events:
        wanted = [h for h in hooks if matches(h, event)]
        if not wanted:
            continue
        payload = await event_payload(conn, event)
        now = utcnow()
        rows += [dict(webhook_id=h.id, event_id=event.id, kind=event.kind, payload=payload,
                      status=webhook_store.PENDING, attempts=0, created_at=now, next_attempt_at=now) for h in wanted]
    await webhook_store.insert_deliveries(conn, rows)
    return len(rows)
