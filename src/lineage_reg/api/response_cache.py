"""A cache of whole GraphQL query responses, for deploy bots that ask the same thing over and over.

A hit skips parsing, validation and execution: the bytes of an earlier answer
to the same request body, from the same credentials, go straight back. An
entry is served only while the database's change counter is what it was when
the answer was computed, so no answer outlives a committed write (from this
process or any other), and never for longer than ``TTL_SECONDS`` (download
links inside it stay well within their own expiry). Only successful query
operations are stored; mutations, errors and large answers never are.
Answers are kept per ``Accept`` header too (it picks the answer's media type).
A hit is served only while the request's credentials still name the actor
they named when the answer was computed: a revoked token is refused here as
soon as it is anywhere else (revoking writes no event, so the change counter
alone would keep serving it on PostgreSQL).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from graphql import GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

TTL_SECONDS = 60.0
MAX_ENTRIES = 10_000
MAX_BODY = 256 * 1024


@lru_cache(maxsize=1000)
def _is_query(text: str, operation_name: str | None) -> bool:
    try:
        document = parse(text)
    except GraphQLSyntaxError:
        return False
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [op for op in ops if operation_name is None or (op.name and op.name.value == operation_name)]
    return len(chosen) == 1 and chosen[0].operation == OperationType.QUERY


def _cacheable_request(body: bytes) -> bool:
    try:
        payload = json.loads(body)
        return isinstance(payload, dict) and isinstance(payload.get("query"), str) and _is_query(
            payload["query"], payload.get("operationName")
        )
    except (ValueError, TypeError):
        return False


class ResponseCache:
    def __init__(self, app: ASGIApp, counter: Callable[[], int | None],
                 authenticate: Callable[[str | None], Awaitable[object | None]]) -> None:
        self.app = app
        self.counter = counter
        self.authenticate = authenticate  # header -> actor (None: not valid), as the GraphQL view decides it
        self.entries: OrderedDict[tuple[bytes, bytes, bytes], tuple[int, float, bytes, list[tuple[bytes, bytes]], object]] = (
            OrderedDict()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        auth = accept = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value
            elif name == b"accept":
                accept = value
        key = (auth, accept, body)
        generation = self.counter()
        hit = self.entries.get(key)
        if (hit is not None and hit[0] == generation and hit[1] > time.monotonic()
                and await self.authenticate(auth.decode("latin-1") or None) == hit[4]):
            await send({"type": "http.response.start", "status": 200, "headers": hit[3]})
            await send({"type": "http.response.body", "body": hit[2]})
            return
        status, headers, chunks = await self._forward(scope, body, send)
        answer = b"".join(chunks)
        if (status == 200 and generation is not None and len(answer) <= MAX_BODY
                and b'"errors"' not in answer and _cacheable_request(body)
                and (actor := await self.authenticate(auth.decode("latin-1") or None)) is not None):
            self.entries[key] = (generation, time.monotonic() + TTL_SECONDS, answer, headers, actor)
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                self.entries.popitem(last=False)

    async def _forward(self, scope: Scope, body: bytes, send: Send) -> tuple[int, list[Any], list[bytes]]:
        sent = False
        status = 0
        headers: list[Any] = []
        chunks: list[bytes] = []

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replay, capture)
        return status, headers, chunks


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(parts)
