"""The ``trial`` command line: serve, project, rebuild, seal, verify, token, export, demo."""

from __future__ import annotations

import argparse
import gc
import getpass
import logging
import signal
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

from domain.vocabulary import Role
from infra.audit import PeriodicSealer
from infra.audit import seal as seal_streams
from infra.audit import verify as verify_chains
from infra.bootstrap import ConfigurationError, bootstrap, jwt_secret
from infra.config import Settings


def serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app, server_options

    # uvicorn re-raises SIGTERM after its graceful shutdown: turn it into SystemExit so that the
    # service (and the embedded database) is closed below instead of the process dying first.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    service = bootstrap(settings)
    where = "the embedded PostgreSQL" if service.embedded else "TRIAL_DATABASE_URL"
    logging.getLogger("trial").info(
        "serving on http://%s:%s/graphql (%s)", args.host, args.port, where
    )
    try:
        if args.projector:
            service.start_projector()
        if settings.seal_interval_s > 0:
            sealer = PeriodicSealer(service.app, settings.seal_interval_s)
            sealer.start()
            service.closers.append(sealer.stop)
        app = create_app(service)
        settle_garbage_collector()
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="info",
            **server_options(service),
        )
    finally:
        service.close()
    return 0


# Young-generation size before a collection (CPython's default is 700). With a thousand
# websocket connections open, the default triggered a full collection every ~2 s, each
# pausing every push for ~400 ms.
GC_THRESHOLDS = (50_000, 20, 10)


def settle_garbage_collector() -> None:
    """Move what start-up allocated out of the collector's sight and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def project(args: argparse.Namespace, settings: Settings) -> int:
    """Run the projections in this process only (API processes then use --no-projector)."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    service = bootstrap(settings)
    try:
        service.start_projector().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        service.close()
    return 0


def rebuild(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild read models from the first event beside the live ones, then swap them in."""
    from projections.runner import PROJECTIONS
    from projections.runner import rebuild as rebuild_read_model

    names = [args.name] if args.name else [p.name for p in PROJECTIONS]
    with bootstrap(settings) as service:
        for name in names:
            started = time.perf_counter()
            events = rebuild_read_model(service.app, name)
            seconds = time.perf_counter() - started
            rate = events / seconds if seconds else 0.0
            print(f"{name}: rebuilt from {events} events in {seconds:.2f} s ({rate:,.0f}/s)")
    return 0


def seal(args: argparse.Namespace, settings: Settings) -> int:
    """Record the head hash of every participant stream (see infra.audit)."""
    with bootstrap(settings) as service:
        done = seal_streams(service.app)
    if done.id is None:
        print("nothing to seal: no participant has an event yet")
    elif done.recorded:
        print(f"seal {done.id} at {done.sealed_at:%Y-%m-%dT%H:%M:%S%z}: {done.streams} streams")
    else:
        print(f"no stream changed since seal {done.id}; nothing recorded")
    return 0


def verify(args: argparse.Namespace, settings: Settings) -> int:
    """Recompute every hash chain; exit 1 and name the first break when one is broken."""
    with bootstrap(settings) as service:
        result = verify_chains(service.app)
    checked = f"{result.streams_checked} streams, {result.events_checked} events"
    if result.ok:
        print(f"ok: {checked}")
        return 0
    print(
        f"BROKEN: participant {result.first_broken_participant_id} at version "
        f"{result.first_broken_version}: {result.problem} ({checked} checked)"
    )
    return 1


def token(args: argparse.Namespace, settings: Settings) -> int:
    from api.auth import issue_token

    role = Role(args.role)
    secret = jwt_secret(settings)
    print(
        issue_token(
            secret,
            role,
            subject=args.sub or f"{role.value.lower()}-1",
            site=args.site,
            lifetime=timedelta(hours=args.hours),
        )
    )
    return 0


def demo(args: argparse.Namespace, settings: Settings) -> int:
    from infra.demo import record_demo_study

    with bootstrap(settings) as service:
        summary = record_demo_study(service.app, seed=args.seed)
    print(summary)
    return 0


def export(args: argparse.Namespace, settings: Settings) -> int:
    """Write a CDISC export as a reader with ``--role`` would receive it; the read is logged."""
    from api.auth import principal_from_claims
    from api.exports import export_odm, export_sdtm
    from domain.errors import TrialError
    from projections.cdisc import ExportError

    claims = {"sub": args.user or f"cli:{getpass.getuser()}", "role": args.role, "site": args.site}
    service = bootstrap(settings)
    try:
        principal = principal_from_claims(claims)
        if args.standard == "odm":
            done = export_odm(
                service, principal, Path(args.out), as_of=args.as_of,
                participant=args.participant, snapshot=args.snapshot,
            )  # fmt: skip
            kind = "snapshot" if args.snapshot else "transactions"
            print(f"{done.path}: ODM 1.3.2 {kind}, {len(done.participants)} participants, "
                  f"{done.events} events")  # fmt: skip
        else:
            folder = Path(args.out)
            folder.mkdir(parents=True, exist_ok=True)
            tabulated = export_sdtm(service, principal, folder, as_of=args.as_of,
                                    file_format=args.format)  # fmt: skip
            counts = ", ".join(f"{name} {n}" for name, n in tabulated.records.items())
            print(f"{folder}: SDTM ({args.format}) and define.xml for "
                  f"{len(tabulated.participants)} participants: {counts}")  # fmt: skip
    except (TrialError, ExportError) as error:
        print(f"trial export: {error}", file=sys.stderr)
        return 1
    finally:
        service.close()
    return 0


def _instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value} has no UTC offset (e.g. 2026-11-25T08:00Z)")
    return moment


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="trial", description="CHT101 trial data backend")
    commands = main.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="serve the GraphQL API")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument(
        "--no-projector",
        dest="projector",
        action="store_false",
        help="do not run the projections here (run `trial project` elsewhere)",
    )
    serve_cmd.set_defaults(run=serve)

    project_cmd = commands.add_parser("project", help="run the projections only")
    project_cmd.set_defaults(run=project)

    rebuild_cmd = commands.add_parser("rebuild", help="rebuild read models from the events")
    rebuild_cmd.add_argument(
        "name", nargs="?", help="participant_status, study_summary or safety_ledger (default: all)"
    )
    rebuild_cmd.set_defaults(run=rebuild)

    seal_cmd = commands.add_parser("seal", help="record the head hash of every stream")
    seal_cmd.set_defaults(run=seal)

    verify_cmd = commands.add_parser(
        "verify", help="recompute every hash chain; exit 1 if one is broken"
    )
    verify_cmd.set_defaults(run=verify)

    token_cmd = commands.add_parser("token", help="print a signed JWT for the configured secret")
    token_cmd.add_argument("--role", required=True, choices=[role.value for role in Role])
    token_cmd.add_argument("--site", help="site code (required for SITE_STAFF, INVESTIGATOR)")
    token_cmd.add_argument("--sub", help="user id (default: <role>-1)")
    token_cmd.add_argument("--hours", type=float, default=12.0, help="lifetime (default 12)")
    token_cmd.set_defaults(run=token)

    export_cmd = commands.add_parser("export", help="write the record in a CDISC standard")
    formats = export_cmd.add_subparsers(dest="standard", required=True)
    odm_cmd = formats.add_parser("odm", help="CDISC ODM 1.3.2 with its audit trail")
    odm_cmd.add_argument("--out", required=True, help="the file to write")
    odm_cmd.add_argument("--snapshot", action="store_true",
                         help="the values as of --as-of instead of every transaction")  # fmt: skip
    odm_cmd.add_argument("--participant", type=UUID, help="one participant's id")
    sdtm_cmd = formats.add_parser("sdtm", help="SDTM datasets and their define.xml")
    sdtm_cmd.add_argument("--out", required=True, help="the directory to write the files to")
    sdtm_cmd.add_argument("--format", choices=["dataset-json", "xpt"], default="dataset-json",
                          help="Dataset-JSON 1.1 (default) or SAS V5 transport files")  # fmt: skip
    readers = [Role.AUDITOR.value, Role.SPONSOR.value, Role.MONITOR.value]
    for command in (odm_cmd, sdtm_cmd):
        command.add_argument("--as-of", type=_instant, help="the record as of this instant")
        command.add_argument(
            "--role", default=Role.AUDITOR.value, choices=readers,
            help="export as this role sees the record (default AUDITOR)",
        )  # fmt: skip
        command.add_argument("--site", help="a MONITOR's sites, comma-separated")
        command.add_argument("--user", help="who the read-access log names (default cli:<login>)")
        command.set_defaults(run=export)

    demo_cmd = commands.add_parser("demo", help="record a synthetic 15-participant study")
    demo_cmd.add_argument("--seed", type=int, default=101)
    demo_cmd.set_defaults(run=demo)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    try:
        return int(args.run(args, Settings.from_env()))
    except ConfigurationError as error:
        print(f"trial: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
