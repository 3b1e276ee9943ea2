"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from strawberry.types import Info as StrawberryInfo

from api.auth import Principal, principal_from_header
from domain.application import TrialApplication
from infra.bootstrap import Service


@dataclass
class Context:
    service: Service
    authorization: str | None
    _principal: Principal | None = field(default=None, init=False)

    @property
    def app(self) -> TrialApplication:
        return self.service.app

    @property
    def principal(self) -> Principal:
        """The verified caller; raises UNAUTHENTICATED when the token is missing or invalid."""
        if self._principal is None:
            self._principal = principal_from_header(self.authorization, self.service.jwt_secret)
        return self._principal

    def now(self) -> datetime:
        return self.app.clock()


Info = StrawberryInfo[Context, None]
