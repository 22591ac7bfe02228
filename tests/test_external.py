"""Bring your own outputs and images: ``--external``, ``--results`` and ``--dataset PATH`` end to end.

The fused images are written by the test (the mean of the two lytro sources, saved as PNG/JPEG/16-bit PNG);
the folder datasets are built from lytro and lytro_triple files (grey+colour mix, 3-source scenes). Runs are
in process through the CLI with few metrics, so the file stays quick; the 20-scene acceptance run is slow.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bench.cli import main
from bench.errors import UserError
from bench.external import parse_external, read_times

METRICS = "qg,nmi"


def _lytro(data_dir):
    d = data_dir / "lytro"
    if not d.is_dir():
        pytest.skip("needs the lytro dataset (MFIF_DATA)")
    return d


def _mean_fused(src_dir, scene):
    a = np.asarray(Image.open(src_dir / scene / "A.jpg"), dtype=np.float64)
    b = np.asarray(Image.open(src_dir / scene / "B.jpg"), dtype=np.float64)
    return np.floor((a + b) / 2 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def fused_dir(tmp_path_factory, data_dir):
    lytro = _lytro(data_dir)
    out = tmp_path_factory.mktemp("mine")
    for k in range(1, 21):
        scene = f"lytro-{k:02d}"
        Image.fromarray(_mean_fused(lytro, scene)).save(out / f"{scene}.png")
    return out


def _run(tmp_path, *args):
    out = tmp_path / "run"
    rc = main(["run", "--out", str(out), "--no-progress", "--no-plots", "--jobs", "1", *args])
    return rc, out


def test_external_folder_ranked_with_builtin_methods(fused_dir, tmp_path, capsys):
    rc, out = _run(tmp_path, "--dataset", "lytro", "--limit", "3", "--methods", "lp", "--metrics", METRICS,
                   "--external", f"mine={fused_dir}")  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "| mine (external) |" in text and "| lp |" in text
    df = pd.read_csv(out / "results.csv")
    mine = df[df["method"] == "mine"]
    assert set(mine["metric"]) == {"time_fuse_s", "qg", "nmi"}
    t = mine[mine["metric"] == "time_fuse_s"]
    assert t["value"].isna().all() and t["message"].str.startswith("external:").all()  # no time unless given
    assert (mine[mine["metric"] != "time_fuse_s"]["status"] == "ok").all()
    assert json.loads((out / "run.json").read_text())["externals"]["mine"]["origin"] == str(fused_dir)


def test_external_scores_equal_direct_scoring(fused_dir, tmp_path, data_dir):
    """The external image is scored exactly as `bench score` scores the same files (no re-quantisation)."""
    _run(tmp_path, "--dataset", "lytro", "--limit", "1", "--methods", "none", "--metrics", METRICS,
         "--external", f"mine={fused_dir}")  # fmt: skip
    df = pd.read_csv(tmp_path / "run" / "results.csv")
    from bench.imageio import read_image, read_sources
    from bench.protocols import prepare
    from bench.registry import get_metric

    s = read_sources([data_dir / "lytro/lytro-01/A.jpg", data_dir / "lytro/lytro-01/B.jpg"])
    *src, f = prepare([*s, read_image(fused_dir / "lytro-01.png")])
    for m in METRICS.split(","):
        got = df[(df["method"] == "mine") & (df["metric"] == m)]["value"].iloc[0]
        assert got == get_metric(m).fn(src, f)


def test_missing_unreadable_and_wrong_size_are_error_rows(fused_dir, tmp_path, capsys):
    mine = tmp_path / "mine"
    shutil.copytree(fused_dir, mine)
    for k in (2, 3, 4):
        (mine / f"lytro-{k:02d}.png").unlink()
    (mine / "lytro-05.png").write_bytes(b"not an image at all")
    Image.open(fused_dir / "lytro-06.png").resize((100, 80)).save(mine / "lytro-06.png")
    rc, out = _run(tmp_path, "--dataset", "lytro", "--limit", "7", "--methods", "none", "--metrics", "nmi",
                   "--external", f"mine={mine}")  # fmt: skip
    assert rc == 0  # the run goes on
    err = capsys.readouterr().err
    df = pd.read_csv(out / "results.csv")
    bad = df[(df["method"] == "mine") & (df["status"] == "error")]
    assert sorted(bad["scene"]) == ["lytro-02", "lytro-03", "lytro-04", "lytro-05", "lytro-06"]
    assert bad["value"].isna().all()  # never a zero
    msg = dict(zip(bad["scene"], bad["message"], strict=True))
    for k in (2, 3, 4):
        assert f"{mine}/lytro-{k:02d}.*" in msg[f"lytro-{k:02d}"]
    assert "lytro-05.png" in msg["lytro-05"] and "not an image" in msg["lytro-05"]
    assert "lytro-06.png: size 100x80 differs from the sources' 520x520" in msg["lytro-06"]
    assert "external mine: 5 of 7 scenes have no usable fused image" in err
    assert len(df[(df["method"] == "mine") & (df["metric"] == "nmi")]) == 2  # scenes 1 and 7 scored


@pytest.mark.slow
def test_acceptance_20_images_and_3_missing(fused_dir, tmp_path, capsys):
    rc, out = _run(tmp_path, "--dataset", "lytro", "--methods", "lp,gf", "--metrics", METRICS,
                   "--external", f"mine={fused_dir}")  # fmt: skip
    assert rc == 0 and "| mine (external) |" in capsys.readouterr().out
    assert (pd.read_csv(out / "results.csv").query("method == 'mine'")["status"] == "ok").all()
    mine3 = tmp_path / "mine3"
    shutil.copytree(fused_dir, mine3)
    for k in (3, 7, 12):
        (mine3 / f"lytro-{k:02d}.png").unlink()
    rc, out = _run(tmp_path / "b", "--dataset", "lytro", "--methods", "lp,gf", "--metrics", METRICS,
                   "--external", f"mine={mine3}")  # fmt: skip
    assert rc == 0
    err = capsys.readouterr().err
    bad = pd.read_csv(out / "results.csv").query("method == 'mine' and status == 'error'")
    assert len(bad) == 3 and all(
        f"lytro-{k:02d}" in m for k, m in zip((3, 7, 12), sorted(bad["message"]), strict=True)
    )
    assert "external mine: 3 of 20 scenes have no usable fused image" in err


def test_patterns_dataset_subfolders_formats_and_times(fused_dir, tmp_path):
    pat = tmp_path / "pat"
    sub = tmp_path / "sub" / "lytro"
    pat.mkdir()
    sub.mkdir(parents=True)
    img1 = np.asarray(Image.open(fused_dir / "lytro-01.png"))
    Image.fromarray(img1).save(pat / "lytro-01_mine.jpg", quality=95)  # lossy is the user's business
    img16 = img1.astype(np.uint16) * 257  # 16-bit: the same 8-bit values after quantisation
    import cv2

    cv2.imwrite(str(pat / "lytro-02_mine.png"), img16[:, :, ::-1])
    shutil.copy(fused_dir / "lytro-01.png", sub / "lytro-01.png")
    (tmp_path / "t.csv").write_text("dataset,scene,seconds\nlytro,lytro-01,1.5\n")
    rc, out = _run(tmp_path, "--dataset", "lytro", "--limit", "2", "--methods", "none", "--metrics", "nmi",
                   "--external", f"pat={pat}/{{scene}}_mine.*",
                   "--external", f"sub={tmp_path / 'sub'},times={tmp_path / 't.csv'}")  # fmt: skip
    assert rc == 0
    df = pd.read_csv(out / "results.csv")
    ok = df[(df["metric"] == "nmi") & (df["status"] == "ok")]
    assert set(zip(ok["method"], ok["scene"], strict=True)) == {
        ("pat", "lytro-01"),
        ("pat", "lytro-02"),
        ("sub", "lytro-01"),
    }
    t = df[(df["method"] == "sub") & (df["metric"] == "time_fuse_s")].set_index("scene")
    assert t.loc["lytro-01", "value"] == 1.5 and t.loc["lytro-02", "status"] == "error"


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("mine", "expected LABEL=DIR"),
        ("mine=/nonexistent/dir", "/nonexistent/dir: not found"),
        ("bad label=/tmp", "may use letters"),
        ("lp=/tmp", "already used"),
        ("x=/tmp/{frame}.png", "unknown placeholder"),
    ],
)
def test_external_user_errors(spec, needle, capsys):
    assert main(["run", "--dataset", "lytro", "--methods", "lp", "--external", spec]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and needle in err and "\n" not in err


def test_times_file_errors(tmp_path):
    (tmp_path / "t.csv").write_text("scene,seconds\nx,abc\n")
    with pytest.raises(UserError, match="line 2"):
        read_times(str(tmp_path / "t.csv"), "mine")
    (tmp_path / "u.csv").write_text("name,duration\nx,1\n")
    with pytest.raises(UserError, match="expected columns scene and seconds"):
        read_times(str(tmp_path / "u.csv"), "mine")
    with pytest.raises(UserError, match="times file"):
        parse_external(f"m={tmp_path},times={tmp_path / 'none.csv'}")


def test_results_set_labels_and_missing_files(data_dir, reference_dir, tmp_path):
    if not (reference_dir / "yuliu2020" / "Results").is_dir():
        pytest.skip("needs shared/reference/yuliu2020")
    rc, out = _run(tmp_path, "--dataset", "lytro", "--limit", "2", "--methods", "none", "--metrics", "nmi",
                   "--results", "yuliu2020:dsift,GFF")  # fmt: skip
    assert rc == 0
    df = pd.read_csv(out / "results.csv")
    nmi = df[df["metric"] == "nmi"].set_index(["method", "scene"])["value"]
    assert set(df["method"]) == {"yuliu2020:dsift", "yuliu2020:gff"}
    # lytro-01 is in shared: our nmi equals the survey's QMI for that image
    vals = json.loads((reference_dir / "yuliu2020" / "per_image_values.json").read_text())["values"]["color"]
    assert (
        abs(nmi[("yuliu2020:dsift", "lytro-01")] - vals["dsift"]["QMI"][0]) <= 1e-9 * vals["dsift"]["QMI"][0]
    )
    miss = df[(df["scene"] == "lytro-02") & (df["status"] == "error")]
    assert len(miss) == 2 and miss["message"].str.contains("not downloaded").all()
    assert miss["message"].str.contains("bench download yuliu2020").all()


# ------------------------------------------------------------------------------------- folder datasets
@pytest.fixture()
def pairs(tmp_path, data_dir):
    """A folder like a user's: nested and flat scenes, a grey+colour pair, 3-source scenes, one GT."""
    lytro = _lytro(data_dir)
    triple = data_dir / "lytro_triple"
    root = tmp_path / "pairs"
    (root / "colour").mkdir(parents=True)
    for r in "AB":
        shutil.copy(lytro / "lytro-01" / f"{r}.jpg", root / "colour" / f"{r}.jpg")
    (root / "mixed").mkdir()
    shutil.copy(lytro / "lytro-02" / "A.jpg", root / "mixed" / "A.jpg")
    Image.open(lytro / "lytro-02" / "B.jpg").convert("L").save(
        root / "mixed" / "B.png"
    )  # grey next to colour
    Image.fromarray(_mean_fused(lytro, "lytro-02")).save(root / "mixed" / "GT.png")
    for r in "AB":  # flat layout
        shutil.copy(lytro / "lytro-03" / f"{r}.jpg", root / f"flat_{r}.jpg")
    if triple.is_dir():
        first = sorted(p for p in triple.iterdir() if p.is_dir())[0]
        (root / "three").mkdir()
        for r in "ABC":
            f = next(first.glob(f"{r}.*"))
            shutil.copy(f, root / "three" / f"{r}{f.suffix}")
        for r in "ABC":
            f = next(first.glob(f"{r}.*"))
            shutil.copy(f, root / f"three_flat_{r.lower()}{f.suffix}")
    return root


def test_folder_dataset_end_to_end(pairs, tmp_path, capsys):
    rc, out = _run(tmp_path, "--dataset", str(pairs), "--methods", "average,lp", "--metrics", "qg,ssim_gt")
    assert rc == 0, capsys.readouterr().err
    df = pd.read_csv(out / "results.csv")
    scenes = set(df["scene"])
    assert {"colour", "mixed", "flat"} <= scenes
    if (pairs / "three").is_dir():
        assert {"three", "three_flat"} <= scenes
    assert (df["status"] == "ok").all(), df[df["status"] != "ok"]["message"].tolist()
    assert set(df[df["metric"] == "ssim_gt"]["scene"]) == {"mixed"}  # the one scene with a GT
    meta = json.loads((out / "run.json").read_text())
    (prov,) = meta["dataset_sources"].values()
    assert prov["path"] == str(pairs.resolve()) and len(prov["content_sha256"]) == 64


def test_folder_dataset_errors(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["run", "--dataset", str(empty), "--methods", "lp"]) == 2
    assert "no scenes found" in capsys.readouterr().err
    one = tmp_path / "one" / "s1"
    one.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(one / "A.png")
    assert main(["run", "--dataset", str(tmp_path / "one"), "--methods", "lp"]) == 2
    assert "'s1' has 1 source image(s)" in capsys.readouterr().err
    assert main(["run", "--dataset", str(tmp_path / "nope"), "--methods", "lp"]) == 2
    assert "folder not found" in capsys.readouterr().err


def test_dataset_toml_anywhere(tmp_path, data_dir, capsys):
    lytro = _lytro(data_dir)
    from bench.integrity import sha256_file

    d = tmp_path / "mine_ds"
    (d / "s1").mkdir(parents=True)
    lines = ['id = "mine_ds"', 'name = "two scenes"', "files = ["]
    for r in "AB":
        shutil.copy(lytro / "lytro-04" / f"{r}.jpg", d / "s1" / f"{r}.jpg")
        lines.append(f'  {{ scene = "s1", role = "{r}", path = "s1/{r}.jpg", '
                     f'sha256 = "{sha256_file(d / "s1" / f"{r}.jpg")}", url = "" }},')  # fmt: skip
    lines.append("]")
    (d / "mine_ds.toml").write_text("\n".join(lines) + "\n")
    rc, out = _run(tmp_path, "--dataset", str(d / "mine_ds.toml"), "--methods", "average", "--metrics", "qg")
    assert rc == 0, capsys.readouterr().err
    df = pd.read_csv(out / "results.csv")
    assert set(df["dataset"]) == {"mine_ds"} and (df["status"] == "ok").all()
