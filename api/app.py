"""The ASGI application: GraphQL at /graphql (HTTP and graphql-transport-ws), the CDISC
exports at /export, the reviewers' console at /console and /health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from api import console, push_once
from api.auth import Unauthenticated
from api.context import Context
from api.errors import UNAVAILABLE
from api.export_routes import routes as export_routes
from api.limits import MAX_BODY_BYTES, BodyLimit
from api.notifications import ReadModelHub
from api.schema import build_schema
from api.threads import within
from infra.bootstrap import Service
from projections.participant_status import ParticipantStatusProjection

HEALTH_TIMEOUT_S = 2.0  # /health answers 503 this soon when the database does not answer


class TrialGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with the trial's context."""

    def __init__(self, service: Service, hub: ReadModelHub) -> None:
        super().__init__(
            build_schema(introspection=service.settings.introspection),
            graphql_ide="graphiql" if not service.settings.production else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=service.settings.allowed_origins,
        )
        self.service = service
        self.hub = hub

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        return Context(self.service, request.headers.get("authorization"), self.hub)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Refuse (close 4403) a connection_init without a valid bearer token."""
        try:
            context.principal  # noqa: B018 - verifying the token is the point
        except Unauthenticated as error:
            raise ConnectionRejectionError({"code": error.code}) from error
        return UnsetType()  # acknowledge without a payload

    def encode_json(self, data: object) -> str | bytes:
        """A subscription push's shared result is encoded once for all its subscribers."""
        encoded = push_once.encode_next(data)
        return super().encode_json(data) if encoded is None else encoded


def server_options(service: Service) -> dict[str, Any]:
    """What uvicorn must be told besides the app, host and port."""
    return {"ws_per_message_deflate": service.settings.websocket_compression}


def create_app(service: Service) -> Starlette:
    """The web application for one built service."""
    schema = service.read_models[ParticipantStatusProjection.name].datastore.schema
    hub = ReadModelHub(service.database_url, schema)
    graphql = TrialGraphQL(service, hub)

    async def health(_: Request) -> JSONResponse:
        """Liveness plus, per read model, its position, the head position and the lag; and
        each hot standby read from: up, in recovery, its lag in seconds and positions."""
        try:
            lags = await within(HEALTH_TIMEOUT_S, service.read_models.lags)
        except UNAVAILABLE:
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        projections = [
            {"name": lag.projection, "position": lag.position, "head": lag.head, "lag": lag.lag}
            for lag in lags
        ]
        positions = {lag.projection: lag.position for lag in lags}
        read_databases = service.reads.status(positions)
        return JSONResponse(
            {"status": "ok", "projections": projections, "read_databases": read_databases}
        )

    routes: list[Any] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/health", health),
        *export_routes(service),
        *console.routes(),
    ]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await hub.start()  # one listening connection for this process's subscriptions
        try:
            yield
        finally:
            await hub.close()

    middleware = [Middleware(BodyLimit, limit=MAX_BODY_BYTES)]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.hub = hub
    return app
