"""Subscription websockets are uncompressed unless TRIAL_WS_COMPRESSION turns permessage-deflate on
(a compression per push per subscriber is what bounds fan-out to many subscribers)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from infra.bootstrap import Service, bootstrap
from infra.config import Settings
from tests.conftest import settings_for
from tests.e2e.conftest import RunningServer

PROTOCOL = Subprotocol("graphql-transport-ws")


async def _negotiated(server: RunningServer) -> str | None:
    """The extensions the server accepted when the client offered permessage-deflate."""
    url = server.url.replace("http://", "ws://")
    async with connect(url, subprotocols=[PROTOCOL], compression="deflate") as ws:
        assert ws.response is not None
        return ws.response.headers.get("Sec-WebSocket-Extensions")


def test_the_server_declines_compression_by_default(server: RunningServer) -> None:
    assert asyncio.run(_negotiated(server)) is None


def test_the_server_compresses_when_the_setting_is_on(
    database_url: str, schema: str, tmp_path: Path
) -> None:
    settings: Settings = replace(settings_for(database_url, tmp_path), websocket_compression=True)
    service: Service = bootstrap(settings, schema=schema)
    running = RunningServer(service)
    try:
        running.start()
        assert "permessage-deflate" in (asyncio.run(_negotiated(running)) or "")
    finally:
        running.stop()
        service.close()


def test_the_setting_reads_on_and_off() -> None:
    base = {"TRIAL_JWT_SECRET": "s" * 40}
    assert Settings.from_env(base).websocket_compression is False
    assert Settings.from_env({**base, "TRIAL_WS_COMPRESSION": "on"}).websocket_compression
    assert not Settings.from_env({**base, "TRIAL_WS_COMPRESSION": "off"}).websocket_compression
