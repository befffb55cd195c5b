"""Signed, expiring links to the local blob endpoints (the local store's "presigned URLs")."""

from __future__ import annotations

import hashlib
import hmac
import time


class LinkSigner:
    def __init__(self, key: bytes, ttl_seconds: int) -> None:
        self._key = key
        self.ttl_seconds = ttl_seconds

    def _mac(self, method: str, sha256: str, size: int | None, expires: int) -> str:
        msg = f"{method}\n{sha256}\n{'' if size is None else size}\n{expires}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def query(self, method: str, sha256: str, size: int | None = None) -> str:
        expires = int(time.time()) + self.ttl_seconds
        parts = [f"expires={expires}", f"sig={self._mac(method, sha256, size, expires)}"]
        if size is not None:
            parts.insert(0, f"size={size}")
        return "&".join(parts)

    def check(self, method: str, sha256: str, size: int | None, expires: str | None, sig: str | None) -> bool:
        if not expires or not sig or not expires.isdigit():
            return False
        if int(expires) < time.time():
            return False
        return hmac.compare_digest(self._mac(method, sha256, size, int(expires)), sig)
