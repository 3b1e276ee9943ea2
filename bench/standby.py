"""standby: ``participants`` query throughput with 0 and 1 hot standby, side by side.

A scratch primary and streaming standby (infra.clusters) on this machine; a study of
synthetic participants; then reader threads call the read side's ``participants`` (what the
GraphQL query runs) for a fixed time, in alternating blocks: all reads on the primary, then all
on the standby (TRIAL_READ_DATABASE_URL), four times. The standby runs on the same cores as the
primary here, so the figure is what routing costs or saves on one machine, not what a second
machine would add.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

from api import readside
from api.auth import Principal
from bench.common import JWT_SECRET, Figure, read_models_rebuilt
from bench.synthetic import load
from domain.vocabulary import Role
from infra.bootstrap import Service, bootstrap
from infra.clusters import Cluster
from infra.config import Settings

NAME = "standby"
SIZES = {"quick": (30, 0.5, 2), "full": (300, 3.0, 4)}  # participants, seconds a block, blocks
READERS = 4
AUDITOR = Principal("bench-auditor", Role.AUDITOR, None)


def run(quick: bool) -> list[Figure]:
    participants, seconds, blocks = SIZES["quick" if quick else "full"]
    directory = Path(tempfile.mkdtemp(prefix="trial-bench-standby-"))
    cluster = Cluster(directory / "c")
    try:
        cluster.create_primary()
        cluster.add_standby("standby")
        primary = _service(cluster, directory / "primary", None)
        reading = _service(cluster, directory / "standby", cluster.url("standby"))
        try:
            load(primary.app, participants)
            primary.start_projector()
            _caught_up(primary, reading)
            rates: dict[str, list[float]] = {"primary": [], "standby": []}
            for _ in range(blocks):
                rates["primary"].append(_throughput(primary, seconds))
                rates["standby"].append(_throughput(reading, seconds))
            rebuilt = read_models_rebuilt(primary, NAME)
        finally:
            reading.close()
            primary.close()
    finally:
        cluster.stop_all()
        shutil.rmtree(directory, ignore_errors=True)
    on_primary, on_standby = (sum(r) / len(r) for r in (rates["primary"], rates["standby"]))
    return [
        Figure(NAME, f"participants ({participants}), 0 standbys", on_primary, "queries/s"),
        Figure(NAME, f"participants ({participants}), 1 standby", on_standby, "queries/s",
               baseline=on_primary, baseline_name="0 standbys",
               note=f"{on_standby / on_primary:.2f} x, {blocks} alternating blocks each"),
        rebuilt,
    ]  # fmt: skip


def _service(cluster: Cluster, data: Path, read_url: str | None) -> Service:
    env = {
        "TRIAL_DATABASE_URL": cluster.url("primary"),
        "TRIAL_DATA_DIR": str(data),
        "TRIAL_JWT_SECRET": JWT_SECRET,
        "TRIAL_SEAL_INTERVAL_S": "0",
    }
    if read_url is not None:
        env["TRIAL_READ_DATABASE_URL"] = read_url
    return bootstrap(Settings.from_env(env), schema="bench_standby")


def _caught_up(primary: Service, reading: Service, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    head = primary.app.recorder.max_notification_id() or 0
    while True:
        standby = reading.reads.standbys[0]
        positions = [lag.position for lag in primary.read_models.lags()]
        standby.check()
        if min(positions) >= head and min(standby.positions.values(), default=0) >= head:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the standby did not reach position {head}: {standby}")
        time.sleep(0.05)


def _throughput(service: Service, seconds: float) -> float:
    """``participants`` queries a second from READERS threads over ``seconds``."""
    done = [0] * READERS
    stop = time.monotonic() + seconds

    def reader(index: int) -> None:
        while time.monotonic() < stop:
            readside.participants(service, AUDITOR)
            done[index] += 1

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)
