"""What a POST to /graphql must be before GraphQL sees it: JSON, and not too big.

- Only ``Content-Type: application/json`` (GraphQL over HTTP). A form
  (``application/x-www-form-urlencoded``, ``multipart/form-data``) or
  ``text/plain`` is what a hostile web page can make a browser send to another
  site without asking it first (a "simple" request, no CORS preflight): 415,
  and nothing runs.
- At most ``max_body_bytes`` (``LINEAGE_REG_MAX_BODY_BYTES``): a declared
  ``Content-Length`` above it is refused before a byte is read; a chunked body
  is counted while it streams and refused as soon as it passes the limit, so
  memory stays bounded by the limit, whatever the client sends. 413.

Refusals answer like GraphQL errors: ``{"errors": [{"message", "extensions": {"code"}}]}``.
Only /graphql is guarded; the /files routes stream bytes of any size and type.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON = "application/json"


def rejection(status: int, message: str, code: str, *, media_type: str = JSON,
              headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, media_type=media_type, headers=headers)


class RequestGuard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != JSON:
            shown = media_type or "none"
            await rejection(415, f"send GraphQL requests as 'Content-Type: {JSON}', not {shown!r} (form and "
                                 "plain-text posts are refused: a web page on another site could send them)",
                            "BAD_INPUT", headers={"Accept-Post": JSON})(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for a disconnect like the real stream would
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_body_bytes
        await rejection(413, f"request body over {limit} bytes (LINEAGE_REG_MAX_BODY_BYTES); send smaller "
                             "operations, and files through their upload links, never inside GraphQL",
                        "LIMIT_EXCEEDED", headers={"Connection": "close"})(scope, receive, send)
