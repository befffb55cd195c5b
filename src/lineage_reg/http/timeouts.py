"""How long a client may take to send a request: slow clients must not hold connections forever.

Two deadlines, modelled on Apache's mod_reqtimeout (``header=…  body=…,MinRate=…``):

- **Headers**: from the moment a connection opens (or its next request
  begins) the request line and headers must be complete within
  ``header_timeout_seconds``. uvicorn has no such timer (its keep-alive timer
  runs only between requests, and the first byte cancels it), so a
  "slowloris" client that sends a header byte every few seconds, or a
  connection that sends nothing, would otherwise be held as long as it likes.
- **Body**: a body must keep coming at a minimum average rate: by
  ``body_timeout_seconds + received / body_min_rate`` seconds after its headers,
  every byte so far must have arrived. A 1 GiB upload at any real speed is
  never cut; a client that trickles a byte every few seconds is. Time the
  server itself holds the body back (flow control while the application is
  busy, or ``Expect: 100-continue`` before it asks) does not count.

Both live in uvicorn's HTTP protocol (``deadline_protocol``): it is the only
place that sees bytes before the headers are parsed, and there a request whose
body came with its headers (nearly all of them) costs no timer at all. When a
deadline passes the client gets 408 (if no answer has started) and the
connection closes; the application sees the client as gone
(``http.disconnect``: uploads abort and clean up as for a dropped connection).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..config import Settings

_TIMEOUT_BODY = json.dumps({"errors": [{
    "message": "the request took too long to arrive (headers or body); send it again at a steady pace",
    "extensions": {"code": "BAD_INPUT"}}]}).encode()
_TIMEOUT_408 = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY))


def deadline_protocol(header_timeout: float, body_grace: float, body_min_rate: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a deadline on each request's headers and on its body."""

    class DeadlineProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None
        _body_start = 0.0  # when the body's clock started (moved on while the server held the body back)
        _body_received = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)  # a silent one too

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)

        def on_headers_complete(self) -> None:
            self._cancel_timers()
            self._body_start, self._body_received = self.loop.time(), 0
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            self._body_received += len(body)
            super().on_body(body)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._cancel_timers()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            cycle = self.cycle
            if (self._body_timer is None and self._header_timer is None and cycle is not None and cycle.more_body
                    and not cycle.response_complete and not self.transport.is_closing()):
                # The headers are in and the body is still coming: from now on it is timed.
                self._body_timer = self.loop.call_at(self._body_deadline(), self._check_body)

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_timers()
            super().connection_lost(exc)

        def _cancel_timers(self) -> None:
            for timer in (self._header_timer, self._body_timer):
                if timer is not None:
                    timer.cancel()
            self._header_timer = self._body_timer = None

        def _body_deadline(self) -> float:
            return self._body_start + body_grace + self._body_received / body_min_rate

        def _check_body(self) -> None:
            self._body_timer = None
            cycle = self.cycle
            if cycle is None or not cycle.more_body or self.transport.is_closing():
                return
            now = self.loop.time()
            if self.flow.read_paused or cycle.waiting_for_100_continue:
                # The server holds the body back, not the client: its clock starts again.
                self._body_start = now - self._body_received / body_min_rate
            if now < (deadline := self._body_deadline()):
                self._body_timer = self.loop.call_at(deadline, self._check_body)
                return
            self._too_slow()

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            cycle = self.cycle
            if cycle is not None and not cycle.response_complete:
                # The previous request is still being answered (pipelined bytes began this one): its time
                # starts when it can be read.
                self._header_timer = self.loop.call_later(header_timeout, self._headers_too_slow)
                return
            self._too_slow()

        def _too_slow(self) -> None:
            if self.transport.is_closing():
                return
            if self.cycle is None or not self.cycle.response_started:
                self.transport.write(_TIMEOUT_408)
            self.transport.close()  # the application, if it runs, reads a disconnect

    return DeadlineProtocol


def server_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn options every server of ours runs with (``lineage-reg serve`` and the tests' live servers)."""
    return dict(http=deadline_protocol(settings.header_timeout_seconds, settings.body_timeout_seconds,
                                       settings.body_min_rate),
                timeout_keep_alive=settings.keep_alive_seconds)
