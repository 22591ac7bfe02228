"""The per-megapixel table of issue 14 item 5 from the JSON outputs of the big-image benchmarks.

``python benchmarks/big_images_classical.py --table a.json b.json ...`` reads the rows written by
``big_images_classical.py --json``, ``big_images.py --json`` (deep methods) and ``big_images_banded.py
--json`` (sr, nsct_sr, asr in bounded time), and prints one markdown row per method with, for each size,
``CPU s / units / peak MB (MB per MP)``. Units are CPU seconds over the 5x5 uniform-filter unit measured
in the same run (rows without a same-run unit or without a CPU time show ``-``; old deep rows have only
wall time, marked ``w``). Files later on the command line win for the same (method, size); the last
column names the file each row's numbers came from, so reused and new measurements stay apart.
Bounded runs of the patch-coding methods show the CPU they got before they were stopped (``>``) and the
projected CPU of the whole image (``~``); their peak is the bounded run's (or the stubbed data flow's).
"""

from __future__ import annotations

import json
from pathlib import Path

BUDGET_MB = 6 * 1024


def _norm(row: dict, source: str) -> dict | None:
    """One benchmark row in a common form, or None (a comparison row, a row without a size)."""
    if "mp" not in row or "method" not in row or "within_1" in row:
        return None
    peak = row.get("peak_rss_mb")
    if peak is None and row.get("peak_rss_gb") is not None:
        peak = row["peak_rss_gb"] * 1024
    out = {"method": row["method"], "mp": float(row["mp"]), "peak_mb": peak, "source": source,
           "unit": row.get("unit_cpu_s"), "error": row.get("error"), "cpu": None, "mark": ""}
    mode = row.get("mode")
    if mode == "real-bounded":
        if row.get("stopped_at_s") is not None:
            out["cpu"] = max([s.get("cpu_s", 0) for s in row.get("samples", [])] + [0])
            out["mark"] = ">"
            out["projected_cpu"] = row.get("projected_banded_cpu_s")
        else:
            out["cpu"] = row.get("cpu_s")
    elif mode == "stub-coder":
        out["mark"] = "flow"  # data-flow peak, the coder stubbed: no meaningful time
    elif "cpu_s" in row:
        out["cpu"] = row["cpu_s"]
    elif "fuse_cpu_s" in row:
        out["cpu"] = row["fuse_cpu_s"]
    elif "fuse_s" in row:
        out["cpu"], out["mark"] = row["fuse_s"], "w"
    return out


def _num(x: float) -> str:
    """3 significant digits, no exponent (0.0213, 2.45, 36.1, 221, 29066)."""
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _cell(r: dict | None) -> str:
    if r is None:
        return "not measured"
    if r["error"]:
        return f"FAILED ({str(r['error'])[:40]})"
    parts = []
    if r["mark"] == "flow":
        parts.append("data flow only")
    elif r["cpu"] is not None:
        t = f"{r['mark'] if r['mark'] in ('>', 'w') else ''}{_num(r['cpu'])}"
        u = _num(r["cpu"] / r["unit"]) if r["unit"] and r["mark"] != "w" else "-"
        u = (">" + u) if r["mark"] == ">" and u != "-" else u
        parts.append(f"{t} s / {u} u")
        if r.get("projected_cpu"):
            pu = f" = ~{_num(r['projected_cpu'] / r['unit'])} u" if r["unit"] else ""
            parts.append(f"full ~{_num(r['projected_cpu'])} s{pu}")
    if r["peak_mb"] is not None:
        over = " OVER" if r["peak_mb"] > BUDGET_MB else ""
        parts.append(f"{r['peak_mb']:.0f} MB ({r['peak_mb'] / r['mp']:.0f}/MP){over}")
    return " / ".join(parts) if parts else "-"


def table(paths: list[str], sizes: tuple[float, ...] = (0.25, 2.0, 12.0, 24.0)) -> str:
    """Markdown table: rows = methods, columns = sizes, cells = CPU s / units / peak MB (MB/MP)."""
    best: dict[tuple[str, float], dict] = {}
    flow: dict[tuple[str, float], dict] = {}
    for p in paths:
        data = json.loads(Path(p).read_text())
        for row in data if isinstance(data, list) else [data]:
            r = _norm(row, Path(p).name)
            if r is None:
                continue
            (flow if r["mark"] == "flow" else best)[(r["method"], r["mp"])] = r
    methods = sorted({m for m, _ in best} | {m for m, _ in flow})
    head = "| method | " + " | ".join(f"{s:g} MP" for s in sizes) + " | from |"
    lines = [head, "|" + " --- |" * (len(sizes) + 2)]
    for m in methods:
        cells, srcs = [], []
        for s in sizes:
            r, f = best.get((m, s)), flow.get((m, s))
            c = _cell(r) if r is not None or f is None else "-"
            if f is not None:
                c += f"; data flow (coder stubbed): {f['peak_mb']:.0f} MB"
                srcs.append(f"{s:g}: {f['source']}")
            cells.append(c)
            if r is not None:
                srcs.append(f"{s:g}: {r['source']}")
        lines.append(f"| {m} | " + " | ".join(cells) + " | " + ", ".join(srcs) + " |")
    return "\n".join(lines)
