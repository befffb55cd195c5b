"""Aliases: movable names on versions, one target per (collection, alias), every move an event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import refs
from ..errors import BadInput, Conflict, Forbidden, NotFound
from ..store import events as event_store
from ..store import links as link_store
from ..records import AliasRec, CollectionRec, VersionRec
from . import approvals, find, protection
from .runtime import Runtime, Tx, write

LATEST = "latest"


async def move(tx: Tx, coll: CollectionRec, alias: str, version: VersionRec, **why: object) -> bool:
    """Point ``alias`` at ``version`` within ``coll``; False when it already did. ``why`` goes into the
    ``alias.set`` event's payload (the promotion request that moved it, a rollback's reason)."""
    previous = await link_store.alias_target(tx.conn, coll.id, alias, for_update=True)
    if previous == version.id:
        return False
    if previous is None:
        await link_store.insert_alias(tx.conn, coll.id, alias, version.id, tx.at)
    else:
        await link_store.update_alias(tx.conn, coll.id, alias, version.id, tx.at)
    await tx.event(
        "alias.set", project_id=coll.project_id, project=coll.project, collection=coll, alias=alias,
        from_version=previous, to_version=version.id, ref=version.ref, **why,
    )
    return True


async def apply(rt: Runtime, *, tx: Tx, coll: CollectionRec, alias: str, version: VersionRec,
                may_move_protected: bool, advice: str = "") -> bool:
    """Move an alias someone asked for: setAlias, linkVersion's aliases, a version's aliases on commit.

    Every such path comes through here (or ``check_movable``), so protection is read in the transaction that
    moves the alias: an alias protected after it was requested (a PENDING version's aliases, a concurrent
    setProtectedAliases) is never moved by someone who isn't an admin of the project."""
    await check_movable(rt, tx=tx, coll=coll, names=[alias], may_move_protected=may_move_protected, advice=advice)
    return await move(tx, coll, alias, version)


async def check_movable(rt: Runtime, *, tx: Tx, coll: CollectionRec, names: Sequence[str],
                        may_move_protected: bool, advice: str = "", doing: str = "moving") -> None:
    """APPROVAL_REQUIRED when an approval policy governs one of ``names`` (for everyone: only an approved
    promotion request moves it); FORBIDDEN, naming the alias, when one is protected on ``coll`` and the actor
    isn't an admin."""
    await approvals.check_ungoverned(tx, coll, names, doing=doing)
    await check_protection(rt, tx=tx, coll=coll, names=names, may_move_protected=may_move_protected, advice=advice)


async def check_protection(rt: Runtime, *, tx: Tx, coll: CollectionRec, names: Sequence[str],
                           may_move_protected: bool, advice: str = "") -> None:
    """FORBIDDEN, naming the alias, when one of ``names`` is protected on ``coll`` and the actor isn't an admin."""
    if may_move_protected or not names:
        return
    protected = await protection.protected_in(tx, rt.settings.protected_aliases, coll.project_id, coll.id)
    hit = sorted(set(names) & set(protected))
    if hit:
        rule = await protection.rule_in(tx, coll.project_id, coll.id)
        raise Forbidden(f"{hit[0]!r} is a protected alias of {coll.ref}: moving it needs the admin role in project "
                        f"{coll.project!r} (its admins, or a global admin); ask one of them to move it, or to "
                        f"change which aliases are protected, set by {rule}" + (f"; {advice}" if advice else ""),
                        alias=hit[0], collection=coll.ref, project=coll.project)


async def drop(tx: Tx, coll: CollectionRec, alias: str) -> bool:
    previous = await link_store.alias_target(tx.conn, coll.id, alias, for_update=True)
    if previous is None:
        return False
    await link_store.delete_alias(tx.conn, coll.id, alias)
    await tx.event(
        "alias.removed", project_id=coll.project_id, project=coll.project, collection=coll, alias=alias,
        from_version=previous,
    )
    return True


async def check_target(tx: Tx, coll: CollectionRec, version: VersionRec) -> None:
    """Only committed versions of the collection (or linked into it) can carry its aliases."""
    if version.state != "COMMITTED":
        raise BadInput(f"{version.ref} is {version.state}; only committed versions can carry aliases")
    if coll.kind == "artifact" and version.artifact_id != coll.id:
        raise BadInput(f"{version.ref} is not a version of {coll.ref}")
    if coll.kind == "model" and await link_store.link_for(tx.conn, coll.id, version.id) is None:
        raise BadInput(f"{version.ref} is not linked into {coll.ref}; link it with linkVersion first")


def check_settable(alias: str, coll: CollectionRec) -> str:
    refs.check_alias(alias)
    if alias == LATEST:
        raise BadInput(f"'latest' is maintained by the server on {coll.ref}; it cannot be set or removed by hand")
    return alias


@dataclass(frozen=True)
class AliasSet:
    """What ``set_alias`` did. ``created``: the collection had no alias of that name before (a typo makes a
    new alias rather than moving the intended one: ``note`` says so, naming the aliases it has)."""

    alias: AliasRec
    collection: CollectionRec
    version: VersionRec
    created: bool
    note: str | None


async def set_alias(rt: Runtime, *, actor: str | None, collection: str, alias: str, version: str,
                    may_move_protected: bool) -> AliasSet:
    coll_ref = refs.parse_collection(collection)

    async def work(tx: Tx) -> AliasSet:
        coll = await find.collection(tx.conn, coll_ref)
        check_settable(alias, coll)
        target = await find.version(tx.conn, version)
        await check_target(tx, coll, target)
        existing = [a.name for a in (await link_store.aliases_of_collections(tx.conn, [coll.id])).get(coll.id, [])]
        await apply(rt, tx=tx, coll=coll, alias=alias, version=target, may_move_protected=may_move_protected)
        created = alias not in existing
        note = None
        if created:
            others = find.closest_first(alias, existing)
            note = (f"created a new alias {alias!r} on {coll.ref}"
                    + (f"; its other aliases: {', '.join(others)}" if others else "")
                    + f"; if that was a typo, remove it with removeAlias(collection: {coll.ref!r}, alias: {alias!r})")
        return AliasSet(AliasRec(collection_id=coll.id, name=alias, version_id=target.id), coll, target, created, note)

    return await write(rt, actor=actor, work=work)


async def remove_alias(rt: Runtime, *, actor: str | None, collection: str, alias: str,
                       may_move_protected: bool) -> bool:
    coll_ref = refs.parse_collection(collection)

    async def work(tx: Tx) -> bool:
        coll = await find.collection(tx.conn, coll_ref)
        check_settable(alias, coll)
        await check_movable(rt, tx=tx, coll=coll, names=[alias], may_move_protected=may_move_protected,
                            doing="removing")
        if not await drop(tx, coll, alias):
            raise NotFound(f"alias {alias!r} is not set on {coll.ref}")
        return True

    return await write(rt, actor=actor, work=work)


MAX_REASON = 2000


async def rollback(rt: Runtime, *, actor: str | None, collection: str, alias: str, reason: str,
                   may_move_protected: bool) -> AliasSet:
    """Move ``alias`` back to the version it held before its last move, read from the event log.

    The emergency brake: no approval policy stops it, protection does (whoever may move the alias without a
    policy may roll it back). A rollback right after a rollback is refused (CONFLICT): two people pulling the
    brake at once must not undo each other and put the bad version back; moving forward again is a setAlias
    or a promotion request. The previous version must still be able to carry the alias (committed, and
    linked for a registered model)."""
    coll_ref = refs.parse_collection(collection)
    check_reason(reason)

    async def work(tx: Tx) -> AliasSet:
        coll = await find.collection(tx.conn, coll_ref)
        check_settable(alias, coll)
        await check_protection(rt, tx=tx, coll=coll, names=[alias], may_move_protected=may_move_protected)
        current = await link_store.alias_target(tx.conn, coll.id, alias, for_update=True)
        last = await event_store.last_alias_move(tx.conn, coll.id, alias)
        if last is None:
            raise NotFound(f"alias {alias!r} has never been set on {coll.ref}: there is nothing to roll back")
        if last.from_version_id is None:
            raise BadInput(f"{alias!r} on {coll.ref} held no version before its last move (event {last.id}, "
                           f"{last.at.isoformat()}): there is nothing to roll back to; aliasHistory lists its moves")
        if last.payload.get("rollback"):
            raise Conflict(f"the last move of {alias!r} on {coll.ref} was a rollback (by {last.actor or 'anonymous'} "
                           f"at {last.at.isoformat()}): rolling back again would undo it. To move it forward, use "
                           "setAlias or requestPromotion; aliasHistory lists its moves", alias=alias,
                           collection=coll.ref, event=last.id)
        target = await find.version_by_id(tx.conn, last.from_version_id)
        try:
            await check_target(tx, coll, target)
        except BadInput as exc:
            raise BadInput(f"cannot roll {alias!r} on {coll.ref} back to {target.ref}: {exc.message}",
                           alias=alias, collection=coll.ref, version=target.ref) from None
        await tx.event("alias.rolled_back", project_id=coll.project_id, project=coll.project, collection=coll,
                       alias=alias, from_version=current, to_version=target.id, ref=target.ref, reason=reason,
                       undoes=last.id)
        await move(tx, coll, alias, target, rollback=True, reason=reason)
        return AliasSet(AliasRec(collection_id=coll.id, name=alias, version_id=target.id), coll, target, False, None)

    return await write(rt, actor=actor, work=work)


def check_reason(reason: str | None, *, required: bool = True) -> None:
    if reason is None or not reason.strip():
        if required:
            raise BadInput("give a reason: it is recorded with the move, for whoever reads the history")
        return
    if len(reason) > MAX_REASON:
        raise BadInput(f"reason is {len(reason)} characters; at most {MAX_REASON}")
