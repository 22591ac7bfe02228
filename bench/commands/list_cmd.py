"""``list {methods,metrics,datasets} [PATTERN] [--json]``."""

from __future__ import annotations

import argparse
import json

from bench.commands._options import add_plugin_option

NAME = "list"
HELP = "List registered methods, metrics or datasets (shell-style PATTERN, --json for metadata)."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=["methods", "metrics", "datasets"])
    p.add_argument("pattern", nargs="?", default="*", help="glob(s), comma-separated (default: *)")
    p.add_argument("--json", action="store_true", help="print full metadata as JSON")
    add_plugin_option(p)


def _rows(kind: str, pattern: str) -> list[dict]:
    import dataclasses

    from bench import registry

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
}


def main(args: argparse.Namespace) -> int:
    rows = _rows(args.kind, args.pattern)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        if "roles" in r:
            roles = r["roles"]
            r["roles"] = "".join(roles) if all(len(x) == 1 for x in roles) else f"{len(roles)} roles"
        if "max_images" in r and r["max_images"] is None:
            r["max_images"] = "any"
    print(_table(rows, COLUMNS[args.kind]))
    print(f"({len(rows)} {args.kind})")
    return 0
