"""What mutations answer beyond a plain object: where to upload blobs, and createArtifactVersion's payload."""

from __future__ import annotations

import strawberry

from ...records import UploadTarget as BlobTarget
from .artifacts import ArtifactVersion
from .common import JSON


@strawberry.type(description="One slice of a multipart upload: PUT bytes [offset, offset+size) to url, keep the ETag.")
class UploadPart:
    number: int
    url: str
    offset: float
    size: float


@strawberry.type(
    description="Where to send one blob. Without `parts`: send the whole file with `method` to `url` and `headers`. "
    "With `parts` (files above the multipart threshold): send each slice to its part URL, then call completeUpload "
    "with `uploadId` and every part's ETag."
)
class UploadTarget:
    sha256: str
    url: str
    method: str
    headers: JSON
    upload_id: str | None
    parts: list[UploadPart]

    @classmethod
    def of(cls, target: BlobTarget) -> UploadTarget:
        parts = [UploadPart(number=p.number, url=p.url, offset=p.offset, size=p.size) for p in target.parts]
        return cls(sha256=target.sha256, url=target.url, method=target.method, headers=target.headers,
                   upload_id=target.upload_id, parts=parts)


@strawberry.type
class CreateVersionPayload:
    version: ArtifactVersion
    uploads: list[UploadTarget] = strawberry.field(description="Blobs the server does not have yet; upload each, then commit.")
    deduplicated: bool = strawberry.field(
        description="True when an identical committed version already existed and was returned."
    )
