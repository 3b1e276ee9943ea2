"""A real server (uvicorn in a thread) and a GraphQL client over HTTP for end-to-end tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app, server_options
from api.auth import issue_token
from domain.vocabulary import Role
from infra.bootstrap import Service


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningServer:
    """Uvicorn serving one service on a free port, started and stopped by the test."""

    def __init__(self, service: Service, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            create_app(service),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            **server_options(service),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start within 10 s")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class GraphQLClient:
    """POSTs GraphQL documents with a bearer token; returns the decoded JSON response."""

    url: str
    secret: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def token(self, role: Role, site: str | None = "NJ01", sub: str = "user-1") -> str:
        return issue_token(self.secret, role, subject=sub, site=site)

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
    ) -> dict[str, Any]:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        response = self.http.post(
            self.url, json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def as_role(self, role: Role, site: str | None = "NJ01", sub: str = "user-1") -> RoleClient:
        return RoleClient(self, self.token(role, site, sub))


@dataclass
class RoleClient:
    client: GraphQLClient
    token: str

    def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.client.post(query, variables, token=self.token)

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The response's data, failing the test with the errors if there were any."""
        body = self.post(query, variables)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
def server(service: Service) -> Iterator[RunningServer]:
    running = RunningServer(service)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(server: RunningServer, service: Service) -> Iterator[GraphQLClient]:
    graphql = GraphQLClient(server.url, service.jwt_secret)
    yield graphql
    graphql.http.close()
