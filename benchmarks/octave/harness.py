"""Octave reference harness: run the original MATLAB metric code on deterministic cases, write goldens.

Developer tool only (needs GNU Octave with the ``image`` package, e.g. Debian ``octave octave-image
liboctave-dev``); CI and users never run it. It fetches nothing: the upstream repositories are read from
``--upstream DIR`` (one sub-folder ``owner+name`` per repository, a plain checkout of the commit pinned in
:mod:`benchmarks.octave.specs`). ``export`` fills such a folder from local git mirrors.

    python -m benchmarks.octave.harness export --mirror /work/.mirror --upstream /tmp/upstream
    python -m benchmarks.octave.harness run --upstream /tmp/upstream --cases visible \
        --out tests/data/golden/octave_visible.json
    python -m benchmarks.octave.harness run --upstream /tmp/upstream --cases golden \
        --out tests/data/golden/octave_golden.json [--only MEF_MS_SSIM_tang,VIFF_han] [--jobs 2]
    python -m benchmarks.octave.harness agree tests/data/golden/octave_visible.json
    python -m benchmarks.octave.harness import-tsv --upstream DIR --cases golden --out FILE out_*.tsv

Each group of :data:`specs.GROUPS` runs in its own ``octave-cli`` process (Liu's toolbox and the survey's
copy define the same function names); a ``kind="python"`` group (CDDFuse's Evaluator) runs in this process
(:mod:`benchmarks.octave.pyref`). Cases go to Octave as ``.mat`` files of ``uint8`` images; values
come back printed with ``%.17g`` (round-trip exact). A call that errors is recorded with its message; a
complex result (e.g. ``ssim_mscale_new`` when a scale's mean contrast-structure is negative: a negative base
to a fractional power) is stored as null with the complex number in ``nonfinite`` (never its real part).
``--only`` / ``--case`` merge into an existing output file (other entries are kept).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.octave import cases as C
from benchmarks.octave import specs as S

HERE = Path(__file__).resolve().parent
SHIMS = HERE / "shims"
#: Prefix of the message for a complex result (|imag| > 1e-9 |v|): stored as null + the number in "nonfinite"
COMPLEX = "complex: "


def _q(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def _octave_version() -> dict:
    code = (
        "v = OCTAVE_VERSION; printf('%s\\n', v); l = pkg('list');"
        "for i = 1:numel(l), printf('%s %s\\n', l{i}.name, l{i}.version); end"
    )
    out = subprocess.run(
        ["octave-cli", "--norc", "-q", "--eval", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    pk = dict(line.split(" ", 1) for line in out[1:] if " " in line)
    return {"version": out[0].strip(), "packages": pk}


def export(mirror: Path, upstream: Path) -> None:
    """``git archive`` each pinned commit from ``<mirror>/owner+name/repo`` into ``<upstream>/owner+name``."""
    for repo, commit in S.REPOS:
        git_dir = mirror / S.folder((repo, commit)) / "repo"
        dest = upstream / S.folder((repo, commit))
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        # only the folders the harness reads (snapshots may lack unrelated large files)
        paths = sorted({p for g in S.GROUPS.values() if g.repo[0] == repo for p in g.paths if p})
        arch = subprocess.run(
            ["git", "-C", str(git_dir), "archive", commit, *paths], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=arch, check=True)
        (dest / ".commit").write_text(commit + "\n")
        print(f"{repo} @ {commit} -> {dest}")


def _pyrtools(upstream: Path, build: Path) -> Path:
    """Liu's matlabPyrTools: the .m files from the zip plus corrDn.c built with ``mkoctfile --mex``."""
    out = build / "pyrtools"
    if (out / "corrDn.mex").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    zf = upstream / S.folder(S.LIU) / "matlabPyrTools.zip"
    with zipfile.ZipFile(zf) as z:
        z.extractall(build / "pyr_zip")
    mfiles = list((build / "pyr_zip").rglob("buildWpyr.m"))
    if not mfiles:
        raise FileNotFoundError("buildWpyr.m not found in matlabPyrTools.zip")
    mdir = mfiles[0].parent
    for f in mdir.glob("*.m"):
        shutil.copy(f, out / f.name)
    mex = next(mdir.rglob("corrDn.c")).parent
    src = build / "mexsrc"
    shutil.copytree(mex, src, dirs_exist_ok=True)
    (src / "matrix.h").write_text('#include "mex.h"\n')  # the only adaptation: MATLAB's header name
    subprocess.run(
        ["mkoctfile", "--mex", "-o", str(out / "corrDn.mex"), "corrDn.c", "convolve.c", "edges.c", "wrap.c"],
        cwd=src,
        check=True,
        capture_output=True,
    )
    return out


def _script(
    group: S.Group,
    blocks: list[tuple[str, list[S.Spec]]],
    casedir: Path,
    outfile: Path,
    upstream: Path,
    build: Path,
) -> str:
    root = upstream / S.folder(group.repo)
    lines = ["1;", "pkg load image;", "warning('off', 'all');", "more off;"]
    if group.setup:
        lines.append(group.setup)
    for p in group.paths:
        lines.append(f"addpath({_q(root / p)});")
    if group.shims:
        shim_dir = build / f"shims_{group.name}"
        shim_dir.mkdir(parents=True, exist_ok=True)
        for s in group.shims:
            shutil.copy(SHIMS / s, shim_dir / s)
        lines.append(f"addpath({_q(shim_dir)}, '-end');")
    if group.needs_pyrtools:
        lines.append(f"addpath({_q(_pyrtools(upstream, build))}, '-end');")
    lines += [
        f"fid = fopen({_q(outfile)}, 'w');",
        "function put(fid, cid, gid, fn)",
        "  t0 = tic;",
        "  try",
        "    v = fn();",
        "    v = double(v(1));",
        "    if abs(imag(v)) > 1e-9 * abs(v)",  # a complex result (e.g. a negative base ^ a fraction)
        "      fprintf(fid, '%s\\t%s\\tNaN\\t%.4f\\tcomplex: %.17g%+.17gi\\n', cid, gid, toc(t0), "
        "real(v), imag(v));",
        "    else",
        "      fprintf(fid, '%s\\t%s\\t%.17g\\t%.4f\\t\\n', cid, gid, real(v), toc(t0));",
        "    end",
        "  catch err",
        "    msg = strrep(strrep(err.message, sprintf('\\n'), ' '), sprintf('\\t'), ' ');",
        "    fprintf(fid, '%s\\t%s\\tNaN\\t%.4f\\t%s\\n', cid, gid, toc(t0), msg);",
        "  end",
        "  fflush(fid);",
        "end",
    ]
    for cid, specs in blocks:
        lines.append(f"S = load({_q(casedir / (cid + '.mat'))});")
        lines.append("A8 = S.A8; B8 = S.B8; F8 = S.F8; GT8 = S.GT8;")
        lines.append("A = double(A8); B = double(B8); F = double(F8); GT = double(GT8);")
        for sp in specs:
            lines.append(f"put(fid, {_q(cid)}, {_q(sp.gid)}, @() {sp.call});")
    lines.append("fclose(fid);")
    return "\n".join(lines) + "\n"


def _select(
    case_list: list[dict], specs: list[S.Spec], images: dict, skip: frozenset = frozenset()
) -> dict[str, list[tuple[str, S.Spec]]]:
    """Per group, the (case id, spec) pairs that run (ground truth present, size limit)."""
    todo: dict[str, list[tuple[str, S.Spec]]] = {}
    for c in case_list:
        im = images[c["id"]]
        for sp in specs:
            if sp.needs_gt and im["GT"] is None:
                continue
            if not S.run_on(sp, c["id"]) or (c["id"], sp.gid) in skip:
                continue
            todo.setdefault(sp.group, []).append((c["id"], sp))
    return todo


def run(
    upstream: Path,
    case_list: list[dict],
    specs: list[S.Spec],
    jobs: int,
    timeout: float,
    skip: frozenset = frozenset(),
) -> dict:
    from scipy.io import savemat

    images = {c["id"]: C.build_case(c) for c in case_list}
    todo = _select(case_list, specs, images, skip)
    tmp = Path(tempfile.mkdtemp(prefix="mfif_octave_"))
    casedir = tmp / "cases"
    casedir.mkdir()
    for cid, im in images.items():
        u8 = {
            k + "8": (np.zeros((0, 0), np.uint8) if v is None else v.astype(np.uint8)) for k, v in im.items()
        }
        savemat(casedir / f"{cid}.mat", u8)
    results: list[tuple[str, str, float, float, str]] = []

    def one(group_name: str, shard: int, pairs: list[tuple[str, S.Spec]]):
        g = S.GROUPS[group_name]
        if g.kind == "python":
            from benchmarks.octave.pyref import run_python_group

            return run_python_group(g, pairs, images, upstream)
        build = tmp / f"build_{group_name}_{shard}"
        build.mkdir(exist_ok=True)
        out = tmp / f"out_{group_name}_{shard}.tsv"
        case_ids = list(dict.fromkeys(cid for cid, _ in pairs))
        blocks = [(cid, [sp for c2, sp in pairs if c2 == cid]) for cid in case_ids]
        script = _script(g, blocks, casedir, out, upstream, build)
        sfile = build / "run.m"
        sfile.write_text(script)
        t0 = time.time()
        proc = subprocess.run(
            ["octave-cli", "--norc", "-q", str(sfile)],
            cwd=build,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        got = []
        if out.is_file():
            for line in out.read_text().splitlines():
                cid, gid, v, sec, err = (line.split("\t") + [""])[:5]
                got.append((cid, gid, float(v), float(sec), err))
        if proc.returncode != 0:
            print(
                f"[{group_name}/{shard}] octave exit {proc.returncode}: {proc.stderr[-2000:]}",
                file=sys.stderr,
            )
        print(f"[{group_name}/{shard}] {len(got)} values in {time.time() - t0:.0f} s", file=sys.stderr)
        return got

    tasks = []
    for gname, pairs in todo.items():
        # shard big groups by case so that --jobs processes share the work
        case_ids = list(dict.fromkeys(cid for cid, _ in pairs))
        nshard = max(1, min(jobs, len(case_ids)))
        for k in range(nshard):
            mine = set(case_ids[k::nshard])
            tasks.append((gname, k, [(c, sp) for c, sp in pairs if c in mine]))
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        for got in ex.map(lambda t: one(*t), tasks):
            results.extend(got)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"images": images, "results": results}


def _upstream_info(upstream: Path, groups: set[str]) -> dict:
    out = {}
    for gname in sorted(groups):
        g = S.GROUPS[gname]
        cf = upstream / S.folder(g.repo) / ".commit"
        got = cf.read_text().strip() if cf.is_file() else "unverified (no .commit file)"
        out[gname] = {
            "repo": g.repo[0],
            "commit": g.repo[1],
            "folder_commit": got,
            "paths": list(g.paths),
            "shims": list(g.shims),
            "pyrtools_mex": g.needs_pyrtools,
        }
        if g.kind == "python":
            from benchmarks.octave.pyref import versions

            out[gname]["runtime"] = versions()
    return out


def write_golden(path: Path, case_list: list[dict], specs: list[S.Spec], res: dict, upstream: Path) -> None:
    old = json.loads(path.read_text()) if path.is_file() else {}
    values = old.get("values", {})
    errors = old.get("errors", {})
    seconds = old.get("seconds", {})
    nonfinite = old.get("nonfinite", {})
    for cid, gid, v, sec, err in res["results"]:
        values.setdefault(cid, {})[gid] = v if np.isfinite(v) else None
        if err.startswith(COMPLEX):  # a value, not an error: null in "values", the number in "nonfinite"
            nonfinite.setdefault(cid, {})[gid] = err
            err = ""
        elif not np.isfinite(v) and not err:
            nonfinite.setdefault(cid, {})[gid] = repr(v)
        seconds.setdefault(cid, {})[gid] = sec
        if err:
            errors.setdefault(cid, {})[gid] = err
        elif gid in errors.get(cid, {}):
            del errors[cid][gid]
    cases_old = {c["id"]: c for c in old.get("cases", [])}
    for c in case_list:
        im = res["images"][c["id"]]
        cases_old[c["id"]] = dict(
            c, shape=list(im["F"].shape), has_gt=im["GT"] is not None, sha256=C.pixels_sha256(im)
        )
    metrics = old.get("metrics", {})
    for sp in specs:
        g = S.GROUPS[sp.group]
        metrics[sp.gid] = {
            "group": sp.group,
            "repo": g.repo[0],
            "commit": g.repo[1],
            "call": sp.call,
            "adaptations": list(sp.adaptations),
            "cost": sp.cost,
            "needs_gt": sp.needs_gt,
        }
    ups = old.get("upstream", {})
    ups.update(_upstream_info(upstream, {sp.group for sp in specs}))
    doc = {
        "schema_version": 1,
        "generator": "python -m benchmarks.octave.harness run (mfif-bench)",
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "octave": _octave_version(),
        "inputs": "A8/B8/F8/GT8 = uint8 images of the case; A/B/F/GT = double of them (0..255)",
        "upstream": ups,
        "metrics": dict(sorted(metrics.items())),
        "cases": list(cases_old.values()),
        "values": values,
        "nonfinite": nonfinite,
        "errors": {k: v for k, v in errors.items() if v},
        "seconds": seconds,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


def merge(out: Path, inputs: list[Path]) -> None:
    """Merge golden files written by separate runs (same Octave); later inputs win per (case, id)."""
    doc = json.loads(out.read_text()) if out.is_file() else None
    for p in inputs:
        new = json.loads(p.read_text())
        if doc is None:
            doc = new
            continue
        if new["octave"] != doc["octave"]:
            raise SystemExit(f"error: {p}: other Octave ({new['octave']} vs {doc['octave']})")
        for key in ("values", "errors", "seconds", "nonfinite"):
            for cid, vals in new.get(key, {}).items():
                doc.setdefault(key, {}).setdefault(cid, {}).update(vals)
        for cid, vals in new.get("values", {}).items():  # a new value clears an old error
            for gid in vals:
                if gid not in new.get("errors", {}).get(cid, {}):
                    doc.get("errors", {}).get(cid, {}).pop(gid, None)
        cases = {c["id"]: c for c in doc["cases"]}
        cases.update({c["id"]: c for c in new["cases"]})
        doc["cases"] = list(cases.values())
        doc["metrics"] = dict(sorted({**doc["metrics"], **new["metrics"]}.items()))
        doc["upstream"].update(new["upstream"])
    order = {c["id"]: i for i, c in enumerate(C.golden_cases() + C.visible_cases())}
    doc["cases"].sort(key=lambda c: order.get(c["id"], 1 << 30))
    doc["errors"] = {k: v for k, v in doc.get("errors", {}).items() if v}
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, out)


def agree(golden: Path) -> int:
    """Compare a ``--cases visible`` golden file with ``shared/reference/metrics_reference.json``."""
    doc = json.loads(golden.read_text())
    ref_root = C.reference_root()
    if ref_root is None:
        print("error: shared/reference not found beside MFIF_DATA", file=sys.stderr)
        return 2
    ref = json.loads((ref_root / "metrics_reference.json").read_text())
    worst: dict[str, tuple[float, str]] = {}
    for cid, vals in doc["values"].items():
        pair, rule = cid[len("visible_") :].rsplit("_", 1)
        for gid, v in vals.items():
            exp = ref["values"].get(pair, {}).get(rule, {}).get(gid, "absent")
            if exp == "absent":
                continue
            if exp is None or v is None:
                d = 0.0 if (exp is None and v is None) else float("inf")
            else:
                d = abs(v - exp) / max(abs(exp), 1e-300)
            if d >= worst.get(gid, (-1.0, ""))[0]:
                worst[gid] = (d, f"{pair}/{rule}")
    bad = 0
    for gid in sorted(worst):
        d, where = worst[gid]
        flag = "" if d <= 1e-12 else "  <-- above 1e-12"
        bad += bool(flag)
        print(f"{gid:24s} worst rel {d:.3e} at {where}{flag}")
    print(f"{len(worst)} ids compared, {bad} above 1e-12")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.octave.harness", description=__doc__.split("\n")[0]
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export", help="fill --upstream from local git mirrors (owner+name/repo)")
    e.add_argument("--mirror", type=Path, required=True)
    e.add_argument("--upstream", type=Path, required=True)
    r = sub.add_parser("run", help="run the reference code, merge values into --out")
    r.add_argument("--upstream", type=Path, required=True)
    r.add_argument("--cases", choices=("visible", "golden"), required=True)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--only", default="", help="comma-separated golden ids (default: all)")
    r.add_argument("--case", default="", help="comma-separated case ids (default: all)")
    r.add_argument("--jobs", type=int, default=2)
    r.add_argument(
        "--skip-done", type=Path, default=None, help="skip (case, id) pairs that have values in this file"
    )
    r.add_argument("--timeout", type=float, default=4 * 3600)
    m = sub.add_parser("import-tsv", help="merge the raw value lines of an interrupted run into --out")
    m.add_argument("--upstream", type=Path, required=True)
    m.add_argument("--cases", choices=("visible", "golden"), required=True)
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("tsv", type=Path, nargs="+")
    g = sub.add_parser("merge", help="merge golden files (values, cases, provenance) into OUT")
    g.add_argument("out", type=Path)
    g.add_argument("inputs", type=Path, nargs="+")
    a = sub.add_parser("agree", help="compare a visible-case golden file with the visible set")
    a.add_argument("golden", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "export":
        export(args.mirror, args.upstream)
        return 0
    if args.cmd == "agree":
        return agree(args.golden)
    if args.cmd == "merge":
        merge(args.out, args.inputs)
        return 0
    if args.cmd == "import-tsv":
        rows = []
        for t in args.tsv:
            for line in t.read_text().splitlines():
                cid, gid, v, sec, err = (line.split("\t") + [""])[:5]
                rows.append((cid, gid, float(v), float(sec), err))
        ids = {r[0] for r in rows}
        case_list = [
            c for c in (C.visible_cases() if args.cases == "visible" else C.golden_cases()) if c["id"] in ids
        ]
        specs = [S.BY_ID[g] for g in dict.fromkeys(r[1] for r in rows)]
        images = {c["id"]: C.build_case(c) for c in case_list}
        write_golden(args.out, case_list, specs, {"images": images, "results": rows}, args.upstream)
        print(f"{len(rows)} values imported -> {args.out}")
        return 0
    if shutil.which("octave-cli") is None:
        print(
            "error: octave-cli not found (install GNU Octave: apt-get install octave octave-image)",
            file=sys.stderr,
        )
        return 2
    if not args.upstream.is_dir():
        print(f"error: --upstream {args.upstream} is not a directory", file=sys.stderr)
        return 2
    specs = list(S.SPECS)
    if args.only:
        want = args.only.split(",")
        unknown = [w for w in want if w not in S.BY_ID]
        if unknown:
            print(f"error: --only: unknown golden ids {unknown}", file=sys.stderr)
            return 2
        specs = [S.BY_ID[w] for w in want]
    case_list = C.visible_cases() if args.cases == "visible" else C.golden_cases()
    if args.case:
        want = set(args.case.split(","))
        case_list = [c for c in case_list if c["id"] in want]
        if not case_list:
            print(f"error: --case: no such case {sorted(want)}", file=sys.stderr)
            return 2
    skip = frozenset()
    if args.skip_done is not None and args.skip_done.is_file():
        done = json.loads(args.skip_done.read_text())
        skip = frozenset(
            (c, g) for c, v in done["values"].items() for g in v if g not in done["errors"].get(c, {})
        )
    res = run(args.upstream, case_list, specs, args.jobs, args.timeout, skip)
    write_golden(args.out, case_list, specs, res, args.upstream)
    n_err = sum(1 for r in res["results"] if r[4] and not r[4].startswith(COMPLEX))
    print(f"{len(res['results'])} values ({n_err} errors) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
