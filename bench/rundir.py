"""A run folder and its schema: ``results.csv``, ``artifacts.csv``, ``run.json`` (one writer and reader each).

Written by the runner at the end of a run, atomically; read by every view (tables, plots, html,
check, paper), which import this module and never the executor or the result cache.

``results.csv`` (long format, :data:`RESULT_COLUMNS`)
    - ``metric = time_fuse_s``: median fusion time over ``repeats`` (seconds); ``time_fuse_iqr_s``:
      its IQR. A fusion that raised gives a ``time_fuse_s`` row with ``status = error``, NaN and the
      message, and no metric rows. A scene with more sources than a method supports gives a
      ``time_fuse_s`` row with ``status = skipped``.
    - A metric that raised gives ``status = error`` and NaN; never 0.
    - Ground-truth metrics (``needs_reference``) produce no row on scenes without a reference, and
      metrics defined for at most ``MetricInfo.max_sources`` sources none on scenes with more.
``artifacts.csv`` (:data:`ARTIFACT_COLUMNS`)
    Where each fused image and decision map lives (the result cache), with the sources.
``run.json``
    Configuration, provenance (:mod:`bench.provenance`), counts and compute profile.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bench.atomicio import atomic_write_text
from bench.errors import UserError

RESULT_COLUMNS = ["dataset", "scene", "method", "metric", "value", "status", "message", "protocol", "device"]
ARTIFACT_COLUMNS = ["dataset", "scene", "method", "fused", "decision_map", "fused_sha256", "sources"]
TIME_METRIC = "time_fuse_s"
TIME_IQR_METRIC = "time_fuse_iqr_s"

__all__ = [
    "ARTIFACT_COLUMNS", "RESULT_COLUMNS", "TIME_IQR_METRIC", "TIME_METRIC", "RunFolder", "atomic_write_text",
    "read_png_u8", "read_results", "write_results",
]


class RunFolder:
    """The files of one run folder; each has exactly one writer and one reader here."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def results_csv(self) -> Path:
        return self.path / "results.csv"

    @property
    def artifacts_csv(self) -> Path:
        return self.path / "artifacts.csv"

    @property
    def run_json(self) -> Path:
        return self.path / "run.json"

    # --- results.csv -----------------------------------------------------------------------
    def write_results(self, df) -> None:
        """Write ``results.csv`` atomically (float values round-trip exactly)."""
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.results_csv, df.to_csv(index=False, float_format=None))

    def read_results(self):
        """Read ``results.csv``; a missing or foreign file is a user error."""
        import pandas as pd

        path = self.results_csv
        if not path.is_file():
            raise UserError(
                f"{path}: no results.csv here; is this a run folder (python -m bench run --out DIR)?"
            )
        df = pd.read_csv(
            path,
            keep_default_na=False,
            na_values=["", "nan", "NaN"],
            dtype={"scene": str, "method": str, "metric": str, "message": str, "status": str},
        )
        missing = [c for c in RESULT_COLUMNS if c not in df.columns]
        if missing:
            raise UserError(f"{path}: not a results file (missing columns {', '.join(missing)})")
        df["message"] = df["message"].fillna("")
        from bench.summary import validate_results

        return validate_results(df, str(path))  # non-numeric values, disagreeing duplicate rows

    # --- artifacts.csv ---------------------------------------------------------------------
    def write_artifacts(self, rows: list[dict]) -> None:
        import pandas as pd

        self.path.mkdir(parents=True, exist_ok=True)
        text = pd.DataFrame(rows, columns=ARTIFACT_COLUMNS).to_csv(index=False)
        atomic_write_text(self.artifacts_csv, text)

    def read_artifacts(self):
        """``artifacts.csv`` as a DataFrame (empty with the columns when the run has none)."""
        import pandas as pd

        if not self.artifacts_csv.is_file():
            return pd.DataFrame(columns=ARTIFACT_COLUMNS)
        return pd.read_csv(self.artifacts_csv, dtype=str, keep_default_na=False)

    # --- run.json --------------------------------------------------------------------------
    def write_meta(self, meta: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.run_json, json.dumps(meta, indent=2, default=str) + "\n")

    def read_meta(self) -> dict[str, Any]:
        """``run.json`` as a dict ({} when absent or unreadable: older folders, hand-made results)."""
        try:
            return json.loads(self.run_json.read_text())
        except (OSError, ValueError):
            return {}


def read_png_u8(path: str | os.PathLike):
    """Read an 8-bit PNG artifact (fused image or decision map) as uint8, RGB order."""
    import cv2
    import numpy as np

    from bench.imageio import swap_red_blue

    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if a is None:
        raise OSError(f"{path}: cannot read cached image")
    return np.ascontiguousarray(swap_red_blue(a))


def write_results(out: str | os.PathLike, df) -> None:
    """Write ``results.csv`` of run folder ``out`` (see :meth:`RunFolder.write_results`)."""
    RunFolder(out).write_results(df)


def read_results(run_dir: str | os.PathLike):
    """Read ``results.csv`` of a run folder (see :meth:`RunFolder.read_results`)."""
    return RunFolder(run_dir).read_results()
