"""What every scenario shares: a fresh schema, the API in its own process, figures and tables."""

from __future__ import annotations

import atexit
import functools
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from infra.bootstrap import Service, bootstrap
from infra.config import Settings
from infra.database import EmbeddedPostgres
from projections.runner import STORES, Projector, differences

JWT_SECRET = "bench-" + "b" * 40
PROJECTOR_GRACE_S = 2.0  # a running projector gets this long to finish before one starts here


@functools.cache
def database_url() -> str:
    """TRIAL_DATABASE_URL, else TRIAL_TEST_DATABASE_URL (as CI sets it), else an embedded
    PostgreSQL in var/bench/pgdata, started for this run and stopped when it ends."""
    for name in ("TRIAL_DATABASE_URL", "TRIAL_TEST_DATABASE_URL"):
        if url := os.environ.get(name):
            return url
    embedded = EmbeddedPostgres(Path("var/bench/pgdata"))
    atexit.register(embedded.stop)
    return embedded.start()


@dataclass(frozen=True)
class Figure:
    """One measured figure, with the issue's baseline and target beside it where it names one."""

    scenario: str
    figure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    target: str | None = None
    holds: bool | None = None
    note: str | None = None

    def as_json(self) -> str:
        fields = {k: v for k, v in self.__dict__.items() if v is not None}
        return json.dumps(fields)


def report(figures: Sequence[Figure]) -> None:
    """One JSON object per figure, then a human table."""
    for figure in figures:
        print(figure.as_json(), flush=True)
    print(f"\n{'scenario':<18}{'figure':<44}{'value':>12} {'unit':<10}{'baseline':>12}  target")
    for f in figures:
        base = "" if f.baseline is None else f"{f.baseline:,.1f}"
        target = "" if f.target is None else f"{f.target} ({'holds' if f.holds else 'MISSED'})"
        value = f"{f.value:>12,.3f}" if f.unit == "ratio" else f"{f.value:>12,.1f}"
        print(f"{f.scenario:<18}{f.figure:<44}{value} {f.unit:<10}{base:>12}  {target}")
    print(flush=True)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (0 when there are none)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(round(fraction * len(ordered) + 0.5) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


def fresh_schema() -> str:
    return f"bench_{uuid.uuid4().hex[:8]}"


def drop_schema(schema: str) -> None:
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def settings() -> Settings:
    return Settings.from_env(
        {
            "TRIAL_DATABASE_URL": database_url(),
            "TRIAL_DATA_DIR": "var/bench",
            "TRIAL_JWT_SECRET": JWT_SECRET,
            "TRIAL_SEAL_INTERVAL_S": "0",
        }
    )


@contextmanager
def service_in_fresh_schema() -> Iterator[Service]:
    """The service in a new schema, closed and the schema dropped afterwards."""
    schema = fresh_schema()
    service = bootstrap(settings(), schema=schema)
    try:
        yield service
    finally:
        service.close()
        drop_schema(schema)


def postgres_cpu_seconds() -> float:
    """The CPU time so far of every PostgreSQL process on this machine (user and system): the
    bench's database is the only busy one while a scenario runs. 0 when it runs elsewhere."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # it exited meanwhile
        name, _, rest = text.partition(" (")[2].rpartition(")")
        if name.startswith("postgres"):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ApiProcess:
    """``trial serve`` (with its projector unless told not to) in a separate process, so its
    memory is its own; ``trial project`` instead when ``command`` says so."""

    def __init__(
        self,
        schema: str,
        command: Sequence[str] = ("serve",),
        module: str = "infra.cli",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "TRIAL_DATABASE_URL": database_url(),
            "TRIAL_DATABASE_SCHEMA": schema,
            "TRIAL_JWT_SECRET": JWT_SECRET,
            "TRIAL_SEAL_INTERVAL_S": "0",
            "TRIAL_DATA_DIR": "var/bench",
            **(env or {}),
        }
        self.log = Path("var/bench") / f"api-{schema}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *command]
            + (["--port", str(self.port)] if command[0] == "serve" else []),
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API process exited; see {self.log}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"the API did not start within {timeout:.0f} s; see {self.log}")

    def wait_settled(self, timeout: float = 60.0) -> None:
        """Until /health shows every read model caught up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=5).json()
            if not any(p["lag"] for p in health["projections"]):
                return
            time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """The process's CPU time so far (user and system, all its threads)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        """VmHWM: the process's peak resident memory so far."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


@contextmanager
def api_process(schema: str, projector: bool = True) -> Iterator[ApiProcess]:
    """The API; with ``projector=False`` it serves only, and ``trial project`` runs beside it in
    a process of its own (the scale-out deployment of the README)."""
    api = ApiProcess(schema, ("serve",) if projector else ("serve", "--no-projector"))
    beside = None if projector else ApiProcess(schema, ("project",))
    try:
        api.wait_ready()
        yield api
    finally:
        api.stop()
        if beside is not None:
            beside.stop()


def read_models_rebuilt(
    service: Service, scenario: str, names: Sequence[str] = tuple(STORES), timeout: float = 600.0
) -> Figure:
    """After a scenario, nothing lost: every read model caught up with the events (projected
    here when no projector is running any more) and equal, document for document, to a
    rebuild from them (those of ``names``). A figure; printed and raised when one differs."""
    app = service.app
    head = app.recorder.max_notification_id() or 0
    projector = None
    started = time.monotonic()
    try:
        while min(service.read_models[name].position(app.name) for name in names) < head:
            waited = time.monotonic() - started
            if projector is None and waited > PROJECTOR_GRACE_S:
                projector = Projector(service.env, names)
                projector.start()
            if waited > timeout:
                raise AssertionError(f"{scenario}: the read models did not reach {head}")
            time.sleep(0.05)
    finally:
        if projector is not None:
            projector.stop()
    differing = differences(app, names)
    count = sum(len(keys) for keys in differing.values())
    figure = Figure(scenario, "read models equal a rebuild: documents differing", count,
                    "documents", target="== 0", holds=count == 0)  # fmt: skip
    if count:
        print(figure.as_json(), flush=True)  # report() prints it otherwise
        raise AssertionError(f"{scenario}: read models differ from a rebuild: {differing}")
    return figure
