"""Blob storage: content-addressed by sha256, bytes never pass through GraphQL."""

from ..records import UploadPart, UploadTarget
from .base import BlobStore, StoredBlob
from .local import LocalBlobStore
from .s3 import S3BlobStore

__all__ = ["BlobStore", "LocalBlobStore", "S3BlobStore", "StoredBlob", "UploadPart", "UploadTarget"]
