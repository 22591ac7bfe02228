"""Ranked tables from a run's raw ``results.csv`` (a generated view; never edited by hand).

Per dataset and metric: mean +- std over the scenes with a value, the rank of the mean (ties share
the best rank), first-place counts ``(n)`` where every method tied at the best value of a scene
scores (the SESF paper's rule), the number of failures, a bootstrap 95% CI of the mean and a
paired Wilcoxon test of the leader against each method (Holm-corrected; ``bench.significance``).
Per method: the average of its per-metric ranks and the mean fusion time.

Written as Markdown (``tables.md``), CSV (``summary.csv``, long format with the CIs and p-values)
and LaTeX (``tables.tex``) by :func:`write_tables`; ``python -m bench report RUN_DIR`` also draws
the figures and ``report.html``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bench.report_tex import _tex_escape, to_latex  # noqa: F401  (tables.tex; re-exported)
from bench.rundir import TIME_IQR_METRIC, TIME_METRIC

ALPHA = 0.05
TIED_MARK = "†"


def higher_is_better(metric: str) -> bool:
    """Ranking direction from the metric registry (times are lower-is-better)."""
    if metric.startswith("time_"):
        return False
    from bench.registry import METRICS, get_metric

    if metric in METRICS:
        return get_metric(metric).info.higher_is_better
    warnings.warn(f"metric {metric!r} is not registered; ranking it higher-is-better", stacklevel=2)
    return True


@dataclass
class DatasetSummary:
    """Summary tables of one dataset."""

    dataset: str
    cells: pd.DataFrame  # one row per (method, metric)
    methods: pd.DataFrame  # one row per method, in ranked order
    metrics: list[str]
    n_scenes: int
    headline: list[str] = field(default_factory=list)  # metric ids of the headline table (bench.headline)


def _first_places(wide: pd.DataFrame, hib: bool) -> pd.Series:
    """Per method, the number of scenes (rows) where its value equals the best; ties all score."""
    best = wide.max(axis=1) if hib else wide.min(axis=1)
    hits = wide.eq(best, axis=0) & wide.notna()
    return hits.sum(axis=0).astype(int)


def summarize_dataset(
    df: pd.DataFrame, dataset: str, method_order: list[str] | None = None
) -> DatasetSummary:
    """Build the summary of one dataset from long-format results rows."""
    from bench.significance import bootstrap_ci, versus_leader

    d = df[df["dataset"] == dataset]
    methods = method_order or list(dict.fromkeys(d["method"]))
    methods = [m for m in methods if m in set(d["method"])]
    metrics = [m for m in dict.fromkeys(d["metric"]) if not m.startswith("time_")]
    scenes = list(dict.fromkeys(d["scene"]))
    cells = []
    for metric in metrics:
        sub = d[d["metric"] == metric]
        ok = sub[sub["status"] == "ok"]
        wide = ok.pivot_table(index="scene", columns="method", values="value", aggfunc="first", dropna=False)
        wide = wide.reindex(index=scenes, columns=methods)
        hib = higher_is_better(metric)
        means = wide.mean(axis=0)
        ranks = (means if hib else -means).rank(ascending=False, method="min")
        firsts = _first_places(wide, hib)
        leader = None
        if means.notna().any():
            leader = means.idxmax() if hib else means.idxmin()
        tests = versus_leader({m: wide[m].to_numpy() for m in methods}, leader, hib) if leader else {}
        for m in methods:
            col = wide[m].to_numpy(dtype=np.float64)
            fin = col[np.isfinite(col)]
            n_fail = int(((sub["method"] == m) & ((sub["status"] != "ok") | sub["value"].isna())).sum())
            lo, hi = bootstrap_ci(fin)
            p_raw, p_holm = tests.get(m, (math.nan, math.nan))
            cells.append(
                {
                    "method": m,
                    "metric": metric,
                    "higher_is_better": hib,
                    "mean": float(means[m]),
                    "std": float(np.std(fin, ddof=1)) if fin.size > 1 else math.nan,
                    "n": int(fin.size),
                    "n_failed": n_fail,
                    "ci95_low": lo,
                    "ci95_high": hi,
                    "rank": float(ranks[m]) if np.isfinite(ranks[m]) else math.nan,
                    "first_place": int(firsts[m]),
                    "leader": m == leader,
                    "p_vs_leader": p_raw,
                    "p_holm": p_holm,
                    "tied_with_leader": bool(m != leader and leader is not None and not (p_holm < ALPHA)),
                }
            )
    cells_df = pd.DataFrame(
        cells,
        columns=[
            "method",
            "metric",
            "higher_is_better",
            "mean",
            "std",
            "n",
            "n_failed",
            "ci95_low",
            "ci95_high",
            "rank",
            "first_place",
            "leader",
            "p_vs_leader",
            "p_holm",
            "tied_with_leader",
        ],
    )
    from bench.headline import headline_metrics

    headline = headline_metrics(metrics)
    meth = _method_table(d, methods, cells_df, headline)
    return DatasetSummary(dataset, cells_df, meth, metrics, len(scenes), headline)


def _method_table(
    d: pd.DataFrame, methods: list[str], cells: pd.DataFrame, headline: list[str] | None = None
) -> pd.DataFrame:
    """Per method: the rank aggregate over the headline's metric families (``avg_rank``; over every
    metric's family when ``headline`` is empty), the same over all metrics (``avg_rank_all``), time
    and failure counts; rows in ranked order."""
    from bench.headline import family_rank

    all_metrics = list(dict.fromkeys(cells["metric"]))
    rank_all = family_rank(cells, all_metrics, methods)
    rank_head = family_rank(cells, headline, methods) if headline else rank_all
    mrows = d[~d["metric"].str.startswith("time_")]
    t = d[d["metric"] == TIME_METRIC]
    rows = []
    for m in methods:
        tm = t[(t["method"] == m) & (t["status"] == "ok")]["value"].to_numpy(dtype=np.float64)
        tm = tm[np.isfinite(tm)]
        iqr = d[(d["metric"] == TIME_IQR_METRIC) & (d["method"] == m)]["value"].to_numpy(dtype=np.float64)
        rows.append(
            {
                "method": m,
                "avg_rank": float(rank_head[m]),
                "avg_rank_all": float(rank_all[m]),
                "time_mean_s": float(tm.mean()) if tm.size else math.nan,
                "time_std_s": float(tm.std(ddof=1)) if tm.size > 1 else math.nan,
                "time_iqr_median_s": float(np.nanmedian(iqr)) if np.isfinite(iqr).any() else math.nan,
                "fusion_errors": int(((t["method"] == m) & (t["status"] == "error")).sum()),
                "fusion_skipped": int(((t["method"] == m) & (t["status"] == "skipped")).sum()),
                "metric_failures": int(cells[cells["method"] == m]["n_failed"].sum()),
                # byo: external fused images (--external/--results) are marked in every table
                "external": bool(t[t["method"] == m]["message"].astype(str).str.startswith("external:").any())
                if "message" in t
                else False,
                "metric_errors": int((mrows["method"] == m).mul(mrows["status"] == "error").sum()),
                "nan_values": int(
                    (mrows["method"] == m).mul((mrows["status"] == "ok") & mrows["value"].isna()).sum()
                ),
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "method",
            "avg_rank",
            "avg_rank_all",
            "time_mean_s",
            "time_std_s",
            "time_iqr_median_s",
            "fusion_errors",
            "fusion_skipped",
            "metric_failures",
            "external",
            "metric_errors",
            "nan_values",
        ],
    )
    key = (
        out["avg_rank"].fillna(np.inf) if out["avg_rank"].notna().any() else out["time_mean_s"].fillna(np.inf)
    )
    return (
        out.assign(_k=key)
        .sort_values(["_k", "method"], kind="stable")
        .drop(columns="_k")
        .reset_index(drop=True)
    )


def summarize(df: pd.DataFrame) -> list[DatasetSummary]:
    """One :class:`DatasetSummary` per dataset in the results, in order of appearance."""
    order = list(dict.fromkeys(df["method"]))
    return [summarize_dataset(df, ds, order) for ds in dict.fromkeys(df["dataset"])]


# --------------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------------
def _num(x: float, digits: int = 4) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    if x != 0 and abs(x) < 10 ** -(digits - 1):
        return f"{x:.{digits - 1}e}"
    if abs(x) >= 10 ** (digits + 1):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}f}"


def _time(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:.3g}"


def _arrow(hib: bool) -> str:
    return "↑" if hib else "↓"


def _cell_text(c: pd.Series) -> str:
    if c["n"] == 0:
        return "fail" if c["n_failed"] else "–"
    val = _num(c["mean"])
    if c["leader"]:
        val = f"**{val}**"
    text = f"{val} ± {_num(c['std'])} ({int(c['first_place'])})"
    if c["tied_with_leader"]:
        text += TIED_MARK
    if c["n_failed"]:
        text += f" [{int(c['n_failed'])} failed]"
    return text


def _cell_short(c: pd.Series) -> str:
    """Headline cell: the mean, bold for the leader, the mark when not significantly worse."""
    if c["n"] == 0:
        return "fail" if c["n_failed"] else "–"
    val = _num(c["mean"])
    if c["leader"]:
        val = f"**{val}**"
    if c["tied_with_leader"]:
        val += TIED_MARK
    if c["n_failed"]:
        val += f" [{int(c['n_failed'])}✗]"
    return val


def _cells_of(s: DatasetSummary) -> dict:
    return {(r["method"], r["metric"]): r for r in s.cells.to_dict("records")}  # not iterrows: 20x faster


def _failures(m) -> str:
    return str(m.fusion_errors + m.metric_failures) + (
        f" ({m.fusion_skipped} skipped)" if m.fusion_skipped else ""
    )


def table_frame(s: DatasetSummary, metrics: list[str] | None = None) -> pd.DataFrame:
    """The full ranked table of one dataset as display strings (rows = methods in ranked order)."""
    cells = _cells_of(s)
    rows = []
    for pos, m in enumerate(s.methods.itertuples(index=False), start=1):
        row = {"#": pos, "method": m.method + (" (external)" if getattr(m, "external", False) else "")}
        for metric in metrics if metrics is not None else s.metrics:
            c = cells[(m.method, metric)]
            rank = "" if not np.isfinite(c["rank"]) else f" #{int(c['rank'])}"
            row[f"{metric} {_arrow(c['higher_is_better'])}"] = _cell_text(c) + rank
        row["rank"] = _num(m.avg_rank, 2)
        row["time (s)"] = _time(m.time_mean_s) + (
            f" ± {_time(m.time_std_s)}" if np.isfinite(m.time_std_s) else ""
        )
        row["failures"] = _failures(m)
        rows.append(row)
    return pd.DataFrame(rows)


def headline_frame(s: DatasetSummary) -> pd.DataFrame:
    """The headline table of one dataset: method, the headline metrics' means, rank aggregate, time."""
    cells = _cells_of(s)
    rows = []
    for m in s.methods.itertuples(index=False):
        row = {"method": m.method + (" (external)" if getattr(m, "external", False) else "")}
        for metric in s.headline:
            c = cells[(m.method, metric)]
            row[f"{metric} {_arrow(c['higher_is_better'])}"] = _cell_short(c)
        row["rank"] = _num(m.avg_rank, 2)
        row["time (s)"] = _time(m.time_mean_s)
        rows.append(row)
    return pd.DataFrame(
        rows,
        columns=["method", *[f"{x} {_arrow(higher_is_better(x))}" for x in s.headline], "rank", "time (s)"],
    )


LEGEND = (
    "Cells: mean ± std over scenes (first places, ties credit every tied method) #rank of the mean. "
    "Bold: leader. {mark}: not significantly worse than the leader (one-sided paired Wilcoxon, Holm, "
    "alpha 0.05). rank: mean over the headline's metric families of each family's rank (variants of one "
    "definition count once). Time: mean ± std of the per-scene median fusion time. Failures are excluded "
    "from means."
)
HEADLINE_LEGEND = (
    "Mean over scenes; bold: leader; {mark}: not significantly worse than the leader (one-sided paired "
    "Wilcoxon across scenes, Holm-corrected, alpha 0.05); [n✗]: n scenes without a value. rank: mean over "
    "the distinct metric families shown of each method's rank (a definition computed under several ids "
    "counts once). Ground-truth metrics first when the dataset has a reference, then the @core suite "
    "(README: 'Which metrics to trust'), then the mean fusion time."
)


def compact_frame(s: DatasetSummary) -> pd.DataFrame:
    """Per method only: rank aggregate, first places over all metrics, metrics led, time, failures."""
    rows = []
    for pos, m in enumerate(s.methods.itertuples(index=False), start=1):
        c = s.cells[s.cells["method"] == m.method]
        rows.append(
            {
                "#": pos,
                "method": m.method + (" (external)" if getattr(m, "external", False) else ""),  # byo
                "rank": _num(m.avg_rank, 2),
                "first places": int(c["first_place"].sum()),
                "metrics led": int(c["leader"].sum()),
                "time (s)": _time(m.time_mean_s)
                + (f" ± {_time(m.time_std_s)}" if np.isfinite(m.time_std_s) else ""),
                "failures": _failures(m),
            }
        )
    return pd.DataFrame(rows)


def _md_table(t: pd.DataFrame) -> str:
    right = ("#", "rank", "time (s)")
    head = "| " + " | ".join(t.columns) + " |"
    sep = "|" + "|".join("---:" if c in right else "---" for c in t.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in r) + " |" for r in t.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def _title(s: DatasetSummary, what: str) -> str:
    return f"### {s.dataset} ({s.n_scenes} scenes, {len(s.metrics)} metrics): {what}"


def failure_notes(s: DatasetSummary) -> list[str]:
    """One line per method with rows left out of the means: fusion errors, skips, metric errors, NaN."""
    lines = []
    for m in s.methods.itertuples(index=False):
        bits = [
            f"{n} {what}"
            for n, what in (
                (m.fusion_errors, "fusion error(s)"),
                (m.fusion_skipped, "scene(s) skipped"),
                (m.metric_errors, "metric error(s)"),
                (m.nan_values, "NaN value(s)"),
            )
            if n
        ]
        if bits:
            lines.append(f"{m.method}: " + ", ".join(bits))
    return lines


def headline_markdown(summaries: list[DatasetSummary]) -> str:
    """The headline tables (one per dataset) as GitHub Markdown, with failure notes and the legend."""
    parts = []
    for s in summaries:
        parts.append(_title(s, "headline") + "\n\n" + _md_table(headline_frame(s)))
        notes = failure_notes(s)
        if notes:
            parts.append("Left out of the means: " + "; ".join(notes) + ".")
    parts.append(HEADLINE_LEGEND.format(mark=TIED_MARK))
    return "\n\n".join(parts) + "\n"


def to_markdown(summaries: list[DatasetSummary], max_metrics: int | None = None) -> str:
    """All datasets' tables as GitHub Markdown.

    Without ``max_metrics``: the full ranked tables (every metric). With it (what ``run`` prints): the
    headline tables (at most ``bench.headline.MAX_METRICS`` metric columns each).
    """
    if max_metrics is not None:
        return headline_markdown(summaries)
    parts = [_title(s, "all metrics") + "\n\n" + _md_table(table_frame(s)) for s in summaries]
    parts.append(LEGEND.format(mark=TIED_MARK))
    return "\n\n".join(parts) + "\n"


def cells_csv(summaries: list[DatasetSummary]) -> pd.DataFrame:
    """Long-format statistics of every metric: per (dataset, method, metric), with the method columns."""
    frames = []
    for s in summaries:
        c = s.cells.merge(s.methods, on="method", how="left")
        c.insert(0, "dataset", s.dataset)
        frames.append(c)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def summary_csv(summaries: list[DatasetSummary]) -> pd.DataFrame:
    """The headline in long format: per (dataset, method, headline metric) the mean, its bootstrap 95%
    CI, first places, rank, the test against the leader, and the method columns (``avg_rank`` is the
    rank aggregate, ``position`` the row of the headline). ``cells.csv`` has every metric."""
    frames = []
    for s in summaries:
        c = s.cells[s.cells["metric"].isin(s.headline)].merge(s.methods, on="method", how="left")
        pos = {m: k for k, m in enumerate(s.methods["method"], start=1)}
        c.insert(0, "position", c["method"].map(pos))
        c.insert(0, "dataset", s.dataset)
        order = {m: k for k, m in enumerate(s.headline)}
        c = c.assign(_o=c["metric"].map(order)).sort_values(["position", "_o"], kind="stable")
        frames.append(c.drop(columns="_o"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_tables(
    run_dir: str | Path, df: pd.DataFrame | None = None
) -> tuple[Path, str, list[DatasetSummary]]:
    """Write tables.md (headline then full tables), summary.csv (headline), cells.csv (every metric)
    and tables.tex (a pdflatex document) into ``<run_dir>/report``.

    Returns (report folder, Markdown text, summaries).
    """
    from bench.rundir import atomic_write_text, read_results

    run_dir = Path(run_dir)
    df = read_results(run_dir) if df is None else df
    summaries = summarize(df)
    rep = run_dir / "report"
    rep.mkdir(parents=True, exist_ok=True)
    md = headline_markdown(summaries) + "\n## All metrics\n\n" + to_markdown(summaries)
    atomic_write_text(rep / "tables.md", md)
    atomic_write_text(rep / "tables.tex", to_latex(summaries))
    atomic_write_text(rep / "summary.csv", summary_csv(summaries).to_csv(index=False))
    atomic_write_text(rep / "cells.csv", cells_csv(summaries).to_csv(index=False))
    return rep, md, summaries


PRINT_MAX_METRICS = 13  # = bench.headline.MAX_METRICS: the printed table is the headline; tables.md has all
