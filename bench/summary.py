"""End-of-run summary, ``--strict``, and the consistency checks of a results table.

:func:`format_summary` turns a run's long-format rows (``results.csv``) and its counters into the
lines printed on stderr at the end of every run: computed / cached counts, errors (cached ones
included), NaN values, and the first message per failing method and per failing metric, with a hint
to ``--retry-errors`` when cached errors were reused. :func:`has_errors` is what ``run --strict``
exits non-zero on. :func:`validate_results` refuses a results table with non-numeric values or with
duplicate rows that disagree (one-line :class:`bench.errors.UserError` naming the rows).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from bench.errors import UserError, is_environmental_message

TIME_METRICS = ("time_fuse_s", "time_fuse_iqr_s")
KEY_COLUMNS = ["dataset", "scene", "method", "metric", "protocol"]


def has_errors(df: pd.DataFrame) -> bool:
    """True when any row of the run is an error (``run --strict`` exits 1)."""
    return bool((df["status"] == "error").any()) if len(df) else False


def format_summary(df: pd.DataFrame, counts: Mapping | None = None, max_messages: int = 12) -> str:
    """The end-of-run summary (several short lines; see module docstring)."""
    counts = dict(counts or {})
    fuse_rows = df[df["metric"] == TIME_METRICS[0]]
    score_rows = df[~df["metric"].isin(TIME_METRICS)]
    fuse_err = fuse_rows[fuse_rows["status"] == "error"]
    score_err = score_rows[score_rows["status"] == "error"]
    values = pd.to_numeric(score_rows["value"], errors="coerce")
    nan_ok = int(((score_rows["status"] == "ok") & values.isna()).sum())
    cached_fuse_err = int(counts.get("fuse_errors_cached", 0))
    cached_score_err = max(len(score_err) - int(counts.get("score_errors", len(score_err))), 0)
    skipped = int((fuse_rows["status"] == "skipped").sum())
    lines = [
        "summary: computed {c}, cached {k}; fusion errors {fe} ({fec} cached), metric errors {se} ({sec} "
        "cached), NaN values {nan}{sk}".format(
            c=counts.get("computed", "?"),
            k=counts.get("cached", "?"),
            fe=len(fuse_err),
            fec=cached_fuse_err,
            se=len(score_err),
            sec=cached_score_err,
            nan=nan_ok,
            sk=f", skipped {skipped}" if skipped else "",
        )
    ]
    shown = 0
    for kind, rows, col in (("method", fuse_err, "method"), ("metric", score_err, "metric")):
        for name, grp in rows.groupby(col, sort=True):
            if shown >= max_messages:
                break
            msg = str(grp["message"].iloc[0])
            lines.append(f"  {kind} {name}: {len(grp)} error row(s); first: {msg}")
            shown += 1
    n_groups = fuse_err["method"].nunique() + score_err["metric"].nunique()
    if n_groups > shown:
        lines.append(f"  ... and {n_groups - shown} more failing methods/metrics (see results.csv)")
    if cached_fuse_err or cached_score_err:
        lines.append("  cached errors were reused; rerun with --retry-errors to recompute them")
    if any(is_environmental_message(str(m)) for m in pd.concat([fuse_err["message"], score_err["message"]])):
        lines.append("  environment errors (weights, data, imports, memory) are not cached: fix and rerun")
    return "\n".join(lines)


def validate_results(df: pd.DataFrame, path: str = "results.csv") -> pd.DataFrame:
    """Refuse non-numeric values and disagreeing duplicate rows; drop exact duplicates.

    Row numbers in messages are file lines (the header is line 1).
    """
    if len(df) == 0:
        return df
    raw = df["value"]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna() & ~raw.astype(str).str.strip().str.lower().isin(["", "nan", "inf", "-inf"])
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise UserError(
            f"{path}: line {i + 2}: value {str(raw.iloc[i])!r} is not a number "
            f"({int(bad.sum())} such row(s)); fix or regenerate the file"
        )
    df = df.assign(value=num.astype(float))
    keys = [c for c in KEY_COLUMNS if c in df.columns]
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        d = df[dup]
        for _, grp in d.groupby(keys, sort=False, dropna=False):
            vals = grp["value"].to_numpy()
            same = all((a == vals[0]) or (math.isnan(a) and math.isnan(vals[0])) for a in vals)
            if not same or grp["status"].nunique() > 1:
                lines = ", ".join(str(int(i) + 2) for i in grp.index)
                r = grp.iloc[0]
                raise UserError(
                    f"{path}: lines {lines} are duplicates of ({r['dataset']}, {r['scene']}, {r['method']}, "
                    f"{r['metric']}) with different values; keep one and rerun"
                )
        df = df.drop_duplicates(keys, keep="first")
    return df
