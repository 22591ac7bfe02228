"""Paper tables regenerated through the runner: paper value, ours and the delta, side by side.

Each :class:`PaperTable` says where the paper's numbers are in ``bench/paper_tables.json`` (transcribed
from the papers, each table with its source), which scenes and protocol the paper used, which of our
metric ids stands for each paper metric (a preference list: the first registered id wins), and which
registered method with which reproduction switches (``fuse`` parameters) stands for each paper row. A
row whose method (or switch) is not registered is listed as absent; nothing is special-cased in
generic code.

The fusions and scores go through :func:`bench.runner.run`, so they share its cache: a second
``paper`` call, or one after ``run`` on the same scenes and switches, recomputes nothing.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import UserError

_LYTRO26 = tuple(f"color_lytro_{i:02d}" for i in range(1, 21))
GACN_SCENES = (
    *_LYTRO26,
    "color_dsift_flower",
    "color_mwg_temple",
    "color_tid_t5",
    "color_tid_t70",
    "gray_mwg_clock",
    "gray_mwg_lab",
)

# Reproduction switches of the SESF-Fuse experiment (shared/docs/methods.md sections 7 and 8). GACN
# reused the SESF experiment's fused images for its classical rows, so the same switches apply. The
# third element is the protocol of that row: the evaluator saw these rows' images as 3-channel files,
# gray pairs included (see bench/protocols.py, ``sesf2020_rgb``); rows without it use the table's.
# DWT: SESF's level helper gives 1 level on even sizes; the row is known not to be regenerable.
_RGB = "sesf2020_rgb"
_SESF_CLASSICAL: dict[str, tuple] = {
    "SF": ("average", {"quantize": "truncate"}, _RGB),  # the recorded SF row is plain averaging
    "LP": ("lp", {"quantize": "truncate"}, _RGB),
    "RP": ("rp", {"quantize": "truncate"}, _RGB),
    "DTCWT": ("dtcwt", {"quantize": "truncate", "resize_to_even": True}, _RGB),
    "DWT": ("dwt", {"quantize": "truncate", "resize_to_even": True, "levels": 1}, _RGB),
    "GF": ("gf", {"sesf2020_call": True}, _RGB),
    "FocusStack": ("focusstack", {"align": True, "sesf2020": True}, _RGB),
    # DSIFT got 0..255 doubles like GF (clamped gray; mean Qg 0.5262 vs 0.5267, see baselines/dsift.py);
    # MWG with the authors' registered-image defaults: mean Qg 0.6998 vs 0.6998, 37/38 images within 1e-3
    "DSIFT": ("dsift", {"sesf2020_call": True}, _RGB),
    "MWG": ("mwgf", {}, _RGB),
}


@dataclass(frozen=True)
class PaperTable:
    """How to regenerate one paper table."""

    id: str
    title: str
    json_path: tuple[str, ...]  # keys down to the {method: {metric: value}} mapping
    dataset: str
    scenes: tuple[str, ...] | None
    protocol: str
    metrics: dict[str, tuple[str, ...]]  # paper metric name -> our candidate ids, preferred first
    rows: dict[str, tuple | None]  # paper row -> (method id, params[, protocol]); None = we lack it
    time_key: str | None = None  # paper metric name holding seconds per pair
    first_place: bool = False
    stack_columns: dict[str, dict] = field(default_factory=dict)  # table 3: column -> extra params
    note: str = ""
    flat_metric: str = ""  # the paper gives {row: value} for this one metric, not {row: {metric: value}}


TABLES: dict[str, PaperTable] = {
    "sesf2020-table2": PaperTable(
        id="sesf2020-table2",
        title="SESF-Fuse (2020) Table 2: 38 pairs, Qg / Qm / Qcb with first-place counts",
        json_path=("sesf_fuse_2020", "table2_comparison", "methods"),
        dataset="sesf_gacn",
        scenes=None,
        protocol="sesf2020",
        metrics={"Qg": ("qg",), "Qm": ("qm",), "Qcb": ("qcb",)},
        rows={
            "DeepFuse": None,
            "FocusStack": _SESF_CLASSICAL["FocusStack"],
            "SF": _SESF_CLASSICAL["SF"],
            "DenseFuse_1e3_add": None,
            "DSIFT": _SESF_CLASSICAL["DSIFT"],
            "DenseFuse_1e3_l1": None,
            "GF": _SESF_CLASSICAL["GF"],
            "CVT": None,
            "DWT": _SESF_CLASSICAL["DWT"],
            "IMF": None,
            "RP": _SESF_CLASSICAL["RP"],
            "DTCWT": _SESF_CLASSICAL["DTCWT"],
            "NSCT": None,
            "SR": None,
            "LP": _SESF_CLASSICAL["LP"],
            "MWG": _SESF_CLASSICAL["MWG"],
            "CNN-Fuse": None,
            "SESF-Fuse": ("sesf", {}),
        },
        first_place=True,
        note="first places are counted among the rows we regenerate only, so they differ from the paper's "
        "18-method counts",
    ),
    "gacn2022-table1": PaperTable(
        id="gacn2022-table1",
        title="GACN (2022) Table 1: 26 pairs, Qg / Qy / Qncie / Qcb / FMI_EDGE / FMI_DCT / time",
        json_path=("gacn_2022", "table1_comparison", "methods"),
        dataset="sesf_gacn",
        scenes=GACN_SCENES,
        protocol="sesf2020",
        metrics={
            "Qg": ("qg",),
            "Qy": ("qy@sesf", "qy@liu", "qy"),
            "Qncie": ("qncie",),
            "Qcb": ("qcb",),
            "FMI_EDGE": ("fmi_edge", "fmi@edge"),
            "FMI_DCT": ("fmi_dct", "fmi@dct"),
        },
        rows={
            "GACN": ("gacn", {}),
            "MFF-GAN": None,
            "MFF-SSIM": None,
            "DRPL": None,
            "FusionDN": None,
            "U2Fusion": None,
            "IFCNN": None,
            "PMGI": None,
            "SESF-Fuse": ("sesf", {}),
            "Dense-Fuse": None,
            "CNN-Fuse": None,
            "DSIFT": _SESF_CLASSICAL["DSIFT"],
            "MWG": _SESF_CLASSICAL["MWG"],
            "Focus-Stack": _SESF_CLASSICAL["FocusStack"],
            "SR": None,
            "NSCT": None,
            "CVT": None,
            "DTCWT": _SESF_CLASSICAL["DTCWT"],
            "SF": _SESF_CLASSICAL["SF"],
            "DWT": _SESF_CLASSICAL["DWT"],
            "RP": _SESF_CLASSICAL["RP"],
            "LP": _SESF_CLASSICAL["LP"],
        },
        time_key="time_s",
        note="paper times: deep methods on a GTX 1080Ti, others MATLAB on an E5-2620 CPU; ours: this machine",
    ),
    "gacn2022-table3": PaperTable(
        id="gacn2022-table3",
        title="GACN (2022) Table 3: seconds per image on the 65-image chip stack, serial vs decision "
        "calibration",
        json_path=("gacn_2022", "table3_multi_image_timing"),
        dataset="stacks",
        scenes=("gacn_V-4",),
        protocol="sesf2020",
        metrics={},
        rows={"CNN-Fuse": None, "SESF-Fuse": ("sesf", {}), "GACN": ("gacn", {})},
        stack_columns={"serial": {"stack": "serial"}, "decision_calibration": {"stack": "calibration"}},
        note="the paper's stack is 2700x1800 on a GTX 1080Ti; ours is the 1600x1200 copy on this machine",
    ),
}



def _add_reimpl_tables() -> None:
    """The re-implemented seeds' own tables live in ``bench.paper_reimpl`` (same machinery)."""
    from bench.paper_reimpl import TABLES as reimpl

    TABLES.update(reimpl)


_add_reimpl_tables()

PACKAGED_TABLES = Path(__file__).resolve().parent / "paper_tables.json"


def reference_file(explicit: str | os.PathLike | None = None) -> Path:
    """``--reference``, else ``$MFIF_REFERENCE/paper_tables.json``, else the packaged transcription.

    ``bench/paper_tables.json`` holds the published numbers transcribed from the papers (each table
    names its source), so ``bench paper`` works from an installed wheel with no reference folder.
    """
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise UserError(f"--reference {explicit}: no such file")
        return p
    if os.environ.get("MFIF_REFERENCE"):
        p = Path(os.environ["MFIF_REFERENCE"]) / "paper_tables.json"
        if p.is_file():
            return p
    return PACKAGED_TABLES


def default_out_dir(table_id: str) -> Path:
    """``results/runs/<UTC time>--paper-<table>``: beside the runs, never over tracked files."""
    import datetime as _dt

    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("results") / "runs" / f"{stamp}--paper-{table_id}"


def get_table(table_id: str) -> PaperTable:
    try:
        return TABLES[table_id]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(table_id, list(TABLES), n=2)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UserError(f"unknown paper table {table_id!r}{hint} (known: {', '.join(TABLES)})") from None


def paper_values(table: PaperTable, ref: dict) -> dict[str, Any]:
    node = ref
    for k in table.json_path:
        node = node[k]
    if table.flat_metric:
        return {k: {table.flat_metric: v} for k, v in node.items() if isinstance(v, (int, float))}
    return node


def resolve_metric(candidates: tuple[str, ...]) -> str | None:
    from bench.registry import METRICS

    return next((c for c in candidates if c in METRICS), None)


def resolve_row(spec: tuple | None) -> tuple[str | None, str]:
    """(method id or None, reason when absent); a switch the method does not expose makes it absent."""
    from bench.registry import METHODS, get_method

    if spec is None:
        return None, "not implemented in mfif-bench"
    mid, params = spec[0], spec[1]
    if mid not in METHODS:
        return None, f"method {mid!r} not registered"
    known = {k for k, _ in get_method(mid).info.params}
    lacking = sorted(set(params) - known)
    if lacking:
        return None, f"method {mid!r} lacks switch(es) {', '.join(lacking)}"
    return mid, ""


@dataclass
class PaperResult:
    table: PaperTable
    rows: list[dict]
    absent: dict[str, str]
    metric_ids: dict[str, str | None]
    run_dir: Path | None
    partial: str = ""


def _run_specs(table: PaperTable) -> tuple[dict[str, list], dict[str, str]]:
    """({protocol: [MethodSpec, ...]}, {absent row: reason})."""
    from bench.runner import MethodSpec

    groups: dict[str, list] = {}
    absent: dict[str, str] = {}
    for name, spec in table.rows.items():
        mid, why = resolve_row(spec)
        if mid is None:
            absent[name] = why
            continue
        params = dict(spec[1])
        specs = groups.setdefault(spec[2] if len(spec) > 2 else table.protocol, [])
        if table.stack_columns:
            from bench.registry import get_method

            known = {k for k, _ in get_method(mid).info.params}
            for col, extra in table.stack_columns.items():
                if set(extra) <= known:
                    specs.append(MethodSpec(mid, tuple(sorted({**params, **extra}.items())), f"{name}|{col}"))
            if not any(s.label.startswith(f"{name}|") for s in specs):
                absent[name] = f"method {mid!r} has no stack switch ({', '.join(table.stack_columns)})"
        else:
            specs.append(MethodSpec(mid, tuple(sorted(params.items())), name))
    return {k: v for k, v in groups.items() if v}, absent


def regenerate(
    table_id: str,
    *,
    reference: str | None = None,
    data_dir: str | None = None,
    jobs: int = -1,
    limit: int | None = None,
    frames: int | None = None,
    device: str = "auto",
    out: str | None = None,
    cache_dir: str | None = None,
    progress: bool = True,
    repeats: int = 1,
) -> PaperResult:
    """Run the fusions and metrics a paper table needs, then line up paper and ours."""
    from bench.runner import RunConfig, run

    table = get_table(table_id)
    ref = json.loads(reference_file(reference).read_text())
    paper = paper_values(table, ref)
    metric_ids = {pm: resolve_metric(c) for pm, c in table.metrics.items()}
    groups, absent = _run_specs(table)
    frames_out, run_dir = [], None
    base_out = Path(out) if out else default_out_dir(table.id)
    for protocol, specs in groups.items():  # one run per protocol (see _SESF_CLASSICAL)
        cfg = RunConfig(
            methods=tuple(specs),
            datasets=(table.dataset,),
            metrics=tuple(m for m in metric_ids.values() if m),
            data_dir=data_dir,
            limit=limit,
            scenes=table.scenes,
            jobs=jobs,
            protocol=protocol,
            device=device,
            progress=progress,
            cache_dir=cache_dir,
            repeats=repeats,
            max_sources=frames,
            out=str(base_out if len(groups) == 1 else base_out / protocol),
        )
        summary = run(cfg)
        frames_out.append(summary.results)
        run_dir = run_dir or summary.out
    res_df = pd.concat(frames_out, ignore_index=True) if frames_out else None
    rows = _compare(table, paper, metric_ids, res_df, absent, frames)
    partial = []
    if limit is not None:
        partial.append(f"--limit {limit} scenes")
    if frames is not None:
        partial.append(f"--frames {frames}")
    return PaperResult(table, rows, absent, metric_ids, run_dir, ", ".join(partial))


def _mean_ok(df: pd.DataFrame, label: str, metric: str) -> tuple[float, int, int]:
    d = df[(df["method"] == label) & (df["metric"] == metric)]
    ok = d[d["status"] == "ok"]["value"].to_numpy(dtype=np.float64)
    ok = ok[np.isfinite(ok)]
    return (float(ok.mean()) if ok.size else math.nan), int(ok.size), int(len(d) - ok.size)


def _first_places(df: pd.DataFrame, metric: str, higher: bool) -> dict[str, int]:
    w = df[(df["metric"] == metric) & (df["status"] == "ok")].pivot_table(
        index="scene", columns="method", values="value", aggfunc="first"
    )
    best = w.max(axis=1) if higher else w.min(axis=1)
    return w.eq(best, axis=0).sum(axis=0).astype(int).to_dict()


def _row(method: str, metric: str, paper: float | None, ours: float | None) -> dict:
    p = None if paper is None or not np.isfinite(paper) else float(paper)
    o = None if ours is None or not np.isfinite(ours) else float(ours)
    return {
        "method": method,
        "metric": metric,
        "paper": p,
        "ours": o,
        "delta": None if p is None or o is None else o - p,
    }


def _compare(
    table: PaperTable,
    paper: dict,
    metric_ids: dict,
    df: pd.DataFrame | None,
    absent: dict,
    frames: int | None,
) -> list[dict]:
    from bench.report import higher_is_better

    rows: list[dict] = []
    if table.stack_columns:
        for name in table.rows:
            for col in table.stack_columns:
                pv = paper.get(name, {}).get(col)
                ours = None
                if df is not None and name not in absent:
                    t = df[
                        (df["method"] == f"{name}|{col}")
                        & (df["metric"] == "time_fuse_s")
                        & (df["status"] == "ok")
                    ]
                    if len(t):
                        n_img = frames or _n_sources(df, t)
                        ours = float(t["value"].iloc[0]) / n_img
                rows.append(_row(name, f"time_per_image_s:{col}", pv, ours))
        return rows
    firsts = {}
    if df is not None and table.first_place:
        for pm, mid in metric_ids.items():
            if mid:
                firsts[pm] = _first_places(df, mid, higher_is_better(mid))
    for name in table.rows:
        pvals = paper.get(name, {})
        for pm, mid in metric_ids.items():
            ours = None
            if df is not None and name not in absent and mid:
                ours, _, _ = _mean_ok(df, name, mid)
            rows.append(_row(name, pm, pvals.get(pm), ours))
        if table.first_place:
            for pm in metric_ids:
                pf = pvals.get("first_place", {}).get(pm)
                of = firsts.get(pm, {}).get(name) if name not in absent else None
                rows.append(_row(name, f"first_place:{pm}", pf, of))
        if table.time_key:
            ours = None
            if df is not None and name not in absent:
                ours, _, _ = _mean_ok(df, name, "time_fuse_s")
            rows.append(_row(name, table.time_key, pvals.get(table.time_key), ours))
    return rows


def _n_sources(df: pd.DataFrame, t: pd.DataFrame) -> int:
    from bench.registry import get_dataset

    scene = t["scene"].iloc[0]
    for s in get_dataset(t["dataset"].iloc[0]).scenes(verify=False):
        if s.id == scene:
            return len(s.sha256)
    return 1


def format_text(res: PaperResult) -> str:
    """Side-by-side table: one line per paper row and metric, then the absent rows."""
    t = res.table
    lines = [
        t.title,
        f"protocol {t.protocol}; dataset {t.dataset}" + (f" ({len(t.scenes)} scenes)" if t.scenes else ""),
    ]
    used = ", ".join(f"{pm}={mid or 'ABSENT'}" for pm, mid in res.metric_ids.items())
    if used:
        lines.append(f"metrics: {used}")
    if t.note:
        lines.append(f"note: {t.note}")
    if res.partial:
        lines.append(f"PARTIAL: {res.partial}; deltas are not comparable with the paper's full-set means")
    lines.append("")
    head = f"{'method':<20} {'metric':<38} {'paper':>12} {'ours':>12} {'delta':>10}"
    lines += [head, "-" * len(head)]
    for r in res.rows:
        if r["method"] in res.absent:
            continue
        count = r["metric"].startswith("first_place")
        lines.append(
            f"{r['method']:<20} {r['metric']:<38} {_fmt(r['paper'], count=count):>12} "
            f"{_fmt(r['ours'], count=count):>12} {_fmt(r['delta'], signed=True, count=count):>10}"
        )
    if res.absent:
        lines.append("")
        lines.append("absent: " + "; ".join(f"{k} ({v})" for k, v in res.absent.items()))
    if res.run_dir:
        lines.append(f"run folder: {res.run_dir}")
    return "\n".join(lines)


def _fmt(x, signed: bool = False, count: bool = False) -> str:
    if x is None:
        return "–"
    if count:
        return f"{int(x):+d}" if signed else f"{int(x)}"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def to_json(res: PaperResult) -> dict:
    """``{"rows": [{method, metric, paper, ours, delta}, ...], "absent": [...]}``.

    Rows of absent methods are kept with ``ours = None``.
    """
    return {
        "table": res.table.id,
        "rows": res.rows,
        "absent": sorted(res.absent),
        "partial": res.partial,
        "metric_ids": res.metric_ids,
        "run_dir": str(res.run_dir) if res.run_dir else None,
    }
