"""Blobs in any S3-compatible store, through aiobotocore. Bytes never pass through this server.

Uploads are presigned PUTs carrying ``x-amz-checksum-sha256`` (a store that
honours it rejects wrong bytes itself) and ``If-None-Match: *`` (an object,
once there, is never replaced: a link still valid after commit cannot change
a verified blob); above the multipart threshold, presigned part uploads plus
``completeUpload``, also conditional. Integrity never depends on the
store enforcing checksums (moto's server, for one, does not): commit checks
presence and size with HEAD and, in ``full`` mode, streams the object through
a hasher; in ``checksum`` mode it trusts a SHA-256 checksum the store reports.
A mismatching object is deleted.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from ..errors import BadInput, DigestInvalid
from ..records import UploadPart, UploadTarget
from .base import MiB, PendingUpload, StoredBlob, plan_parts

VERIFY_MODES = ("full", "checksum")


def parse_storage_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"storage URL {url!r}: write s3://bucket/prefix")
    return parts.netloc, parts.path.strip("/")


class S3BlobStore:
    def __init__(
        self, url: str, *, endpoint_url: str | None = None, region: str | None = None,
        link_ttl_seconds: int = 3600, verify: str = "full",
        multipart_threshold: int = 64 * MiB, part_size: int = 64 * MiB,
    ) -> None:
        if verify not in VERIFY_MODES:
            raise ValueError(f"verify must be one of {VERIFY_MODES}")
        self.bucket, self.prefix = parse_storage_url(url)
        self.endpoint_url = endpoint_url
        self.region = region
        self.link_ttl_seconds = link_ttl_seconds
        self.verify_mode = verify
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self._client: Any = None
        self._client_cm: Any = None

    @property
    def blob_prefix(self) -> str:
        return f"{self.prefix}/blobs/" if self.prefix else "blobs/"

    def key(self, sha256: str) -> str:
        return f"{self.blob_prefix}{sha256[:2]}/{sha256}"

    async def start(self) -> None:
        config = AioConfig(signature_version="s3v4", s3={"addressing_style": "path"},
                           max_pool_connections=32)
        self._client_cm = get_session().create_client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config
        )
        self._client = await self._client_cm.__aenter__()

    async def stop(self) -> None:
        if self._client_cm is not None:
            await self._client_cm.__aexit__(None, None, None)
            self._client = self._client_cm = None

    async def _presign(self, method: str, **params: Any) -> str:
        return str(await self._client.generate_presigned_url(
            method, Params={"Bucket": self.bucket, **params}, ExpiresIn=self.link_ttl_seconds
        ))

    async def upload_target(self, sha256: str, size: int, base_url: str, *, resume: str | None = None) -> UploadTarget:
        key = self.key(sha256)
        if size <= self.multipart_threshold:
            checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
            # If-None-Match: a link still valid after commit cannot replace the verified object (S3 answers 412).
            url = await self._presign("put_object", Key=key, ContentLength=size, ChecksumSHA256=checksum,
                                      IfNoneMatch="*")
            return UploadTarget(sha256=sha256, url=url, method="PUT",
                                headers={"x-amz-checksum-sha256": checksum, "Content-Type": "application/octet-stream",
                                         "If-None-Match": "*"})
        upload_id = resume if resume and await self._upload_exists(key, resume) else None
        if upload_id is None:
            upload_id = (await self._client.create_multipart_upload(Bucket=self.bucket, Key=key))["UploadId"]
        parts = []
        for number, offset, length in plan_parts(size, self.part_size):
            url = await self._presign("upload_part", Key=key, UploadId=upload_id, PartNumber=number,
                                      ContentLength=length)
            parts.append(UploadPart(number=number, url=url, offset=offset, size=length))
        return UploadTarget(sha256=sha256, url=parts[0].url, method="PUT", headers={}, upload_id=upload_id,
                            parts=tuple(parts))

    async def _upload_exists(self, key: str, upload_id: str) -> bool:
        try:
            await self._client.list_parts(Bucket=self.bucket, Key=key, UploadId=upload_id, MaxParts=1)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchUpload", "404", "NotFound"):
                return False
            raise
        return True

    async def complete_upload(self, sha256: str, size: int, upload_id: str, etags: dict[int, str]) -> None:
        expected = [n for n, _, _ in plan_parts(size, self.part_size)]
        if sorted(etags) != expected:
            raise BadInput(f"completeUpload needs the ETag of every part 1..{len(expected)}, got parts {sorted(etags)}")
        try:
            await self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key(sha256), UploadId=upload_id, IfNoneMatch="*",
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in expected]},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                # The object is there already (another upload of these bytes): it is never replaced; commit checks it.
                await self._client.abort_multipart_upload(Bucket=self.bucket, Key=self.key(sha256), UploadId=upload_id)
                return
            raise BadInput(f"the store refused to complete upload {upload_id}: "
                           f"{exc.response.get('Error', {}).get('Message', 'unknown error')}") from None

    async def holds(self, sha256: str, size: int) -> bool:
        try:
            head = await self._client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return bool(head["ContentLength"] == size)

    async def verify(self, sha256: str, size: int) -> bool:
        """Presence, size and sha256 of a stored object. ``full``: one GET gives the size and the bytes to hash;
        ``checksum``: a HEAD, trusting a SHA-256 the store computed (a GET when it reports none)."""
        key = self.key(sha256)
        try:
            if self.verify_mode == "checksum":
                head = await self._client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
                await self._check_size(sha256, head["ContentLength"], size)
                if head.get("ChecksumSHA256"):
                    digest = base64.b64decode(head["ChecksumSHA256"]).hex()
                else:
                    digest = await self._hash_object(sha256, key, size)
            else:
                digest = await self._hash_object(sha256, key, size)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        if digest != sha256:
            await self.delete(sha256)
            raise DigestInvalid(f"blob {sha256}: the stored bytes hash to {digest}; upload the file again, then commit")
        return True

    async def _check_size(self, sha256: str, stored: int, declared: int) -> None:
        if stored != declared:
            await self.delete(sha256)
            raise DigestInvalid(f"blob {sha256}: the store holds {stored} bytes, the manifest declared {declared}; "
                                "upload the file again, then commit")

    async def _hash_object(self, sha256: str, key: str, size: int) -> str:
        hasher = hashlib.sha256()
        obj = await self._client.get_object(Bucket=self.bucket, Key=key)
        async with obj["Body"] as stream:
            if obj["ContentLength"] != size:  # checked before reading a byte
                await self._check_size(sha256, obj["ContentLength"], size)
            while chunk := await stream.read(MiB):
                hasher.update(chunk)
        return hasher.hexdigest()

    async def download_url(self, sha256: str, base_url: str) -> str:
        return await self._presign("get_object", Key=self.key(sha256))

    async def delete(self, sha256: str) -> None:
        await self._client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    async def list_blobs(self) -> AsyncIterator[StoredBlob]:
        paginator = self._client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.blob_prefix):
            for obj in page.get("Contents", []):
                yield StoredBlob(obj["Key"].rsplit("/", 1)[1], obj["Size"], obj["LastModified"])

    async def list_uploads(self) -> list[PendingUpload]:
        """Unfinished multipart uploads under our prefix, each as old as its newest part (some stores report
        no real start time: moto says every upload began on 2010-11-10) and as big as its parts."""
        found = []
        paginator = self._client.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.blob_prefix):
            for upload in page.get("Uploads", []):
                key, upload_id = upload["Key"], upload["UploadId"]
                started, size = upload["Initiated"], 0
                async for parts in self._client.get_paginator("list_parts").paginate(
                        Bucket=self.bucket, Key=key, UploadId=upload_id):
                    for part in parts.get("Parts", []):
                        started, size = max(started, part["LastModified"]), size + part["Size"]
                found.append(PendingUpload(f"multipart upload {upload_id} of {key}", key.rsplit("/", 1)[1],
                                           started, handle=(key, upload_id), upload_id=upload_id, size=size))
        return found

    async def abort_upload(self, upload: PendingUpload) -> None:
        key, upload_id = upload.handle  # type: ignore[misc]
        await self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
