"""Blob storage: content-addressed by sha256, bytes never pass through GraphQL."""

from .base import BlobStore, StoredBlob, UploadPart, UploadTarget
from .local import LocalBlobStore
from .s3 import S3BlobStore

__all__ = ["BlobStore", "LocalBlobStore", "S3BlobStore", "StoredBlob", "UploadPart", "UploadTarget"]
