"""The ASGI application: GraphQL at /graphql (HTTP and graphql-transport-ws) and /health."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.context import Context
from api.schema import build_schema
from infra.bootstrap import Service


class TrialGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with the trial's context."""

    def __init__(self, service: Service) -> None:
        super().__init__(
            build_schema(introspection=service.settings.introspection),
            graphql_ide="graphiql" if not service.settings.production else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=service.settings.allowed_origins,
        )
        self.service = service

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        return Context(self.service, request.headers.get("authorization"))


def create_app(service: Service) -> Starlette:
    """The web application for one built service."""
    graphql = TrialGraphQL(service)

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    routes: list[Any] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/health", health),
    ]
    return Starlette(routes=routes)
