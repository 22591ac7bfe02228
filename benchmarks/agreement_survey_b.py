"""Per-scene agreement with the Yu Liu 2020 survey's images: ``agreement_survey.py --per-scene``.

Usage (unchanged)::

    python benchmarks/agreement_survey_b.py --methods nsct,sr [--param KEY=VALUE] [--json out.json]

The implementation is :mod:`agreement_survey` (one module for both views); this entry point keeps the old
command and names (``SCENES`` = per-scene tuples, ``measure(method, scenes, **params)``, ``available``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agreement_survey import (  # noqa: E402, F401
    FAITHFUL_SHARE,
    SURVEY_NAME,
    agreement,
    available,
)
from agreement_survey import (
    main as _main,
)
from agreement_survey import measure_rows as measure  # noqa: E402, F401


def main(argv: list[str] | None = None) -> int:
    return _main(argv, default_methods="nsct,sr", per_scene=True)


if __name__ == "__main__":
    raise SystemExit(main())
