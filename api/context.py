"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from strawberry.types import Info as StrawberryInfo

from api.auth import Principal, principal_from_header
from api.notifications import ReadModelHub
from domain.application import TrialApplication
from infra.bootstrap import Service


@dataclass
class Context:
    service: Service
    authorization: str | None
    hub: ReadModelHub | None = None
    # A WebSocket's connection_init payload; strawberry sets it before any operation runs.
    connection_params: dict[str, object] | None = None
    _principal: Principal | None = field(default=None, init=False)

    @property
    def app(self) -> TrialApplication:
        return self.service.app

    @property
    def principal(self) -> Principal:
        """The verified caller; raises UNAUTHENTICATED when the token is missing or invalid."""
        if self._principal is None:
            self._principal = principal_from_header(self.bearer, self.service.jwt_secret)
        return self._principal

    @property
    def bearer(self) -> str | None:
        """The connection_init payload's Authorization over WebSocket, else the header's."""
        params = self.connection_params or {}
        for key in ("Authorization", "authorization"):
            value = params.get(key)
            if isinstance(value, str):
                return value
        return self.authorization

    def now(self) -> datetime:
        return self.app.clock()


Info = StrawberryInfo[Context, None]
