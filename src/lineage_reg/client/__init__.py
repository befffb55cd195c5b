"""The lineage-reg Python SDK (sync, httpx). See docs/sdk.md."""

from ..errors import (
    BadInput, BlobUnknown, Conflict, DigestInvalid, Forbidden, LimitExceeded, NotFound, RegistryError,
    Unauthenticated, VersionCommitted,
)
from .registry import File, Registry, Run, Version

__all__ = [
    "BadInput", "BlobUnknown", "Conflict", "DigestInvalid", "File", "Forbidden", "LimitExceeded", "NotFound",
    "Registry", "RegistryError", "Run", "Unauthenticated", "Version", "VersionCommitted",
]
