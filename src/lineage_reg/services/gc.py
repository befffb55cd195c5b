"""Garbage collection: no blob ever lost, none leaked.

1. PENDING versions older than the TTL are abandoned (state DELETED, event written).
2. Blob rows no live version references, older than the grace window, are
   deleted (re-checked in the deleting statement), then their bytes.
3. Objects in the store with no blob row and no live reference, older than the
   grace window, are deleted: uploads that never got committed.
4. Unfinished uploads (multipart uploads, temporary and part files) older than
   the grace window are aborted, whatever blob they are for, unless a live upload
   session owns them (its version PENDING, its blob not stored yet): that keeps
   a resumable upload whose store misreports its start time. Sessions no longer
   live are forgotten.

The grace window keeps in-flight uploads safe; a blob shared with any live
version is never touched. ``dry_run`` reports and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from ..store import gc as gc_store
from ..store import projects as project_store
from ..store import uploads as upload_store
from ..clock import utcnow
from .runtime import Runtime, Tx, write

BATCH = 1000


@dataclass
class GcReport:
    abandoned_versions: list[str] = field(default_factory=list)
    deleted_blobs: list[str] = field(default_factory=list)
    orphan_objects: list[str] = field(default_factory=list)
    aborted_uploads: list[str] = field(default_factory=list)
    freed_bytes: int = 0

    def lines(self) -> list[str]:
        return (
            [f"abandoned pending version {v}" for v in self.abandoned_versions]
            + [f"unreferenced blob {b}" for b in self.deleted_blobs]
            + [f"orphan object {b}" for b in self.orphan_objects]
            + [f"unfinished upload: {u}" for u in self.aborted_uploads]
        )


async def collect(rt: Runtime, *, now: datetime | None = None, dry_run: bool = False) -> GcReport:
    now = now or utcnow()
    pending_cutoff = now - timedelta(seconds=rt.settings.pending_ttl_seconds)
    grace_cutoff = now - timedelta(seconds=rt.settings.gc_grace_seconds)
    report = GcReport()
    await _abandon_pending(rt, pending_cutoff, dry_run, report)
    await _delete_unreferenced(rt, grace_cutoff, dry_run, report)
    await _delete_orphans(rt, grace_cutoff, dry_run, report)
    await _abort_uploads(rt, grace_cutoff, dry_run, report)
    return report


async def _abort_uploads(rt: Runtime, cutoff: datetime, dry_run: bool, report: GcReport) -> None:
    stale = [u for u in await rt.blobs.list_uploads() if u.started < cutoff]
    async with rt.db.reader() as r:
        owned = await upload_store.live_among(r, [u.upload_id for u in stale if u.upload_id])
    for upload in stale:
        if upload.upload_id in owned:
            continue
        if not dry_run:
            await rt.blobs.abort_upload(upload)
        report.aborted_uploads.append(upload.description)
        report.freed_bytes += upload.size
    if not dry_run:
        await rt.db.transaction(upload_store.delete_dead)


async def _abandon_pending(rt: Runtime, cutoff: datetime, dry_run: bool, report: GcReport) -> None:
    async with rt.db.reader() as r:
        stale = await gc_store.abandoned_pending(r, cutoff)
    for version in stale:
        report.abandoned_versions.append(version.ref)
        if dry_run:
            continue

        async def work(tx: Tx, version_id: int = version.id, ref: str = version.ref, artifact_id: int = version.artifact_id) -> None:
            if await gc_store.mark_abandoned(tx.conn, version_id):
                coll = (await project_store.collections_by_id(tx.conn, [artifact_id]))[artifact_id]
                await tx.event("version.abandoned", project_id=coll.project_id, project=coll.project,
                               collection=coll, from_version=version_id, ref=ref)

        await write(rt, actor="gc", work=work)


async def _delete_unreferenced(rt: Runtime, cutoff: datetime, dry_run: bool, report: GcReport) -> None:
    async with rt.db.reader() as r:
        candidates = await gc_store.unreferenced_blobs(r, cutoff)
    for sha, size in candidates:
        if dry_run:
            report.deleted_blobs.append(sha)
            report.freed_bytes += size
            continue
        # The row goes first, conditionally; then the bytes. A crash in between leaves an
        # orphan object, which step 3 of a later run removes.
        if await rt.db.transaction(partial(gc_store.delete_blob_if_unreferenced, sha256=sha)):
            await rt.blobs.delete(sha)
            report.deleted_blobs.append(sha)
            report.freed_bytes += size


async def _delete_orphans(rt: Runtime, cutoff: datetime, dry_run: bool, report: GcReport) -> None:
    batch: list[tuple[str, int]] = []

    async def flush() -> None:
        async with rt.db.reader() as r:
            keep = await gc_store.known_or_referenced(r, [sha for sha, _ in batch])
        for sha, size in batch:
            if sha in keep:
                continue
            if not dry_run:
                await rt.blobs.delete(sha)
            report.orphan_objects.append(sha)
            report.freed_bytes += size
        batch.clear()

    async for blob in rt.blobs.list_blobs():
        if blob.modified < cutoff:
            batch.append((blob.sha256, blob.size))
            if len(batch) >= BATCH:
                await flush()
    if batch:
        await flush()
