"""The GraphQL endpoint: builds each request's context and authenticates WebSockets."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType
from strawberry.http.async_base_view import HTTPException  # re-exported by strawberry
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from ..services.auth import Authenticator
from ..services.runtime import Runtime
from .context import Context, build_context
from .schema import schema


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, rt: Runtime, auth: Authenticator) -> None:
        from datetime import timedelta

        super().__init__(
            schema,
            graphql_ide="graphiql" if rt.settings.dev else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=20,
        )
        self.rt = rt
        self.auth = auth

    def _base_url(self, conn: Request | WebSocket) -> str:
        if self.rt.settings.public_url:
            return self.rt.settings.public_url
        base = str(conn.base_url).rstrip("/")
        return base.replace("ws://", "http://", 1).replace("wss://", "https://", 1)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket | None = None) -> Context:
        header = request.headers.get("authorization") if isinstance(request, Request) else None
        actor = await self.auth.actor(header)
        context = build_context(rt=self.rt, actor=actor, base_url=self._base_url(request))
        if isinstance(request, WebSocket):
            context.websocket = request
        return context

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)

        async def send_allow(message: Any) -> None:
            # A 405 must say which method would work (RFC 9110): ours only ever answers operations GET can't run.
            if message["type"] == "http.response.start" and message["status"] == 405:
                message = {**message, "headers": [*message.get("headers", []), (b"allow", b"POST")]}
            await send(message)

        return await super().__call__(scope, receive, send_allow)

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any, context: Context,
                             root_value: Any, request_data: Any) -> Any:
        """GraphQL over HTTP, one answer per request. A mutation sent with GET is a method error (405), not a bad
        request. A subscription streams over the WebSocket (or a multipart stream, which never comes here): asked
        for as a plain answer it is a bad request, not something to execute as if it were a query."""
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
            raise ConnectionRejectionError({"message": "a valid token with at least the viewer role is required"})
        context.actor = actor
        return None
