"""The GraphQL endpoint: builds each request's context and authenticates WebSockets.

GraphQL over HTTP as its spec has it: one operation per request (no batches),
mutations never over GET (405 + ``Allow``), answers as ``application/json`` or,
when the client asks for it, ``application/graphql-response+json`` (then a
request that fails before execution - syntax, validation, a limit - is a 400).
Every refusal at the HTTP level is a JSON body with ``extensions.code``.
WebSockets: only ``graphql-transport-ws``, only from the server's own origin,
clients that send no ``Origin`` (SDKs, bots), or ``LINEAGE_REG_ALLOWED_ORIGINS``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.async_base_view import HTTPException  # re-exported by strawberry
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.execution import ExecutionResult, PreExecutionError

from .. import jsontext
from ..errors import BadInput, Unauthenticated
from ..services.actors import Authenticator, header_problem
from ..services.runtime import Runtime
from .context import Context, build_context
from .permissions import authenticated
from .ratelimit import RateLimiter
from .request_guard import JSON, rejection
from .schema import schema

GRAPHQL_RESPONSE = "application/graphql-response+json"
BATCHING_OFF = ('batching is off: send one operation per request, as one JSON object '
                '{"query": ..., "variables": {...}, "operationName": ...}')


@lru_cache(maxsize=256)
def negotiate(accept: str) -> str:
    """The answer's media type: graphql-response+json when the client ranks it at least as high as JSON
    (wildcards count for JSON, the type every client understands)."""
    quality = {GRAPHQL_RESPONSE: -1.0, JSON: -1.0}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        media = media.lower()
        key = JSON if media in ("*/*", "application/*") else media
        if key in quality:
            quality[key] = max(quality[key], q)
    return GRAPHQL_RESPONSE if 0 < quality[GRAPHQL_RESPONSE] >= quality[JSON] else JSON


def _media_type(request: Request) -> str:
    return negotiate(request.headers.get("accept", ""))


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, rt: Runtime, auth: Authenticator, *, ide: Callable[[Request], Response] | None = None) -> None:
        """``ide``: the page a browser gets at GET /graphql (GraphiQL, served from the package by the http layer);
        None: no page (strawberry's own would load its scripts from a CDN)."""
        super().__init__(
            schema,
            graphql_ide="graphiql" if ide is not None else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=20,
            allowed_origins=rt.settings.allowed_origins,
        )
        self.rt = rt
        self.auth = auth
        self.ide = ide
        self.mutation_limiter = RateLimiter.from_spec(rt.settings.mutation_rate)

    async def render_graphql_ide(self, request: Request) -> Response:
        assert self.ide is not None  # strawberry asks only when graphql_ide is set
        return self.ide(request)

    def _base_url(self, conn: Request | WebSocket) -> str:
        if self.rt.settings.public_url:
            return self.rt.settings.public_url
        base = str(conn.base_url).rstrip("/")
        return base.replace("ws://", "http://", 1).replace("wss://", "https://", 1)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket | None = None) -> Context:
        header = request.headers.get("authorization") if isinstance(request, Request) else None
        actor = await self.auth.actor(header)
        context = build_context(rt=self.rt, actor=actor, base_url=self._base_url(request),
                                mutation_limiter=self.mutation_limiter)
        context.auth_problem = header_problem(header)
        if isinstance(request, WebSocket):
            context.websocket = request
        return context

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = self._refusal(request, exc)
        await response(scope, receive, send)

    def _refusal(self, request: Request, exc: HTTPException) -> Response:
        status, message = exc.status_code, exc.reason
        headers = {}
        if status == 405:
            # A 405 must say which method would work (RFC 9110): ours only ever answers operations GET can't run.
            headers["Allow"] = "POST"
        if status == 404:
            message = "GraphiQL is served only in development (`lineage-reg serve --dev`); send a query instead"
        code = {404: "NOT_FOUND", 413: "LIMIT_EXCEEDED"}.get(status, "BAD_INPUT")
        return rejection(status, message, code, media_type=_media_type(request), headers=headers)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        if isinstance(request, Request):
            sub_response.media_type = _media_type(request)
        return sub_response

    def parse_json(self, data: str | bytes) -> Any:
        """The body (or GET's ``variables``) as JSON; malformed in any way is a 400 naming the problem."""
        try:
            return jsontext.loads(data)
        except BadInput as exc:
            raise HTTPException(400, exc.message) from None

    async def parse_http_body(self, request: Any) -> Any:
        if request.method == "POST":
            start = (await request.get_body()).lstrip()[:1]
            if start == b"[":
                raise HTTPException(400, BATCHING_OFF)
            if start != b"{":
                raise HTTPException(400, 'the request body must be one JSON object: {"query": ..., "variables": ...}')
        return await super().parse_http_body(request)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        answer = await super().process_result(request, result)
        if isinstance(result, PreExecutionError) and _media_type(request) == GRAPHQL_RESPONSE:
            answer.pop("data", None)  # nothing ran: a request error has no data entry (GraphQL over HTTP)
        return answer

    def create_response(self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
                        sub_response: Response) -> Response:
        response = super().create_response(response_data, sub_response)
        if len(response.body) > (limit := self.rt.settings.max_response_bytes):
            return self._too_big(len(response.body), limit, sub_response.media_type or JSON)
        if sub_response.media_type == GRAPHQL_RESPONSE:
            response.headers["content-type"] = GRAPHQL_RESPONSE
            if isinstance(response_data, dict) and "data" not in response_data and not sub_response.status_code:
                response.status_code = 400
        return response

    @staticmethod
    def _too_big(size: int, limit: int, media_type: str) -> Response:
        body = {"data": None, "errors": [{
            "message": f"the answer would be {size:,} bytes, over this server's {limit:,} "
                       "(LINEAGE_REG_MAX_RESPONSE_BYTES); ask for fewer fields or smaller pages and page with "
                       "`after` (a mutation's changes, if it made any, are made)",
            "extensions": {"code": "LIMIT_EXCEEDED", "bytes": size, "limit": limit}}]}
        return JSONResponse(body, media_type=media_type)

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any, context: Context,
                             root_value: Any, request_data: Any) -> Any:
        """GraphQL over HTTP, one answer per request. A mutation sent with GET is a method error (405), not a bad
        request. A subscription streams over the WebSocket (or a multipart stream, which never comes here): asked
        for as a plain answer it is a bad request, not something to execute as if it were a query.

        A request that may read nothing (no token where anonymous access is off, or a token that is not valid)
        is answered UNAUTHENTICATED here, before its document is parsed or validated: whatever it sends, it
        costs the server no GraphQL work."""
        try:
            authenticated(context.actor, context.auth_problem)
        except Unauthenticated as exc:
            return ExecutionResult(data=None, errors=[GraphQLError(exc.message, extensions=exc.extensions)])
        get = request_adapter.method == "GET"
        allowed = {OperationType.QUERY} if get else {OperationType.QUERY, OperationType.MUTATION}
        try:
            return await self.schema.execute(
                request_data.query, root_value=root_value, variable_values=request_data.variables,
                context_value=context, operation_name=request_data.operation_name, allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as exc:
            raise HTTPException(400, exc.as_http_error_reason()) from exc
        except InvalidOperationTypeError as exc:
            if exc.operation_type == OperationType.SUBSCRIPTION:
                raise HTTPException(400, "subscriptions run over a WebSocket to /graphql (graphql-transport-ws)") from exc
            raise HTTPException(405, "mutations need POST") from exc
        except MissingQueryError as exc:
            raise HTTPException(400, "No GraphQL query found in the request") from exc

    async def on_ws_connect(self, context: Context) -> Any:
        """Auth travels in `connection_init`: {"Authorization": "Bearer <token>"}."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        if header is not None and not isinstance(header, str):
            raise ConnectionRejectionError()
        actor = await self.auth.actor(header)
        if actor is None or actor.role is None:
            problem = header_problem(header) or "a valid token with at least the viewer role is required"
            raise ConnectionRejectionError({"message": problem})
        context.actor = actor
        context.reauthenticate = lambda: self.auth.actor(header)
        return None
