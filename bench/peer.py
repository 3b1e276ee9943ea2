"""The peer of ``graphql-commands``: the service a user would write for the same command.

A minimal strawberry + starlette + stock eventsourcing application serving
``updateAdverseEvent`` with the contract's input and result: one aggregate per adverse event,
an event per update, saved by eventsourcing's own PostgreSQL recorder. No audit log, no hash
chain, no projections, no tokens, no access log. Run as ``python -m bench.peer serve --port P`` with
the eventsourcing settings in the environment; ``seed`` records the AEs it will update.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from uuid import NAMESPACE_URL, UUID, uuid5

import strawberry
import uvicorn
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL


class AdverseEvent(Aggregate):
    @staticmethod
    def create_id(participant_id: str, ae_id: str) -> UUID:
        return ae_id_of(participant_id, ae_id)

    @event("Reported")
    def __init__(self, participant_id: str, ae_id: str, ctcae_grade: int) -> None:
        self.participant_id = participant_id
        self.ae_id = ae_id
        self.ctcae_grade = ctcae_grade

    @event("Updated")
    def update(self, ctcae_grade: int | None, reason: str) -> None:
        if ctcae_grade is not None:
            self.ctcae_grade = ctcae_grade


def ae_id_of(participant_id: str, ae_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"peer/{participant_id}/{ae_id}")


class Safety(Application[UUID]):
    def seed(self, participant_id: str, ae_id: str) -> None:
        self.save(AdverseEvent(participant_id=participant_id, ae_id=ae_id, ctcae_grade=1))

    def update(self, participant_id: str, ae_id: str, grade: int | None, reason: str) -> Result:
        ae: AdverseEvent = self.repository.get(ae_id_of(participant_id, ae_id))
        ae.update(grade, reason)
        [recording] = self.save(ae)
        return Result(version=ae.version, position=recording.notification.id)


@strawberry.input
class AeUpdateInput:
    participant_id: strawberry.ID
    ae_id: str
    reason: str
    ctcae_grade: int | None = None


@strawberry.type
class Result:
    version: int
    position: int


def schema(app: Safety) -> strawberry.Schema:
    @strawberry.type
    class Query:
        @strawberry.field
        def ok(self) -> bool:
            return True

    @strawberry.type
    class Mutation:
        @strawberry.mutation
        async def update_adverse_event(self, input: AeUpdateInput) -> Result:
            return await asyncio.to_thread(
                app.update, str(input.participant_id), input.ae_id, input.ctcae_grade, input.reason
            )

    return strawberry.Schema(query=Query, mutation=Mutation)


def web(app: Safety) -> Starlette:
    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "projections": []})

    graphql: GraphQL[None, None] = GraphQL(schema(app))
    return Starlette(routes=[Route("/graphql", graphql), Route("/health", health)])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peer")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Safety(dict(os.environ))
    uvicorn.run(web(app), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
