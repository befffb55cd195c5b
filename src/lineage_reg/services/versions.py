"""Artifact versions: create (PENDING, with upload targets), commit, tag.

Flow (DESIGN.md "Files"): the client sends a manifest; the server records a
PENDING version and answers upload targets for blobs it lacks; the client
uploads; commit checks every blob is present, flips the version to COMMITTED,
moves ``latest`` and applies the requested aliases, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import ids, refs
from ..records import UploadTarget
from ..errors import BadInput, BlobUnknown, Conflict, LimitExceeded, VersionCommitted
from ..store import links as link_store
from ..store import projects as project_store
from ..store import runs as run_store
from ..store import uploads as upload_store
from ..store import versions as version_store
from ..records import CollectionRec, FileRec, VersionRec
from ..clock import utcnow
from . import aliases, approvals, find, promotions
from . import blobs as blob_service
from .manifest import FileIn, check_known_sizes, check_manifest, digest, size_mismatch
from .projects import check_description
from .runs import check_json_object
from .runtime import Runtime, Tx, write


@dataclass
class Created:
    version: VersionRec
    uploads: list[UploadTarget]
    deduplicated: bool


async def create_version(
    rt: Runtime, *, actor: str | None, base_url: str, project: str, artifact: str, type: str,
    files: Sequence[FileIn], metadata: Any = None, description: str | None = None,
    aliases_on_commit: Sequence[str] | None = None, run: str | None = None, may_move_protected: bool,
) -> Created:
    refs.check_project_name(project)
    refs.check_name(artifact, "artifact name")
    refs.check_name(type, "artifact type")
    manifest = check_manifest(files)
    metadata = check_json_object(metadata, "metadata")
    check_description(description)
    wanted = sorted(set(aliases_on_commit or ()))
    for alias in wanted:
        refs.check_alias(alias)
        if alias == aliases.LATEST:
            raise BadInput("'latest' is set by the server on commit; leave it out of aliases")
    version_digest = digest(manifest)

    async def work(tx: Tx) -> tuple[VersionRec, str, dict[str, str], set[str]]:
        proj = await find.project(tx.conn, project)
        producer = await find.run(tx.conn, run) if run else None
        if producer is not None and producer.project_id != proj.id:
            raise BadInput(f"run {run} belongs to another project than {project!r}")
        coll = await _artifact(tx, proj.id, project, artifact, type)
        stored = await version_store.blob_sizes(tx.conn, sorted({f.sha256 for f in manifest}))
        check_known_sizes(manifest, stored)
        # What to ask the client to upload, read once here (the same read checks the sizes).
        missing = {f.sha256 for f in manifest} - stored.keys()
        await project_store.lock_collection(tx.conn, tx.dialect, coll.id)
        # Refused here already so nobody uploads for nothing; commit checks again (protection may change).
        await aliases.check_movable(rt, tx=tx, coll=coll, names=wanted, may_move_protected=may_move_protected)
        latest = await version_store.latest_committed(tx.conn, coll.id)
        if latest is not None and latest.digest == version_digest:
            return latest, "deduplicated", {}, set()
        pending = await version_store.pending_with_digest(tx.conn, coll.id, version_digest)
        if pending is not None:
            # A retried create: same version, what is left of its uploads, the same sessions. The latest create
            # says which aliases its commit applies (how to drop one that became protected meanwhile).
            await version_store.set_pending_aliases(tx.conn, pending.id, wanted)
            return pending, "resumed", await _bounded_sessions(rt, tx, pending.id, manifest, stored), missing
        index = await version_store.next_index(tx.conn, coll.id)
        values = dict(
            artifact_id=coll.id, index=index, digest=version_digest, state="PENDING",
            size=sum(f.size for f in manifest), file_count=len(manifest), metadata=metadata,
            description=description, tags=[], pending_aliases=wanted,
            run_id=producer.id if producer else None, created_by=tx.actor, created_at=tx.at, committed_at=None,
        )
        version_id = await version_store.insert_version(tx.conn, values, manifest)
        if producer is not None:
            await run_store.add_edge(tx.conn, tx.dialect, ("r", producer.id), ("v", version_id), tx.at)
        rec = await find.version_by_id(tx.conn, version_id)
        await tx.event("version.created", project_id=proj.id, project=project, collection=coll,
                       to_version=version_id, ref=rec.ref, digest=version_digest)
        return rec, "new", await _bounded_sessions(rt, tx, version_id, manifest, stored), missing

    version, how, sessions, missing = await write(rt, actor=actor, work=work)
    uploads: list[UploadTarget] = []
    if how != "deduplicated":
        sizes = {f.sha256: f.size for f in manifest}
        if how == "resumed" and missing:
            # An upload interrupted and run again: blobs the store already holds (S3 objects the database
            # learns of only at commit) are not asked for twice. Commit still verifies every one.
            missing = set(await blob_service.not_held(rt, sizes={sha: sizes[sha] for sha in missing}))
        uploads = [await rt.blobs.upload_target(sha, sizes[sha], base_url, resume=sessions.get(sha))
                   for sha in sorted(missing)]
        opened = {u.sha256: u.upload_id for u in uploads if u.upload_id and u.upload_id != sessions.get(u.sha256)}
        if opened:
            await rt.db.transaction(lambda conn: upload_store.replace(conn, version.id, opened, actor=actor, at=utcnow()))
    return Created(version=version, uploads=uploads, deduplicated=how == "deduplicated")


async def _bounded_sessions(rt: Runtime, tx: Tx, version_id: int, manifest: list[FileRec],
                            stored: dict[str, int]) -> dict[str, str]:
    """The version's live upload sessions (sha256 -> upload id), once the ones this request would open are
    known to fit the per-version and per-token bounds; raising here rolls the whole create back. ``stored``:
    the manifest's blobs the database holds (read in this transaction)."""
    threshold = rt.blobs.multipart_threshold
    large = sorted({f.sha256 for f in manifest if f.size > threshold})
    if not large:
        return {}
    existing = await upload_store.of_version(tx.conn, version_id)
    opening = [sha for sha in large if sha not in existing and sha not in stored]
    if not opening:
        return existing
    per_version, per_token = rt.settings.max_upload_sessions_per_version, rt.settings.max_upload_sessions_per_token
    if len(existing) + len(opening) > per_version:
        raise LimitExceeded(
            f"this version needs {len(existing) + len(opening)} multipart uploads (files over {threshold} bytes not "
            f"stored yet); a version may have at most {per_version} at once: split the files into several versions "
            "(an operator may raise LINEAGE_REG_MAX_UPLOAD_SESSIONS_PER_VERSION)")
    held = await upload_store.live_count_of(tx.conn, tx.actor)
    if held + len(opening) > per_token:
        hours = f"{rt.settings.pending_ttl_seconds / 3600:g}"
        raise LimitExceeded(
            f"this token holds {held} unfinished multipart uploads and this version would open {len(opening)} more; "
            f"at most {per_token}: finish them (createArtifactVersion again with the same files returns the same "
            f"uploads to resume), or wait until their pending versions expire ({hours} h after creation)")
    return existing


async def _artifact(tx: Tx, project_id: int, project: str, name: str, type: str) -> CollectionRec:
    coll = await project_store.collection_by_name(tx.conn, project, name)
    if coll is None:
        await project_store.insert_collection(
            tx.conn, project_id=project_id, name=name, kind="artifact", type=type,
            description=None, at=tx.at, actor=tx.actor,
        )
        coll = await project_store.collection_by_name(tx.conn, project, name)
        assert coll is not None
        await tx.event("artifact.created", project_id=project_id, project=project, collection=coll, type=type)
    if coll.kind != "artifact":
        raise Conflict(f"{project}/{name} is a registered model; artifacts and registered models share names")
    if coll.type != type:
        raise Conflict(f"artifact {project}/{name} has type {coll.type!r}, not {type!r}; use the same type or another name")
    return coll


PROTECTED_ON_COMMIT = ("this version asks for it on commit: an admin of the project can commit it, or call "
                       "createArtifactVersion again with the same files and without that alias, then commit")


async def commit_version(rt: Runtime, *, actor: str | None, version: str, may_move_protected: bool) -> VersionRec:
    version_id = ids.decode_as(version, "ArtifactVersion")
    # Slow store checks (S3: HEAD, hashing) stay outside the transaction; it re-checks the rows. A version that
    # does not exist has no files, so no store traffic: the transaction's read answers NOT_FOUND.
    await blob_service.verify_missing(rt, version_id=version_id)

    async def work(tx: Tx) -> VersionRec:
        rec = await find.version_by_id(tx.conn, version_id)
        # The collection's lock first (the order every writer takes), then, if one was taken, the row again
        # under its own (where none is needed, the transaction is serialised and the row read is current).
        if await project_store.lock_collection(tx.conn, tx.dialect, rec.artifact_id):
            rec = await find.version_by_id(tx.conn, version_id, for_update=True)
        if rec.state == "COMMITTED":
            raise VersionCommitted(f"{rec.ref} is already committed; committed versions never change")
        if rec.state != "PENDING":
            raise BadInput(f"{rec.ref} is {rec.state} and cannot be committed")
        unsettled = await version_store.unsettled_files(tx.conn, rec.id)
        if unsettled.size_conflict is not None:  # a blob stored since create, by another upload of the same bytes
            raise size_mismatch(*unsettled.size_conflict)
        if missing := unsettled.missing:
            raise BlobUnknown(
                f"{len(missing)} blob(s) of {rec.ref} were never uploaded (first: {missing[0]}); "
                "upload every target createArtifactVersion returned, then commit",
                missing=missing,
            )
        await version_store.mark_committed(tx.conn, rec.id, tx.at)
        rec.state, rec.committed_at = "COMMITTED", tx.at
        coll = (await project_store.collections_by_id(tx.conn, [rec.artifact_id]))[rec.artifact_id]
        await tx.event("version.committed", project_id=coll.project_id, project=coll.project, collection=coll,
                       to_version=rec.id, ref=rec.ref, digest=rec.digest)
        latest = await version_store.latest_committed(tx.conn, coll.id)
        if latest is not None and latest.id == rec.id:
            await aliases.move(tx, coll, aliases.LATEST, rec)
        for alias in await version_store.pending_aliases(tx.conn, rec.id):
            await aliases.apply(rt, tx=tx, coll=coll, alias=alias, version=rec, may_move_protected=may_move_protected,
                                advice=PROTECTED_ON_COMMIT)
        return rec

    return await write(rt, actor=actor, work=work)


async def delete_version(rt: Runtime, *, actor: str | None, version: str) -> VersionRec:
    """Soft-delete: DELETED, unlinked everywhere, aliases removed (``latest`` falls back), events written.

    The rows stay for the audit trail; garbage collection frees blobs that no
    other version references.
    """

    async def work(tx: Tx) -> VersionRec:
        rec = await find.version(tx.conn, version)
        await project_store.lock_collection(tx.conn, tx.dialect, rec.artifact_id)
        rec = await find.version_by_id(tx.conn, rec.id, for_update=True)
        if rec.state == "DELETED":
            raise BadInput(f"{rec.ref} is already deleted")
        held = await link_store.aliases_on_version(tx.conn, rec.id)
        collections = await project_store.collections_by_id(tx.conn, sorted({c for c, _ in held} | {rec.artifact_id}))
        for coll_id, alias in held:
            await approvals.check_ungoverned(tx, collections[coll_id], [alias], doing="deleting the version holding")
        for coll_id, alias in held:
            await aliases.drop(tx, collections[coll_id], alias)
        await promotions.cancel_naming(tx, rec, collection=None, why="version deleted")
        await version_store.mark_deleted(tx.conn, rec.id)
        for link in (await link_store.links_of_versions(tx.conn, [rec.id]))[rec.id]:
            model = (await project_store.collections_by_id(tx.conn, [link.model_id]))[link.model_id]
            await link_store.delete_link(tx.conn, link.id)
            await tx.event("version.unlinked", project_id=model.project_id, project=model.project, collection=model,
                           from_version=rec.id, ref=link.ref)
            if (link.model_id, aliases.LATEST) in held:
                newest = await link_store.latest_link(tx.conn, link.model_id)
                if newest is not None:
                    await aliases.move(tx, model, aliases.LATEST, await find.version_by_id(tx.conn, newest.version_id))
        artifact = collections[rec.artifact_id]
        await tx.event("version.deleted", project_id=artifact.project_id, project=artifact.project,
                       collection=artifact, from_version=rec.id, ref=rec.ref)
        if (rec.artifact_id, aliases.LATEST) in held:
            newest_version = await version_store.latest_committed(tx.conn, rec.artifact_id)
            if newest_version is not None:
                await aliases.move(tx, artifact, aliases.LATEST, newest_version)
        rec.state = "DELETED"
        return rec

    return await write(rt, actor=actor, work=work)
