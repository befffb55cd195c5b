"""Faults injected in the SDK's own httpx transport, in front of a real server."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator

import httpx

from lineage_reg.client import Retry

QUICK = Retry(attempts=3, base=0.01, cap=0.05)


class Faulty(httpx.AsyncHTTPTransport):
    """A real transport that counts requests and can fail some: ``status`` answers the first ``status_times``
    matching requests itself; ``budget`` cuts every PUT off once that many body bytes were sent in all."""

    def __init__(self, *, status: int | None = None, status_times: int = 0, match: str = "",
                 budget: int | None = None, connect_errors: int = 0) -> None:
        super().__init__()
        self.status, self.status_left, self.match = status, status_times, match
        self.budget, self.connect_errors = budget, connect_errors
        self.seen: list[tuple[str, str, int]] = []  # method, path, status
        self.batches: list[int] = []  # how many files each POST /files/batch asked for
        self.lock = threading.Lock()

    def count(self, method: str, contains: str = "") -> int:
        return sum(1 for m, p, _ in self.seen if m == method and contains in p)

    def fetched(self) -> int:
        """Blobs asked for: one per GET, and each file a batch named."""
        return self.count("GET") + sum(self.batches)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        with self.lock:
            if request.url.path.endswith("/files/batch"):
                self.batches.append(len(json.loads(request.content)["links"]))
            if self.connect_errors and request.method == "POST":
                self.connect_errors -= 1
                self.seen.append((request.method, request.url.path, -1))
                raise httpx.ConnectError("injected: connection refused", request=request)
            if self.status_left and self.match in key:
                self.status_left -= 1
                self.seen.append((request.method, request.url.path, self.status))
                return httpx.Response(self.status, headers={"Retry-After": "0"}, text="injected", request=request)
        if self.budget is not None and request.method == "PUT":
            request.stream = self.Cut(request.stream, self)  # type: ignore[arg-type]
        resp = await super().handle_async_request(request)
        with self.lock:
            self.seen.append((request.method, request.url.path, resp.status_code))
        return resp

    class Cut(httpx.AsyncByteStream):
        def __init__(self, inner: httpx.AsyncByteStream, owner: Faulty) -> None:
            self.inner, self.owner = inner, owner

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self.inner:
                with self.owner.lock:
                    assert self.owner.budget is not None
                    self.owner.budget -= len(chunk)
                    cut = self.owner.budget < 0
                if cut:
                    raise httpx.WriteError("injected: the network went away mid-upload")
                yield chunk
