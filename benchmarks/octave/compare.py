"""Compare our metrics with an Octave golden file: worst relative error per golden id.

    python -m benchmarks.octave.compare tests/data/golden/octave_golden.json [--only ID,...] [--json OUT]

Golden ids map to registered metrics through ``MetricInfo.reference_id`` (visible-set ids) or the metric id
itself (the survey variants). Each case is rebuilt with :func:`benchmarks.octave.cases.build_case` and its
pixels checked against the SHA-256 stored in the golden file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from benchmarks.octave import cases as C


def metric_for(gid: str):
    """The registered metric behind a golden id (reference id or metric id), or None."""
    from bench.registry import METRICS, load_all

    load_all()
    for m in METRICS.values():
        if m.info.reference_id == gid:
            return m
    return METRICS.get(gid) if gid in METRICS else None


def rel_error(got: float, expected: float | None) -> float:
    """Relative error; 0 when both are NaN/null, inf when only one is."""
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        return 0.0 if math.isnan(got) else math.inf
    if math.isnan(got):
        return math.inf
    if got == expected:
        return 0.0
    return abs(got - expected) / max(abs(expected), 1e-300)


def our_value(metric, images: dict) -> float:
    gt = images["GT"] if metric.info.needs_reference else None
    return float(metric.fn([images["A"], images["B"]], images["F"], reference=gt))


def compare(path: Path, only: set[str] | None = None) -> dict:
    doc = json.loads(path.read_text())
    rows = []
    for case in doc["cases"]:
        cid = case["id"]
        vals = doc["values"].get(cid, {})
        if not vals:
            continue
        images = C.build_case(case)
        if C.pixels_sha256(images) != case["sha256"]:
            rows.append({"case": cid, "gid": "*", "error": "pixels differ from the golden file's SHA-256"})
            continue
        for gid, exp in vals.items():
            if only and gid not in only:
                continue
            if gid in doc.get("errors", {}).get(cid, {}):
                continue
            m = metric_for(gid)
            if m is None:
                rows.append({"case": cid, "gid": gid, "error": "no registered metric"})
                continue
            t0 = time.perf_counter()
            try:
                got = our_value(m, images)
            except Exception as e:  # noqa: BLE001 - reported per row
                rows.append({"case": cid, "gid": gid, "error": f"{type(e).__name__}: {e}"})
                continue
            rows.append(
                {
                    "case": cid,
                    "gid": gid,
                    "ours": got,
                    "octave": exp,
                    "rel": rel_error(got, exp),
                    "seconds": time.perf_counter() - t0,
                }
            )
    return {"rows": rows}


def worst_table(rows: list[dict]) -> list[tuple[str, float, str, int]]:
    worst: dict[str, tuple[float, str, int]] = {}
    for r in rows:
        if "rel" not in r:
            continue
        w, where, n = worst.get(r["gid"], (-1.0, "", 0))
        if r["rel"] >= w:
            w, where = r["rel"], r["case"]
        worst[r["gid"]] = (w, where, n + 1)
    return [(g, *worst[g]) for g in sorted(worst)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.octave.compare")
    ap.add_argument("golden", type=Path)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", type=Path, default=None, help="write all rows here")
    args = ap.parse_args(argv)
    if not args.golden.is_file():
        print(f"error: {args.golden}: no such file", file=sys.stderr)
        return 2
    res = compare(args.golden, set(args.only.split(",")) if args.only else None)
    print("| golden id | worst rel. error | at case | n cases |")
    print("| --- | --- | --- | --- |")
    for gid, w, where, n in worst_table(res["rows"]):
        print(f"| {gid} | {w:.2e} | {where} | {n} |")
    for r in res["rows"]:
        if "error" in r:
            print(f"ERROR {r['case']} {r['gid']}: {r['error']}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
