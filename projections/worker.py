"""One part of a parallel rebuild: ``python -m projections.worker NAME HEAD PART PARTS``.

Started by ``projections.runner.rebuild`` with the application's settings in its environment;
folds the events up to HEAD of the participants in PART (of PARTS) and writes their documents
to the read model's aside table.
"""

from __future__ import annotations

import sys

from domain.application import TrialApplication
from projections.runner import rebuild_part


def main(argv: list[str]) -> int:
    name, head, part, parts = argv
    app = TrialApplication()
    try:
        rebuild_part(app, name, int(head), (int(part), int(parts)))
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
