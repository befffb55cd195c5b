"""The blob store boundary: where bytes go and how clients reach them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class UploadTarget:
    sha256: str
    url: str
    method: str = "PUT"
    headers: dict[str, str] = field(default_factory=dict)


class BlobStore(Protocol):
    """A backend stores verified bytes under their sha256."""

    def upload_target(self, sha256: str, size: int, base_url: str) -> UploadTarget:
        """Where a client sends the bytes of one blob."""
        ...

    def download_url(self, sha256: str, base_url: str) -> str:
        """A URL a client may GET the bytes from, for a limited time."""
        ...
