"""Regenerate ``datasets/<id>.toml`` from a folder of MANIFEST.csv files (maintainer tool, not imported).

Usage: ``python datasets/make_declarations.py ../shared/datasets``

Each file's download URL is pinned to the commit its bytes were read from
(``https://raw.githubusercontent.com/<repo>/<commit>/<path>``). The per-dataset facts (citation,
licence terms as stated, official page) are kept below, copied from the dataset README.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent

LYTRO_CITE = (
    "M. Nejati, S. Samavi, S. Shirani, Multi-focus image fusion using dictionary-based sparse representation, "
    "Information Fusion 25 (2015) 72-84, doi:10.1016/j.inffus.2014.10.004"
)
LYTRO_TERMS = "The source's Readme.txt only asks to cite the paper; no licence is given."
LYTRO_URL = "https://mansournejati.ece.iut.ac.ir/content/lytro-multi-focus-dataset"
MFFW_CITE = (
    "S. Xu, X. Wei, C. Zhang, J. Liu, J. Zhang, MFFW: A new dataset for multi-focus image fusion, "
    "arXiv:2002.04780 (2020); S. Xu et al., Towards reducing severe defocus spread effects for multi-focus "
    "image fusion via an optimization based strategy, IEEE TCI 6 (2020) 1561-1570"
)
MFFW_TERMS = "The dataset's readme.txt only asks to cite both papers; the hosting repo's GPL-3.0 covers its code."
SESF_CITE = (
    "B. Ma, Y. Zhu, X. Yin et al., SESF-Fuse: an unsupervised deep model for multi-focus image fusion, "
    "Neural Computing and Applications (2020), doi:10.1007/s00521-020-05358-9; B. Ma, X. Yin, D. Wu et al., "
    "End-to-end learning for simultaneously generating decision map and multi-focus image fusion result, "
    "Neurocomputing 470 (2022) 204-216, doi:10.1016/j.neucom.2021.10.115"
)

META = {
    "lytro": dict(
        name="Lytro multi-focus dataset (20 pairs)", citation=LYTRO_CITE, license=LYTRO_TERMS, url=LYTRO_URL,
        notes="520x520 colour JPEG pairs (chroma-subsampled; PIL and OpenCV decode them identically).",
    ),
    "lytro_triple": dict(
        name="Lytro Triple Series (4 x 3 sources)", citation=LYTRO_CITE, license=LYTRO_TERMS, url=LYTRO_URL,
        notes="Different scenes from the pairs although the original stems restart at 01.",
    ),
    "classic_gray": dict(
        name="Classic grayscale pairs (clock, pepsi, lab, desk, ...)",
        citation=(
            "Y. Liu, L. Wang, J. Cheng, C. Li, X. Chen, Multi-focus image fusion: A survey of the state of the art, "
            "Information Fusion 64 (2020) 71-91"
        ),
        license="No licence file; the repository README asks for the survey to be cited.",
        url="https://github.com/yuliu316316/MFIF",
        notes="Classic images circulate in variants (e.g. gray_mwg_clock differs from g_01); record the copy used.",
    ),
    "sesf_gacn": dict(
        name="SESF-Fuse test set (38 pairs; GACN's 26 are a subset)", citation=SESF_CITE,
        license="Repositories are LGPL-2.1; the images are third-party with no separate terms.",
        url="https://github.com/Keep-Passion/SESF-Fuse",
        notes="PNG copies; the Lytro ones were decoded differently from the original JPEGs (mean |diff| 0.2-0.5).",
    ),
    "mffw": dict(
        name="MFFW2: multi-focus image fusion in the wild (13 pairs)", citation=MFFW_CITE, license=MFFW_TERMS,
        url="https://github.com/xclhs/Adaptive-Region-Division-Multi-Focus-Fusion-Algorithm",
        notes="No official download was confirmed; no focus maps or references exist in any copy found.",
    ),
    "mffw3": dict(
        name="MFFW3: multi-source sets (3-6 sources)", citation=MFFW_CITE, license=MFFW_TERMS,
        url="https://github.com/xclhs/Adaptive-Region-Division-Multi-Focus-Fusion-Algorithm",
        notes="Roles follow imageK order (image1 is A).",
    ),
    "mfi_whu": dict(
        name="MFI-WHU (the 30-pair subset redistributed by MiT-MFIF)",
        citation=(
            "H. Zhang, Z. Le, Z. Shao, H. Xu, J. Ma, MFF-GAN: An unsupervised generative adversarial network with "
            "adaptive and gradient joint constraints for multi-focus image fusion, Information Fusion 66 (2021) 40-53"
        ),
        license="Official repository is MIT-licensed; full-clear images come from public datasets.",
        url="https://github.com/HaoZhang1018/MFI-WHU",
        notes="30 of 120 pairs; numbering does not match the official 1..120; no ground truth in this copy.",
    ),
    "mfifb": dict(
        name="MFIFB benchmark test set (105 pairs)",
        citation="X. Zhang, Multi-focus Image Fusion: A Benchmark, arXiv:2005.01116 (2020)",
        license="No licence file; the README asks users to cite the paper.",
        url="https://github.com/xingchenzhang/MFIFB",
        notes="tsai_12 is byte-identical to savic_18 (104 distinct pairs); mixes gray and RGB.",
    ),
    "stacks": dict(
        name="Long focus stacks (GACN chip V-4, 65 frames; scorpion, 7 frames)",
        citation=(
            "GACN (Ma et al., Neurocomputing 470 (2022) 204-216) for gacn_V-4, data credited to Zhuhai Boming Vision "
            "Technology; la3lma/focusstack for scorpion-lapse"
        ),
        license="gacn_V-4: no terms stated (research/test use); scorpion-lapse: Apache-2.0 (stated by the author).",
        url="https://github.com/Keep-Passion/GACN",
        notes="Frames S01..Snn in the source's own order.",
    ),
    "train_ecssd": dict(
        name="ECSSD images + foreground masks (TRAINING ONLY)",
        citation=(
            "J. Shi, Q. Yan, L. Xu, J. Jia, Hierarchical Image Saliency Detection on Extended CSSD, "
            "IEEE TPAMI 38(4) (2016) 717-729"
        ),
        license="No licence or terms-of-use statement was found.",
        url="https://www.cse.cuhk.edu.hk/leojia/projects/hsaliency/dataset.html",
        training_only=True,
        notes="Training set for the deep methods; never a test set (bench run refuses it).",
    ),
}


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def declare(manifest: Path, ds_id: str) -> str:
    meta = META[ds_id]
    rows = list(csv.DictReader(open(manifest, newline="")))
    roles: list[str] = []
    for r in rows:
        if r["role"] not in roles and r["role"] != "GT":
            roles.append(r["role"])
    lines = [
        f"# Dataset declaration for `{ds_id}` (generated by datasets/make_declarations.py from its MANIFEST.csv).",
        f"id = {_q(ds_id)}",
        f"name = {_q(meta['name'])}",
        f"citation = {_q(meta['citation'])}",
        f"license = {_q(meta['license'])}",
        f"url = {_q(meta['url'])}",
        f"notes = {_q(meta['notes'])}",
        f"training_only = {'true' if meta.get('training_only') else 'false'}",
        "roles = [" + ", ".join(_q(r) for r in roles) + "]",
        "files = [",
    ]
    for r in rows:
        scene = r.get("scene") or r["id"]
        url = f"https://raw.githubusercontent.com/{r['source_repo']}/{r['source_commit']}/{quote(r['source_path'])}"
        lines.append(
            f"  {{ scene = {_q(scene)}, role = {_q(r['role'])}, path = {_q(r['path'])}, "
            f"sha256 = {_q(r['sha256'])}, url = {_q(url)} }},"
        )
    lines.append("]")
    return "\n".join(lines) + "\n"


def main(src: str) -> None:
    for manifest in sorted(Path(src).glob("*/MANIFEST.csv")):
        ds_id = manifest.parent.name
        (HERE / f"{ds_id}.toml").write_text(declare(manifest, ds_id))
        print("wrote", ds_id)


if __name__ == "__main__":
    main(sys.argv[1])
