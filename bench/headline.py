"""The headline: which metrics a dataset's short table shows, the one rank aggregate, the counts line.

Per dataset the headline shows at most :data:`MAX_METRICS` metric columns. When the run computed no
more, all of them, ground-truth metrics first. Otherwise first the ground-truth metrics (one per
family, at most :data:`MAX_GT`), then the ``@core`` suite in its order (one per family), then the
mean fusion time; when the run computed none of ``@core``, the computed metrics in run order, one
per family.

The rank aggregate is the mean over the headline's *families* of each family's rank (the mean rank
of its ids), so a definition computed under three ids weighs as much as one computed once
(:func:`family_rank`). ``bench.report`` orders methods by it and prints it as ``rank``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

MAX_METRICS = 13  # + method, rank and time: 16 columns
MAX_GT = 3


def _info(metric: str):
    from bench.registry import METRICS

    return METRICS.get(metric).info if metric in METRICS else None


def headline_metrics(metrics: Sequence[str]) -> list[str]:
    """The headline's metric ids among the computed ``metrics`` (ids, run order)."""
    from metrics.suites import metric_family, suite_members

    computed = [m for m in metrics if not m.startswith("time_")]
    seen: set[str] = set()

    def pick(ids: Sequence[str], limit: int) -> list[str]:
        out = []
        for m in ids:
            fam = metric_family(m)
            if m in computed and fam not in seen and len(out) < limit:
                seen.add(fam)
                out.append(m)
        return out

    gt_order = [m for m in ["ssim_gt", "psnr_gt"] if m in computed] + [
        m for m in computed if (i := _info(m)) is not None and i.needs_reference
    ]
    if len(computed) <= MAX_METRICS:  # everything the user asked for fits: ground truth first, @core order
        gt_ids = [m for m in gt_order if m in computed]
        core_ids = [m for m in suite_members("core") if m in computed and m not in gt_ids]
        return list(dict.fromkeys(gt_ids + core_ids + computed))
    gt = pick(gt_order, MAX_GT)
    core = pick(suite_members("core"), MAX_METRICS - len(gt))
    if not core:
        core = pick(computed, MAX_METRICS - len(gt))
    return gt + core


def family_rank(cells: pd.DataFrame, metrics: Sequence[str], methods: Sequence[str]) -> pd.Series:
    """Per method: mean over the families of ``metrics`` of the family's mean rank (NaN: no rank).

    ``cells`` has one row per (method, metric) with a ``rank`` column (``bench.report``).

    >>> c = pd.DataFrame({"method": ["a", "b"] * 3, "metric": ["en", "en", "en@vifb", "en@vifb", "sd", "sd"],
    ...                   "rank": [1.0, 2.0, 1.0, 2.0, 2.0, 1.0]})
    >>> family_rank(c, ["en", "en@vifb", "sd"], ["a", "b"]).tolist()  # en counts once: (1 + 2) / 2
    [1.5, 1.5]
    """
    from metrics.suites import metric_family

    sub = cells[cells["metric"].isin(list(metrics))]
    if sub.empty:
        return pd.Series(math.nan, index=list(methods), dtype=float)
    fam = sub["metric"].map(metric_family)
    per_family = sub.assign(_family=fam).groupby(["method", "_family"])["rank"].mean()
    return per_family.groupby(level="method").mean().reindex(list(methods)).astype(float)


def counts(df: pd.DataFrame, run_counts: dict | None = None) -> dict:
    """Failure counts of a run's rows: errors, NaN values (status ok), skipped, and cached errors.

    ``run_counts`` (``RunSummary.counts``) tells how many errors were computed in this run; the other
    error rows came from the cache.
    """
    is_time = df["metric"].str.startswith("time_")
    fuse = df[df["metric"] == "time_fuse_s"]
    met = df[~is_time]
    out = {
        "fusion_errors": int((fuse["status"] == "error").sum()),
        "fusion_skipped": int((fuse["status"] == "skipped").sum()),
        "metric_errors": int((met["status"] == "error").sum()),
        "nan_values": int(((met["status"] == "ok") & met["value"].isna()).sum()),
    }
    if run_counts is not None:
        fresh_fuse = max(0, out["fusion_errors"] - int(run_counts.get("fuse_errors_cached", 0)))
        fresh = fresh_fuse + int(run_counts.get("score_errors", 0))
        out["cached_errors"] = max(0, out["fusion_errors"] + out["metric_errors"] - fresh)
    return out


def counts_line(df: pd.DataFrame, run_counts: dict | None = None) -> str:
    """``fusion errors 1, metric errors 3 (2 from the cache), NaN values 4, skipped 2`` style line."""
    c = counts(df, run_counts)
    parts = [f"fusion errors {c['fusion_errors']}", f"metric errors {c['metric_errors']}"]
    if "cached_errors" in c:
        parts.append(f"of which cached {c['cached_errors']}")
    parts += [f"NaN values {c['nan_values']}", f"skipped fusions {c['fusion_skipped']}"]
    return ", ".join(parts)
