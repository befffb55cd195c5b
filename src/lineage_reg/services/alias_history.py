"""What an alias held, and when: read from the append-only event log, so it needs no state of its own.

Every move of an alias has written an ``alias.set`` or ``alias.removed`` event
since the first release (setAlias, linking, commits moving ``latest``, a
version deleted or unlinked, a promotion applied, a rollback), so the history
covers moves made before governance existed. ``aliasAt(T)`` is the newest move
at or before T; the list of moves is ``ListName.ALIAS_HISTORY``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .. import refs
from ..records import CollectionRec, VersionRec
from ..store import events as event_store
from . import find
from .runtime import Runtime


async def collection_of(rt: Runtime, *, collection: str, alias: str | None = None) -> CollectionRec:
    """The collection an alias history (or a list of its requests) is asked for; NOT_FOUND when it doesn't
    exist. ``alias``, when given, is checked too."""
    ref = refs.parse_collection(collection)
    if alias is not None:
        refs.check_alias(alias)
    async with rt.db.reader() as r:
        return await find.collection(r, ref)


async def holder_at(rt: Runtime, *, collection: str, alias: str, at: datetime) -> VersionRec | None:
    """The version ``alias`` pointed at in ``collection`` at time ``at`` (None: it pointed at none), whatever
    has happened to that version since (it may be DELETED now)."""
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)  # no zone: UTC, as everywhere else
    coll = await collection_of(rt, collection=collection, alias=alias)
    async with rt.db.reader() as r:
        move = await event_store.last_alias_move(r, coll.id, alias, at_or_before=at)
        if move is None or move.kind != "alias.set" or move.to_version_id is None:
            return None
        return await find.version_by_id(r, move.to_version_id)
