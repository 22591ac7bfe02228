"""Regression gate: compare a run's scores with a committed baseline, with tolerances.

A baseline (``results/baselines/*.csv``) holds one row per (dataset, scene, method, metric,
protocol) with the value, status, the metric's version and the date the row was last written.
Timing rows are never part of a baseline (they depend on the machine).

:func:`compare` classifies every baseline row:

- ``ok``: same status, and ``|ours - baseline| <= atol + rtol * |baseline|`` (NaN equals NaN);
- ``improved``: outside tolerance in the metric's better direction, or error -> ok (passes,
  reported);
- ``regressed``: outside tolerance in the worse direction, ok -> error, NaN on one side only;
- ``missing``: the baseline row has no counterpart in the run;
- ``version``: the metric's version differs from the baseline's (refresh with ``--update``).

Rows of the run that the baseline lacks are ``new`` (reported, pass). :func:`update` merges a
run into a baseline: new and changed rows are written with today's date, unchanged rows keep
theirs, rows the run does not cover are kept.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

KEY = ["dataset", "scene", "method", "metric", "protocol"]
BASELINE_COLUMNS = [*KEY, "value", "status", "metric_version", "updated"]
DEFAULT_ATOL = 1e-8
DEFAULT_RTOL = 1e-6
FAILING = ("regressed", "missing", "version")


@dataclass
class CheckResult:
    table: pd.DataFrame  # one row per compared key with a 'verdict' column

    @property
    def failed(self) -> bool:
        return bool(self.table["verdict"].isin(FAILING).any())

    def counts(self) -> dict[str, int]:
        return self.table["verdict"].value_counts().to_dict()


def run_rows(run_dir: str | Path) -> pd.DataFrame:
    """A run's score rows (timing rows dropped) with the metric versions from its run.json."""
    from bench.rundir import read_results

    run_dir = Path(run_dir)
    df = read_results(run_dir)
    df = df[~df["metric"].str.startswith("time_")].copy()
    versions: dict = {}
    meta = run_dir / "run.json"
    if meta.is_file():
        versions = json.loads(meta.read_text()).get("metrics", {})
    df["metric_version"] = df["metric"].map(lambda m: str(versions.get(m, "")))
    return df


def read_baseline(path: str | Path) -> pd.DataFrame:
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"{path}: baseline not found; create it with `python -m bench check RUN_DIR --baseline "
            f"{path} --update`"
        )
    df = pd.read_csv(
        path, dtype={"scene": str, "metric_version": str}, keep_default_na=False, na_values=["", "nan", "NaN"]
    )
    missing = [c for c in BASELINE_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(f"{path}: not a baseline file (missing columns {', '.join(missing)})")
    df["metric_version"] = df["metric_version"].fillna("").astype(str)
    return df


def _direction(metric: str) -> bool:
    from bench.report import higher_is_better

    return higher_is_better(metric)


def _verdict(r, atol: float, rtol: float) -> tuple[str, float]:
    import numpy as np
    import pandas as pd

    if pd.isna(r["status_run"]):
        return "missing", math.nan
    if r["metric_version"] and r["metric_version_run"] and r["metric_version"] != r["metric_version_run"]:
        return "version", math.nan
    b, o = r["value"], r["value_run"]
    b_ok, o_ok = r["status"] == "ok" and np.isfinite(b), r["status_run"] == "ok" and np.isfinite(o)
    if b_ok and o_ok:
        d = float(o - b)
        if abs(d) <= atol + rtol * abs(b):
            return "ok", d
        return ("improved" if (d > 0) == _direction(r["metric"]) else "regressed"), d
    if not b_ok and not o_ok:
        return "ok", math.nan  # NaN (or error) in both: unchanged
    return ("improved" if o_ok else "regressed"), math.nan


def compare(
    run_dir: str | Path, baseline: str | Path, atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL
) -> CheckResult:
    """Compare the scores of ``run_dir`` with ``baseline`` (see module docstring)."""
    ours = run_rows(run_dir)
    base = read_baseline(baseline)
    m = base.merge(
        ours[[*KEY, "value", "status", "metric_version"]],
        on=KEY,
        how="outer",
        suffixes=("", "_run"),
        indicator=True,
    )
    verdicts, deltas = [], []
    for r in m.to_dict("records"):
        if r["_merge"] == "right_only":
            v, d = "new", math.nan
        else:
            v, d = _verdict(r, atol, rtol)
        verdicts.append(v)
        deltas.append(d)
    m["verdict"], m["delta"] = verdicts, deltas
    cols = [
        *KEY,
        "value",
        "value_run",
        "delta",
        "status",
        "status_run",
        "metric_version",
        "metric_version_run",
        "verdict",
    ]
    return CheckResult(m[cols].rename(columns={"value": "baseline", "value_run": "ours"}))


def format_report(res: CheckResult, max_rows: int = 60) -> str:
    """A readable diff: every failing and improved row (up to ``max_rows``) and a count line."""
    t = res.table
    shown = t[t["verdict"].isin([*FAILING, "improved"])]
    lines = []
    if len(shown):
        w = shown.head(max_rows)
        head = (
            f"{'verdict':<10} {'dataset':<10} {'scene':<14} {'method':<14} {'metric':<16} "
            f"{'baseline':>14} {'ours':>14} {'delta':>11}"
        )
        lines.append(head)
        lines.append("-" * len(head))
        for r in w.itertuples(index=False):
            extra = ""
            if r.verdict == "version":
                extra = (
                    f"  metric version {r.metric_version} -> {r.metric_version_run}; refresh with --update"
                )
            elif r.status != r.status_run and isinstance(r.status_run, str):
                extra = f"  status {r.status} -> {r.status_run}"
            lines.append(
                f"{r.verdict:<10} {r.dataset:<10} {str(r.scene):<14} {r.method:<14} {r.metric:<16} "
                f"{_f(r.baseline):>14} {_f(r.ours):>14} {_f(r.delta, 3):>11}{extra}"
            )
        if len(shown) > max_rows:
            lines.append(f"... and {len(shown) - max_rows} more")
    c = res.counts()
    lines.append(
        "check: "
        + ", ".join(f"{k} {c.get(k, 0)}" for k in ("ok", "improved", "new", *FAILING))
        + (" -> FAIL" if res.failed else " -> pass")
    )
    return "\n".join(lines)


def _f(x, digits: int = 8) -> str:
    import numpy as np

    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "nan"
    return f"{x:.{digits}g}"


def update(
    run_dir: str | Path, baseline: str | Path, atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL
) -> dict[str, int]:
    """Merge the run into the baseline file (created if absent); returns counts of added/changed/kept."""
    import pandas as pd

    from bench.rundir import atomic_write_text

    baseline = Path(baseline)
    ours = run_rows(run_dir)
    today = _dt.date.today().isoformat()
    old = read_baseline(baseline) if baseline.is_file() else pd.DataFrame(columns=BASELINE_COLUMNS)
    old_idx = {tuple(r[k] for k in KEY): r for r in old.to_dict("records")}
    out, added, changed, same = {}, 0, 0, 0
    for r in ours.to_dict("records"):
        k = tuple(r[c] for c in KEY)
        new = {
            **{c: r[c] for c in KEY},
            "value": r["value"],
            "status": r["status"],
            "metric_version": r["metric_version"],
            "updated": today,
        }
        prev = old_idx.get(k)
        if prev is None:
            added += 1
        else:
            probe = {
                **prev,
                "value_run": r["value"],
                "status_run": r["status"],
                "metric_version_run": r["metric_version"],
            }
            if _verdict(probe, atol, rtol)[0] == "ok" and prev["status"] == r["status"]:
                new = {c: prev[c] for c in BASELINE_COLUMNS}
                same += 1
            else:
                changed += 1
        out[k] = new
    for k, prev in old_idx.items():
        out.setdefault(k, {c: prev[c] for c in BASELINE_COLUMNS})
    df = pd.DataFrame(list(out.values()), columns=BASELINE_COLUMNS).sort_values(KEY, kind="stable")
    baseline.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(baseline, df.to_csv(index=False))
    return {"added": added, "changed": changed, "unchanged": same, "kept": len(out) - added - changed - same}
