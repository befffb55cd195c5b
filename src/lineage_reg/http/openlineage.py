"""OpenLineage's HTTP transport endpoints: ``POST /api/v1/lineage`` and ``POST /api/v1/lineage/batch``.

Authenticated like the GraphQL API (``Authorization: Bearer``, the client's
``api_key``); writing needs the member role. Bodies are read with a size cap
(gzip ones are capped after decompression too), validated event by event, and
applied in one transaction per request: a batch's valid events land even when
some others fail validation, and a request that fails changes nothing.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import jsontext
from .. import openlineage_events as ol_events
from ..errors import BadInput, RegistryError
from ..services import openlineage as ol
from ..services.actors import Authenticator, header_problem
from ..services.runtime import Runtime

log = logging.getLogger("lineage_reg.openlineage")


class TooLarge(Exception):
    pass


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """OpenLineage clients read ``error``; the registry's other endpoints answer ``errors`` (GraphQL's shape):
    both, so one client library reads every refusal of the server."""
    return JSONResponse({"error": {"code": code, "message": message, **extra},
                         "errors": [{"message": message, "extensions": {"code": code, **extra}}]}, status_code=status)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    body = b"".join(chunks)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        body = inflater.decompress(body, limit + 1)
        if len(body) > limit or inflater.unconsumed_tail:
            raise TooLarge
    return body


def routes(rt: Runtime, auth: Authenticator) -> list[Route]:
    limit = rt.settings.openlineage_max_body_bytes

    async def authorise(request: Request) -> tuple[str | None, JSONResponse | None]:
        header = request.headers.get("authorization")
        actor = await auth.actor(header)
        if actor is None or actor.role is None:
            problem = header_problem(header) or "send 'Authorization: Bearer <token>' (OPENLINEAGE_API_KEY)"
            return None, _error(401, "UNAUTHENTICATED", problem)
        if not actor.has("member"):
            return None, _error(403, "FORBIDDEN", f"ingesting lineage needs the member role; your token has {actor.role}")
        return actor.name, None

    async def read(request: Request) -> tuple[bytes | None, JSONResponse | None]:
        try:
            return await _body(request, limit), None
        except TooLarge:
            return None, _error(413, "LIMIT_EXCEEDED", f"request body over {limit} bytes; send smaller batches")
        except zlib.error:
            return None, _error(400, "BAD_INPUT", "Content-Encoding says gzip but the body is not gzip")

    async def admitted(request: Request) -> tuple[str | None, bytes] | JSONResponse:
        """The actor and the body, or the refusal (401/403/413/400) to answer with."""
        actor, denied = await authorise(request)
        if denied:
            return denied
        body, failed = await read(request)
        return failed if failed else (actor, body or b"")

    async def one(request: Request) -> Response:
        admitted_ = await admitted(request)
        if isinstance(admitted_, JSONResponse):
            return admitted_
        actor, body = admitted_
        try:
            decoded = jsontext.loads(body or b"null", what="the body")
        except BadInput as exc:
            return _error(400, "BAD_INPUT", exc.message, field="$")
        try:
            event = ol_events.parse(decoded)
        except ol_events.BadEvent as exc:
            return _error(400, "BAD_INPUT", exc.message, field=exc.field)
        try:
            await ol.ingest(rt, actor=actor, events=[event])
        except RegistryError as exc:
            return _error(400, exc.code, exc.message)
        return JSONResponse({"status": "success"}, status_code=201)

    async def batch(request: Request) -> Response:
        admitted_ = await admitted(request)
        if isinstance(admitted_, JSONResponse):
            return admitted_
        actor, body = admitted_
        try:
            items = _split(body)
        except BadInput as exc:
            return _error(400, "BAD_INPUT", exc.message, field="$")
        events, errors = [], []
        for index, (item, not_json) in enumerate(items):
            try:
                if not_json:
                    raise ol_events.BadEvent("$", not_json)
                events.append(ol_events.parse(item))
            except ol_events.BadEvent as exc:
                errors.append({"index": index, "field": exc.field, "message": exc.message})
        try:
            await ol.ingest(rt, actor=actor, events=events)
        except RegistryError as exc:
            return _error(400, exc.code, exc.message)
        status = "success" if not errors else ("partial_success" if events else "failure")
        answer = {"status": status, "received": len(items), "succeeded": len(events), "failed": len(errors),
                  "errors": errors}
        return JSONResponse(answer, status_code=200 if events or not items else 400)

    return [Route("/api/v1/lineage", one, methods=["POST"]), Route("/api/v1/lineage/batch", batch, methods=["POST"])]


def _split(body: bytes) -> list[tuple[Any, str | None]]:
    """A JSON array of events, or NDJSON (one event per line): (event, None) or (None, why it isn't JSON)."""
    text = body.strip()
    if text.startswith(b"["):
        return [(item, None) for item in jsontext.loads(text, what="the body (a JSON array)")]
    found: list[tuple[Any, str | None]] = []
    for line in text.splitlines():
        if line.strip():
            try:
                found.append((jsontext.loads(line, what="the line"), None))
            except BadInput as exc:
                found.append((None, exc.message))
    return found
