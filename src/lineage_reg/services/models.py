"""Registered models and the links that put artifact versions into them."""

from __future__ import annotations

from collections.abc import Sequence

from .. import refs
from ..errors import BadInput, Conflict
from ..store import links as link_store
from ..store import projects as project_store
from ..records import CollectionRec, LinkRec
from . import aliases, approvals, find, promotions
from .projects import check_description
from .runtime import Runtime, Tx, write


async def _insert_model(tx: Tx, project: str, name: str, description: str | None) -> CollectionRec:
    proj = await find.project(tx.conn, project)
    await project_store.insert_collection(
        tx.conn, project_id=proj.id, name=name, kind="model", type=None,
        description=description, at=tx.at, actor=tx.actor,
    )
    coll = await project_store.collection_by_name(tx.conn, project, name)
    assert coll is not None
    await tx.event("model.created", project_id=proj.id, project=project, collection=coll)
    return coll


async def create_registered_model(
    rt: Runtime, *, actor: str | None, project: str, name: str, description: str | None = None
) -> CollectionRec:
    refs.check_project_name(project)
    refs.check_name(name, "registered model name")
    check_description(description)

    async def work(tx: Tx) -> CollectionRec:
        existing = await project_store.collection_by_name(tx.conn, project, name)
        if existing is not None:
            what = "registered model" if existing.kind == "model" else "an artifact"
            raise Conflict(f"{project}/{name} already exists as {what}; pick another name")
        return await _insert_model(tx, project, name, description)

    return await write(rt, actor=actor, work=work)


async def link_version(
    rt: Runtime, *, actor: str | None, version: str, registered_model: str, aliases_to_set: Sequence[str] = (),
    may_move_protected: bool,
) -> LinkRec:
    model_ref = refs.parse_collection(registered_model)
    wanted = sorted(set(aliases_to_set))
    for alias in wanted:
        refs.check_alias(alias)
        if alias == aliases.LATEST:
            raise BadInput("'latest' is set by the server on link; leave it out of aliases")

    async def work(tx: Tx) -> LinkRec:
        target = await find.version(tx.conn, version)
        if target.state != "COMMITTED":
            raise BadInput(f"{target.ref} is {target.state}; only committed versions can be linked")
        coll = await project_store.collection_by_name(tx.conn, model_ref.project, model_ref.name)
        if coll is None:
            coll = await _insert_model(tx, model_ref.project, model_ref.name, None)
        elif coll.kind != "model":
            raise Conflict(f"{model_ref} is an artifact, not a registered model; link into another name")
        await project_store.lock_collection(tx.conn, tx.dialect, coll.id)
        link = await link_store.link_for(tx.conn, coll.id, target.id)
        if link is None:
            index = await link_store.next_link_index(tx.conn, coll.id)
            await link_store.insert_link(tx.conn, model_id=coll.id, version_id=target.id, index=index,
                                         at=tx.at, actor=tx.actor)
            link = await link_store.link_for(tx.conn, coll.id, target.id)
            assert link is not None
            await tx.event("version.linked", project_id=coll.project_id, project=coll.project, collection=coll,
                           to_version=target.id, ref=link.ref, version=target.ref)
            await aliases.move(tx, coll, aliases.LATEST, target)
        for alias in wanted:
            await aliases.apply(rt, tx=tx, coll=coll, alias=alias, version=target,
                                may_move_protected=may_move_protected)
        return link

    return await write(rt, actor=actor, work=work)


async def unlink_version(rt: Runtime, *, actor: str | None, link: str) -> bool:
    """Remove a link; aliases it held go with it and ``latest`` falls back to the newest link left."""

    async def work(tx: Tx) -> bool:
        rec = await find.link(tx.conn, link)
        coll = (await project_store.collections_by_id(tx.conn, [rec.model_id]))[rec.model_id]
        await project_store.lock_collection(tx.conn, tx.dialect, coll.id)
        held = (await link_store.alias_names_of(tx.conn, [(coll.id, rec.version_id)]))[(coll.id, rec.version_id)]
        await approvals.check_ungoverned(tx, coll, held, doing="unlinking the version holding")
        for alias in held:
            await aliases.drop(tx, coll, alias)
        await promotions.cancel_naming(tx, await find.version_by_id(tx.conn, rec.version_id), collection=coll,
                                       why="version unlinked")
        await link_store.delete_link(tx.conn, rec.id)
        await tx.event("version.unlinked", project_id=coll.project_id, project=coll.project, collection=coll,
                       from_version=rec.version_id, ref=rec.ref)
        if aliases.LATEST in held:
            newest = await link_store.latest_link(tx.conn, coll.id)
            if newest is not None:
                await aliases.move(tx, coll, aliases.LATEST, await find.version_by_id(tx.conn, newest.version_id))
        return True

    return await write(rt, actor=actor, work=work)
