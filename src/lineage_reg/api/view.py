"""The GraphQL endpoint: builds each request's context and authenticates WebSockets."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema.exceptions import InvalidOperationTypeError
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
        return build_context(rt=self.rt, actor=actor, base_url=self._base_url(request))

    async def execute_single(self, request: Any, request_adapter: Any, *args: Any, **kwargs: Any) -> Any:
        """GraphQL over HTTP: a mutation sent with GET is a method error (405), not a bad request."""
        try:
            return await super().execute_single(request, request_adapter, *args, **kwargs)
        except HTTPException as exc:
            if request_adapter.method == "GET" and isinstance(exc.__cause__, InvalidOperationTypeError):
                raise HTTPException(405, "mutations and subscriptions need POST") from exc
            raise

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
