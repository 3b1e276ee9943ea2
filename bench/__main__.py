"""The benchmark suite: ``python -m bench [SCENARIO ...] [--quick]``.

Each scenario measures the project and its baselines in the same run on the same PostgreSQL
(TRIAL_DATABASE_URL, else TRIAL_TEST_DATABASE_URL, else an embedded server), in a fresh schema
dropped afterwards, and prints one JSON object per figure and then a table. Every scenario that
writes read models (all but odm-export, which reads the events only) ends by checking that each
read model equals a rebuild from the events, document for document, and fails when one does not.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from bench.common import Figure, report

SCENARIOS = {
    "append": "bench.append",
    "graphql-commands": "bench.graphql_commands",
    "rebuild": "bench.rebuild",
    "point-in-time": "bench.point_in_time",
    "fan-out": "bench.fan_out",
    "catch-up": "bench.read_side",
    "odm-export": "bench.odm_export",
    "standby": "bench.standby",
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], metavar="SCENARIO",
                        help=f"any of {', '.join(SCENARIOS)} (default: all)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes (seconds each)")
    args = parser.parse_args()
    figures: list[Figure] = []
    for name in args.scenarios or list(SCENARIOS):
        started = time.perf_counter()
        print(f"# {name} ({'quick' if args.quick else 'full'})", flush=True)
        module = importlib.import_module(SCENARIOS[name])
        found: list[Figure] = module.run(args.quick)
        report(found)
        print(f"# {name}: {time.perf_counter() - started:.0f} s\n", flush=True)
        figures.extend(found)
    if len(args.scenarios) != 1:
        print("# all figures")
        report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
