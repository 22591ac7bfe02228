"""External fused images: the user's own outputs (``--external``) and published result sets (``--results``).

Both resolve to :class:`ExternalSource`: a label shown in every table like a method's name, and a rule
mapping a (dataset, scene) to a file. The runner scores those files exactly like fused images it made
itself; it only has to ask :func:`load_fused` per scene (an :class:`ExternalImageError` becomes that
scene's error row, its message naming the file).

``--external LABEL=SPEC[,times=FILE.csv]`` (repeatable). SPEC is

* a folder: ``DIR/<scene>.<ext>``, or ``DIR/<dataset>/<scene>.<ext>`` (looked for first, for runs over
  several datasets), any extension the reader supports (png, jpg, jpeg, bmp, tif, tiff; 8 or 16 bit);
* a pattern with ``{scene}`` (and optionally ``{dataset}``), e.g. ``DIR/{scene}_mine.png``; ``*`` and
  ``?`` are allowed after substitution (``DIR/{scene}.*``), the match must be unique.

``times=FILE.csv`` gives fusion times in seconds: columns ``scene`` and ``seconds`` (or ``time``,
``time_s``), optionally ``dataset``. Without it there is no fusion time for the label.

``--results NAME[:METHOD,...]`` (repeatable) uses a declared result set (``bench list results``); labels are
``NAME:METHOD`` (``yuliu2020:dsift``, ``mfifb:IFCNN``), which cannot collide with our ids. Scenes the set does
not cover get no row; covered scenes whose file is not present locally are error rows saying how to
download it; present files are sha256-verified.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import UserError

EXTS = ("png", "jpg", "jpeg", "bmp", "tif", "tiff")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\-:]*$")


class ExternalImageError(Exception):
    """A per-scene problem with an external image (missing, unreadable, wrong size): an error row."""


@dataclass(frozen=True)
class ExternalSource:
    """One external column of a run.

    ``kind`` is ``"folder"`` (``origin`` = DIR or pattern) or ``"results"`` (``origin`` = result set id,
    ``method`` = its upstream method name). ``times`` maps ``"dataset/scene"`` or ``"scene"`` to seconds.
    """

    label: str
    kind: str
    origin: str
    method: str = ""
    times_file: str = ""
    times: dict = field(default_factory=dict, compare=False)

    def time_for(self, dataset: str, scene: str) -> float:
        v = self.times.get(f"{dataset}/{scene}", self.times.get(scene))
        return math.nan if v is None else float(v)

    def describe(self) -> dict:
        """What run.json records about this source."""
        d = {"label": self.label, "kind": self.kind, "origin": self.origin}
        if self.method:
            d["method"] = self.method
        if self.times_file:
            d["times"] = self.times_file
        return d


# ----------------------------------------------------------------------------------------------- parsing
def parse_external(spec: str, taken: set[str] = frozenset()) -> ExternalSource:
    """``LABEL=DIR[,times=FILE.csv]`` -> :class:`ExternalSource` (user errors name the option)."""
    label, sep, rest = spec.partition("=")
    label = label.strip()
    if not sep or not label or not rest.strip():
        raise UserError(
            f"--external {spec!r}: expected LABEL=DIR (or LABEL=DIR/{{scene}}.png)[,times=FILE.csv]"
        )
    if not _LABEL.match(label):
        raise UserError(f"--external {spec!r}: label {label!r} may use letters, digits and _ . + - : only")
    if label in taken:
        raise UserError(
            f"--external {spec!r}: label {label!r} is already used by a method or another --external"
        )
    origin, times_file = rest, ""
    m = re.search(r",times=([^,]+)$", rest)
    if m:
        origin, times_file = rest[: m.start()], m.group(1)
    origin = os.path.expanduser(origin.strip())
    bad = set(re.findall(r"{([^}]*)}", origin)) - {"scene", "dataset"}
    if bad:
        raise UserError(
            f"--external {spec!r}: unknown placeholder(s) {', '.join(sorted(bad))} (use {{scene}})"
        )
    if "{scene}" not in origin:
        if not Path(origin).is_dir():
            what = "is not a folder" if Path(origin).exists() else "not found"
            raise UserError(
                f"--external {label}={origin}: {what} (give a folder or a pattern with {{scene}})"
            )
    else:
        prefix = origin.split("{", 1)[0]
        base = Path(prefix) if prefix.endswith(("/", os.sep)) else Path(prefix).parent
        if not base.is_dir():
            raise UserError(f"--external {label}={origin}: folder {base} not found")
    times = read_times(times_file, label) if times_file else {}
    return ExternalSource(label, "folder", origin, "", times_file, times)


def read_times(path: str, label: str = "") -> dict[str, float]:
    """Read ``scene,seconds`` (optionally ``dataset``) from a CSV; keys ``dataset/scene`` or ``scene``."""
    p = Path(os.path.expanduser(path))
    if not p.is_file():
        raise UserError(f"--external {label}: times file {p} not found")
    with open(p, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise UserError(f"{p}: no rows (expected columns scene,seconds)")
    cols = {c.strip().lower(): c for c in rows[0]}
    tcol = next((cols[c] for c in ("seconds", "time_s", "time", "time_fuse_s") if c in cols), None)
    if "scene" not in cols or tcol is None:
        raise UserError(
            f"{p}: expected columns scene and seconds (or time, time_s); got {', '.join(rows[0])}"
        )
    out: dict[str, float] = {}
    for i, r in enumerate(rows, start=2):
        try:
            t = float(r[tcol])
        except (TypeError, ValueError):
            raise UserError(f"{p}, line {i}: {r[tcol]!r} is not a number of seconds") from None
        if not math.isfinite(t) or t < 0:
            raise UserError(f"{p}, line {i}: time {t} must be a finite number >= 0")
        scene = r[cols["scene"]].strip()
        ds = r.get(cols["dataset"], "").strip() if "dataset" in cols else ""
        out[f"{ds}/{scene}" if ds else scene] = t
    return out


def parse_results(spec: str) -> list[ExternalSource]:
    """``NAME[:METHOD,...]`` -> one :class:`ExternalSource` per method of the result set."""
    from bench.resultsets import parse_spec

    rs, methods = parse_spec(spec)
    return [ExternalSource(rs.label(m), "results", rs.info.id, m) for m in (methods or rs.info.methods)]


def parse_all(externals: list[str] | None, results: list[str] | None, method_labels: set[str]) -> tuple:
    """Every ``--external`` and ``--results`` option -> a tuple of sources with unique labels."""
    out: list[ExternalSource] = []
    taken = set(method_labels)
    for spec in externals or ():
        src = parse_external(spec, taken)
        taken.add(src.label)
        out.append(src)
    for spec in results or ():
        for src in parse_results(spec):
            if src.label in taken:
                raise UserError(f"--results {spec}: {src.label!r} is selected twice")
            taken.add(src.label)
            out.append(src)
    return tuple(out)


# ----------------------------------------------------------------------------------------------- resolving
def _candidates(src: ExternalSource, dataset: str, scene: str) -> list[Path]:
    if "{scene}" in src.origin:
        raw = src.origin
        if any(ch in raw.replace("{scene}", "").replace("{dataset}", "") for ch in "*?"):
            pat = raw.replace("{dataset}", glob.escape(dataset)).replace("{scene}", glob.escape(scene))
            return [Path(p) for p in sorted(glob.glob(pat))]
        p = Path(raw.replace("{dataset}", dataset).replace("{scene}", scene))
        return [p] if p.is_file() else []
    root = Path(src.origin)
    for folder in (root / dataset, root):
        hits = [folder / f"{scene}.{e}" for e in EXTS] + [folder / f"{scene}.{e.upper()}" for e in EXTS]
        hits = [h for h in dict.fromkeys(hits) if h.is_file()]
        if hits:
            return hits
    return []


def covers(src: ExternalSource, dataset: str) -> bool:
    """Whether the source can have an image for this dataset (result sets cover declared datasets only)."""
    if src.kind != "results":
        return True
    from bench.resultsets import get_set

    return dataset in get_set(src.origin).info.datasets


def resolve(
    src: ExternalSource, dataset: str, scene: str, results_dir: str | None = None
) -> tuple[Path, str]:
    """(path, expected sha256 or "") of the fused image for one scene; :class:`ExternalImageError` if none."""
    if src.kind == "results":
        from bench.resultsets import get_set

        rs = get_set(src.origin)
        f = next(
            (f for f in rs.files if f.dataset == dataset and f.scene == scene and f.method == src.method),
            None,
        )
        if f is None:
            raise ExternalImageError(f"{src.label}: the result set declares no image for {dataset}/{scene}")
        found, _ = rs.locate([f], results_dir)
        if f not in found:
            raise ExternalImageError(
                f"{src.label}: {f.path} not downloaded (run `python -m bench download {rs.info.id}`)"
            )
        return found[f], f.sha256
    hits = _candidates(src, dataset, scene)
    if not hits:
        if "{scene}" in src.origin:
            want = src.origin.replace("{dataset}", dataset).replace("{scene}", scene)
        else:
            want = f"{Path(src.origin) / dataset / scene}.* or {Path(src.origin) / scene}.*"
        raise ExternalImageError(f"{src.label}: no fused image for {dataset}/{scene}: {want} not found")
    if len(hits) > 1:
        names = ", ".join(h.name for h in hits)
        raise ExternalImageError(
            f"{src.label}: several fused images for {dataset}/{scene} ({names}); keep one"
        )
    return hits[0], ""


@dataclass(frozen=True)
class ExternalFused:
    """A loaded external fused image, ready for the runner's fused-image cache."""

    image_u8: np.ndarray
    path: Path
    file_sha256: str
    time_s: float


def load_fused(src: ExternalSource, dataset: str, scene, results_dir: str | None = None) -> ExternalFused:
    """Resolve, read and validate one external image against ``scene`` (a :class:`bench.datasets.Scene`).

    Raises :class:`ExternalImageError` (missing, unreadable, sha256 mismatch, size mismatch, non-finite
    values): the message names the file. Grey next to colour sources is allowed (metrics use luminance).
    """
    from bench.imageio import read_image, to_uint8
    from bench.integrity import sha256_file

    path, expected = resolve(src, dataset, scene.id, results_dir)
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise ExternalImageError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if expected and digest != expected:
        raise ExternalImageError(
            f"{path}: sha256 mismatch (expected {expected[:12]}..., got {digest[:12]}...)"
        )
    try:
        img = read_image(path)
    except UserError as exc:
        raise ExternalImageError(str(exc)) from None
    shape = _source_shape(scene)
    if img.shape[:2] != shape:
        raise ExternalImageError(
            f"{path}: size {img.shape[1]}x{img.shape[0]} differs from the sources' {shape[1]}x{shape[0]} "
            f"({dataset}/{scene.id})"
        )
    return ExternalFused(to_uint8(img), path, digest, src.time_for(dataset, scene.id))


def _source_shape(scene) -> tuple[int, int]:
    """Height and width of the scene's sources, from the first file's header when there is one."""
    if getattr(scene, "paths", None):
        from PIL import Image

        try:
            with Image.open(scene.paths[0]) as im:
                w, h = im.size
            return h, w
        except OSError:
            pass
    return tuple(scene.load_sources()[0].shape[:2])


def fused_key(src: ExternalSource, file_sha256: str, scene) -> str:
    """Cache key of an external fused image: its content and the scene's sources (never the path)."""
    h = hashlib.sha256()
    for part in ("external-v1", file_sha256, *scene.sha256):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()
