"""``list {methods,metrics,datasets,results} [PATTERN] [--json]``."""

from __future__ import annotations

import argparse
import json

from bench.commands._options import add_plugin_option

NAME = "list"
HELP = "List registered methods, metrics, datasets or result sets (shell-style PATTERN, --json for metadata)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=["methods", "metrics", "datasets", "results"])
    p.add_argument("pattern", nargs="?", default="*", help="glob(s), comma-separated (default: *)")
    p.add_argument("--json", action="store_true", help="print full metadata as JSON")
    add_plugin_option(p)


def _rows(kind: str, pattern: str) -> list[dict]:
    import dataclasses

    from bench import registry

    if kind == "results":  # published result sets (bench/resultsets.py)
        import fnmatch

        from bench.resultsets import all_sets

        pats = pattern.split(",")
        return [dataclasses.asdict(rs.info) for k, rs in all_sets().items()
                if any(fnmatch.fnmatchcase(k, p) for p in pats)]
    reg = {"methods": registry.METHODS, "metrics": registry.METRICS, "datasets": registry.DATASETS}[kind]
    return [dataclasses.asdict(reg.get(k).info) for k in reg.list(pattern)]


def _table(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    cells = [
        [str(r.get(k, "")) if not isinstance(r.get(k), bool) else ("yes" if r[k] else "") for k, _ in cols]
        for r in rows
    ]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, (_, h) in enumerate(cols)]
    lines = ["  ".join(h.ljust(w) for (_, h), w in zip(cols, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


COLUMNS = {
    "methods": [("id", "id"), ("family", "family"), ("max_images", "max N"), ("device_aware", "torch"),
                ("version", "version"), ("name", "name")],
    "metrics": [("id", "id"), ("higher_is_better", "higher better"), ("needs_reference", "needs GT"),
                ("reference_id", "reference"), ("version", "version"), ("name", "name")],
    "datasets": [("id", "id"), ("n_scenes", "scenes"), ("roles", "roles"), ("has_ground_truth", "GT"),
                 ("training_only", "training only"), ("name", "name")],
    "results": [("id", "id"), ("n_files", "files"), ("datasets", "datasets"), ("methods", "methods"),
                ("name", "name")],
}


def main(args: argparse.Namespace) -> int:
    rows = _rows(args.kind, args.pattern)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        if "roles" in r:
            one = all(len(x) == 1 for x in r["roles"])
            r["roles"] = "".join(r["roles"]) if one else f"{len(r['roles'])} roles"
        if args.kind == "results":
            r["datasets"] = ",".join(r["datasets"])
            r["methods"] = len(r["methods"])
        if "max_images" in r and r["max_images"] is None:
            r["max_images"] = "any"
    print(_table(rows, COLUMNS[args.kind]))
    print(f"({len(rows)} {args.kind})")
    return 0
