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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

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
    meth = _method_table(d, methods, cells_df)
    return DatasetSummary(dataset, cells_df, meth, metrics, len(scenes))


def _method_table(d: pd.DataFrame, methods: list[str], cells: pd.DataFrame) -> pd.DataFrame:
    t = d[d["metric"] == TIME_METRIC]
    rows = []
    for m in methods:
        tm = t[(t["method"] == m) & (t["status"] == "ok")]["value"].to_numpy(dtype=np.float64)
        tm = tm[np.isfinite(tm)]
        iqr = d[(d["metric"] == TIME_IQR_METRIC) & (d["method"] == m)]["value"].to_numpy(dtype=np.float64)
        r = cells[cells["method"] == m]["rank"]
        rows.append(
            {
                "method": m,
                "avg_rank": float(r.mean()) if r.notna().any() else math.nan,
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
            }
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "method",
            "avg_rank",
            "time_mean_s",
            "time_std_s",
            "time_iqr_median_s",
            "fusion_errors",
            "fusion_skipped",
            "metric_failures",
            "external",
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
    return f"{x:.{digits}f}"


def _time(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:.3g}"


def _cell_text(c: pd.Series, latex: bool = False) -> str:
    if c["n"] == 0:
        return "fail" if c["n_failed"] else "–"
    pm = r"$\pm$" if latex else "±"
    val = _num(c["mean"])
    if c["leader"]:
        val = rf"\textbf{{{val}}}" if latex else f"**{val}**"
    text = f"{val} {pm} {_num(c['std'])} ({int(c['first_place'])})"
    if c["tied_with_leader"]:
        text += r"$^\dagger$" if latex else TIED_MARK
    if c["n_failed"]:
        text += f" [{int(c['n_failed'])} failed]"
    return text


def table_frame(s: DatasetSummary, latex: bool = False) -> pd.DataFrame:
    """The ranked table of one dataset as display strings (rows = methods in ranked order)."""
    rows = []
    for pos, m in enumerate(s.methods.itertuples(index=False), start=1):
        row = {"#": pos, "method": m.method + (" (external)" if getattr(m, "external", False) else "")}
        for metric in s.metrics:
            c = s.cells[(s.cells["method"] == m.method) & (s.cells["metric"] == metric)].iloc[0]
            arrow = "↑" if c["higher_is_better"] else "↓"
            if latex:
                arrow = r"$\uparrow$" if c["higher_is_better"] else r"$\downarrow$"
            rank = "" if not np.isfinite(c["rank"]) else f" #{int(c['rank'])}"
            row[f"{metric} {arrow}"] = _cell_text(c, latex) + rank
        row["avg rank"] = _num(m.avg_rank, 2)
        row["time (s)"] = _time(m.time_mean_s) + (
            f" ± {_time(m.time_std_s)}" if np.isfinite(m.time_std_s) else ""
        )
        fails = m.fusion_errors + m.metric_failures
        row["failures"] = str(fails) + (f" ({m.fusion_skipped} skipped)" if m.fusion_skipped else "")
        rows.append(row)
    return pd.DataFrame(rows)


LEGEND = (
    "Cells: mean ± std over scenes (first places, ties credit every tied method) #rank of the mean. "
    "Bold: leader. {mark}: not significantly worse than the leader (one-sided paired Wilcoxon, Holm, "
    "alpha 0.05). Time: mean ± std of the per-scene median fusion time. Failures are excluded from means."
)


def compact_frame(s: DatasetSummary) -> pd.DataFrame:
    """Per method only: average rank, first places over all metrics, metrics led, time, failures."""
    rows = []
    for pos, m in enumerate(s.methods.itertuples(index=False), start=1):
        c = s.cells[s.cells["method"] == m.method]
        rows.append(
            {
                "#": pos,
                "method": m.method + (" (external)" if getattr(m, "external", False) else ""),  # byo
                "avg rank": _num(m.avg_rank, 2),
                "first places": int(c["first_place"].sum()),
                "metrics led": int(c["leader"].sum()),
                "time (s)": _time(m.time_mean_s)
                + (f" ± {_time(m.time_std_s)}" if np.isfinite(m.time_std_s) else ""),
                "failures": str(m.fusion_errors + m.metric_failures)
                + (f" ({m.fusion_skipped} skipped)" if m.fusion_skipped else ""),
            }
        )
    return pd.DataFrame(rows)


def to_markdown(summaries: list[DatasetSummary], max_metrics: int | None = None) -> str:
    """All datasets' ranked tables as GitHub Markdown.

    With more than ``max_metrics`` metrics, a compact per-method table is written instead (the
    full table is in ``tables.md``).
    """
    parts = []
    for s in summaries:
        compact = max_metrics is not None and len(s.metrics) > max_metrics
        t = compact_frame(s) if compact else table_frame(s)
        head = "| " + " | ".join(t.columns) + " |"
        sep = "|" + "|".join("---:" if c in ("#", "avg rank", "time (s)") else "---" for c in t.columns) + "|"
        body = ["| " + " | ".join(str(v) for v in r) + " |" for r in t.itertuples(index=False)]
        title = f"### {s.dataset} ({s.n_scenes} scenes" + (f", {len(s.metrics)} metrics)" if compact else ")")
        parts.append(title + "\n\n" + "\n".join([head, sep, *body]))
    parts.append(LEGEND.format(mark=TIED_MARK))
    return "\n\n".join(parts) + "\n"


def _tex_escape(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#")):
        s = s.replace(a, b)
    return s


def to_latex(summaries: list[DatasetSummary]) -> str:
    """All datasets' ranked tables as LaTeX ``tabular`` (booktabs) environments."""
    out = []
    for s in summaries:
        t = table_frame(s, latex=True)
        cols = list(t.columns)
        lines = [
            f"% {s.dataset} ({s.n_scenes} scenes); generated by python -m bench report",
            r"\begin{tabular}{" + "r" + "l" * (len(cols) - 1) + "}",
            r"\toprule",
            " & ".join(_tex_escape(c) if "$" not in c else c for c in cols) + r" \\",
            r"\midrule",
        ]
        for r in t.itertuples(index=False):
            cells = [str(v) if "$" in str(v) or r"\textbf" in str(v) else _tex_escape(str(v)) for v in r]
            cells = [c.replace(" [", " {[").replace(" failed]", " failed]}") for c in cells]
            lines.append(" & ".join(cells) + r" \\")
        lines += [r"\bottomrule", r"\end{tabular}", ""]
        out.append("\n".join(lines))
    return "\n".join(out)


def summary_csv(summaries: list[DatasetSummary]) -> pd.DataFrame:
    """Long-format summary: per (dataset, method, metric) statistics, with the method-level columns."""
    frames = []
    for s in summaries:
        c = s.cells.merge(s.methods, on="method", how="left")
        c.insert(0, "dataset", s.dataset)
        frames.append(c)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_tables(
    run_dir: str | Path, df: pd.DataFrame | None = None
) -> tuple[Path, str, list[DatasetSummary]]:
    """Write tables.md, summary.csv and tables.tex into ``<run_dir>/report``.

    Returns (report folder, Markdown text, summaries).
    """
    from bench.rundir import atomic_write_text, read_results

    run_dir = Path(run_dir)
    df = read_results(run_dir) if df is None else df
    summaries = summarize(df)
    rep = run_dir / "report"
    rep.mkdir(parents=True, exist_ok=True)
    md = to_markdown(summaries)
    atomic_write_text(rep / "tables.md", md)
    atomic_write_text(rep / "tables.tex", to_latex(summaries))
    atomic_write_text(rep / "summary.csv", summary_csv(summaries).to_csv(index=False))
    return rep, md, summaries


PRINT_MAX_METRICS = 8  # wider tables are printed compact; tables.md always has every metric
