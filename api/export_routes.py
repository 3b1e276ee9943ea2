"""The export endpoints: ``GET /export/odm`` and ``GET /export/sdtm/{DOMAIN}.json`` (and .xpt,
define.xml), with the bearer token of every other request.

Each export is written to a temporary file in a worker thread, its read logged, then sent and
deleted. Errors answer with the contract's codes in a GraphQL-shaped body:
``{"errors": [{"message": ..., "extensions": {"code": ...}}]}``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from uuid import UUID

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from api.auth import Principal, principal_from_header
from api.errors import UNAVAILABLE
from api.exports import FORMATS, export_odm, export_sdtm
from api.inputs import parse_participant_id
from api.threads import blocking
from domain.errors import BadInput, TrialError
from infra.bootstrap import Service
from projections.cdisc import ExportError
from projections.cdisc.datasets import DatasetTooWide

log = logging.getLogger("trial.api.exports")

STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "BAD_INPUT": 400,
    "NOT_FOUND": 404,
    "SERVICE_UNAVAILABLE": 503,
}


def _error(code: str, message: str, status: int | None = None) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status or STATUS.get(code, 500))


def _as_of(request: Request) -> datetime | None:
    value = request.query_params.get("asOf")
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise BadInput("AS_OF", f"asOf {value!r} is not an ISO 8601 date-time") from error


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise BadInput(name.upper(), f"{name} is true or false, not {value!r}")
    return value == "true"


def _participant(request: Request) -> UUID | None:
    value = request.query_params.get("participant")
    return None if value is None else parse_participant_id(value)


Exporter = Callable[[Principal, Request, Path], tuple[Path, str, str]]


def endpoint(service: Service, export: Exporter) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint that authenticates, writes ``export`` into a temporary directory in a
    worker thread and sends the file (path, media type, download name) it returns."""

    async def handle(request: Request) -> Response:
        folder = Path(tempfile.mkdtemp(prefix="trial-export-"))
        cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
        try:
            principal = principal_from_header(
                request.headers.get("authorization"), service.jwt_secret
            )
            path, media_type, filename = await blocking(export, principal, request, folder)
        except TrialError as error:
            await cleanup()
            return _error(error.code, str(error))
        except UNAVAILABLE as error:
            await cleanup()
            log.warning("export: database unavailable: %s", error)
            return _error("SERVICE_UNAVAILABLE", "the database is unreachable; retry later")
        except DatasetTooWide as error:  # the data fit Dataset-JSON, not a transport file
            await cleanup()
            return _error("BAD_INPUT", str(error), status=422)
        except ExportError as error:
            await cleanup()
            log.error("export refused: %s", error)
            return _error("INTERNAL", f"the record cannot be exported as it stands: {error}")
        except BaseException:
            await cleanup()
            raise
        return FileResponse(path, media_type=media_type, filename=filename, background=cleanup)

    return handle


def routes(service: Service) -> list[Route]:
    def odm(principal: Principal, request: Request, folder: Path) -> tuple[Path, str, str]:
        snapshot = _flag(request, "snapshot")
        done = export_odm(service, principal, folder / "odm.xml", as_of=_as_of(request),
                          participant=_participant(request), snapshot=snapshot)  # fmt: skip
        kind = "snapshot" if snapshot else "transactions"
        return done.path, "application/xml", f"CHT101-odm-{kind}.xml"

    def sdtm(principal: Principal, request: Request, folder: Path) -> tuple[Path, str, str]:
        name: str = request.path_params["name"]
        stem, _, extension = name.rpartition(".")
        as_of = _as_of(request)
        if name == "define.xml":
            requested = request.query_params.get("format", "dataset-json")
            export_sdtm(service, principal, folder, as_of=as_of, file_format=requested)
            return folder / "define.xml", "application/xml", "define.xml"
        formats = {extension: form for form, extension in FORMATS.items()}
        if extension not in formats or not stem:
            raise BadInput("DATASET_FILE", f"{name!r} is not DOMAIN.json, DOMAIN.xpt or define.xml")
        done = export_sdtm(service, principal, folder, as_of=as_of,
                           file_format=formats[extension], domains=[stem.upper()])  # fmt: skip
        path = done.files[0]
        media = "application/json" if extension == "json" else "application/octet-stream"
        return path, media, path.name

    return [
        Route("/export/odm", endpoint(service, odm), methods=["GET"]),
        Route("/export/sdtm/{name}", endpoint(service, sdtm), methods=["GET"]),
    ]
