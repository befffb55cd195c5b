"""Blob storage: content-addressed by sha256, bytes never pass through GraphQL."""

from .base import BlobStore, UploadTarget
from .local import LocalBlobStore

__all__ = ["BlobStore", "LocalBlobStore", "UploadTarget"]
