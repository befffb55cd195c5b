"""How long a client may take to send a request: slow clients must not hold connections forever.

Two deadlines, modelled on Apache's mod_reqtimeout (``header=…  body=…,MinRate=…``):

- **Headers**: from the moment a connection opens (or its next request
  begins) the request line and headers must be complete within
  ``header_timeout_seconds``; otherwise the server answers 408 and closes the
  connection. uvicorn has no such timer (its keep-alive timer runs only between
  requests, and the first byte cancels it), so a "slowloris" client that sends
  a header byte every few seconds, or a connection that sends nothing, would
  otherwise be held as long as it likes. The timer lives in uvicorn's HTTP
  protocol (``HeaderDeadlineProtocol``), the only place that sees bytes before
  the headers are parsed.
- **Body**: a body must keep coming at a minimum average rate: by
  ``body_timeout_seconds + received / body_min_rate`` seconds after the request
  started, every byte so far must have arrived (``BodyDeadline``, ASGI). A
  1 GiB upload at any real speed is never cut; a client that trickles a byte
  every few seconds is. When the deadline passes, the application sees the
  client as gone (``http.disconnect``: uploads abort and clean up as they do
  for a dropped connection), and the client gets 408 if no answer has started.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..config import Settings

_TIMEOUT_408 = json.dumps({"errors": [{
    "message": "the request took too long to arrive (headers or body); send it again at a steady pace",
    "extensions": {"code": "BAD_INPUT"}}]}).encode()


def header_deadline_protocol(header_timeout_seconds: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a deadline on each request's headers."""

    class HeaderDeadlineProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout_seconds, self._headers_too_slow)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()  # a connection that never sends a byte is timed too

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_header_timer()

        def on_headers_complete(self) -> None:
            self._disarm_header_timer()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a request is being answered (pipelined bytes began the next one): the body rules apply
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                                 b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
                                 % (len(_TIMEOUT_408), _TIMEOUT_408))
            self.transport.close()

    return HeaderDeadlineProtocol


class BodyDeadline:
    """ASGI middleware: a request body must arrive at ``min_rate`` bytes/s on average, after ``grace_seconds``."""

    def __init__(self, app: ASGIApp, *, grace_seconds: float, min_rate: float) -> None:
        self.app = app
        self.grace_seconds = grace_seconds
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        received = 0
        body_done = timed_out = answered = False

        async def timed_receive() -> Message:
            nonlocal received, body_done, timed_out
            if body_done or timed_out:
                # After the body (or its deadline) there is nothing left to time: the next message is a disconnect.
                return {"type": "http.disconnect"} if timed_out else await receive()
            remaining = started + self.grace_seconds + received / self.min_rate - loop.time()
            try:
                async with asyncio.timeout(max(remaining, 0.0)):
                    message = await receive()
            except TimeoutError:
                timed_out = True
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal answered
            if timed_out and not answered:
                return  # the client was told 408 (below) or will be: the application's late answer goes nowhere
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        await self.app(scope, timed_receive, tracked_send)
        if timed_out and not answered:
            await send({"type": "http.response.start", "status": 408,
                        "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                                    (b"content-length", str(len(_TIMEOUT_408)).encode())]})
            await send({"type": "http.response.body", "body": _TIMEOUT_408})


def server_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options every server of ours runs with (``lineage-reg serve`` and the tests' live servers)."""
    return dict(http=header_deadline_protocol(settings.header_timeout_seconds),
                timeout_keep_alive=settings.keep_alive_seconds)
