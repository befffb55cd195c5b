"""Aliases: movable names on versions, one target per (collection, alias), every move an event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import refs
from ..errors import BadInput, Forbidden, NotFound
from ..store import links as link_store
from ..records import AliasRec, CollectionRec, VersionRec
from . import find, protection
from .runtime import Runtime, Tx, write

LATEST = "latest"


async def move(tx: Tx, coll: CollectionRec, alias: str, version: VersionRec) -> bool:
    """Point ``alias`` at ``version`` within ``coll``; False when it already did."""
    previous = await link_store.alias_target(tx.conn, coll.id, alias, for_update=True)
    if previous == version.id:
        return False
    if previous is None:
        await link_store.insert_alias(tx.conn, coll.id, alias, version.id, tx.at)
    else:
        await link_store.update_alias(tx.conn, coll.id, alias, version.id, tx.at)
    await tx.event(
        "alias.set", project_id=coll.project_id, project=coll.project, collection=coll, alias=alias,
        from_version=previous, to_version=version.id, ref=version.ref,
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
        await check_movable(rt, tx=tx, coll=coll, names=[alias], may_move_protected=may_move_protected)
        if not await drop(tx, coll, alias):
            raise NotFound(f"alias {alias!r} is not set on {coll.ref}")
        return True

    return await write(rt, actor=actor, work=work)
