"""Score tasks group metrics without splitting a family (variants share memoised work in a worker)."""

from bench.registry import list_metrics, load_all
from bench.runner import METRICS_PER_TASK, metric_groups


def _family(m: str) -> str:
    return m.split("@", 1)[0]


def test_groups_cover_every_metric_once_and_keep_families_together():
    load_all()
    ids = list(list_metrics())
    groups = metric_groups(ids)
    flat = [m for g in groups for m in g]
    assert sorted(flat) == sorted(ids)
    owner = {}
    for k, g in enumerate(groups):
        for m in g:
            assert owner.setdefault(_family(m), k) == k, f"family {_family(m)} split across tasks"
    assert len(groups) >= 2  # more than one task per fused image: both workers busy on small runs
    assert all(len(g) >= METRICS_PER_TASK // 2 for g in groups)


def test_small_groups():
    assert metric_groups(["qy", "a", "qy@x", "b", "qy@z"], 2) == [["a", "b"], ["qy", "qy@x", "qy@z"]]
    assert metric_groups(["a"], 3) == [["a"]]
    assert metric_groups([], 3) == []


def test_fused_key_follows_weights_content_not_path(tmp_path):
    """A user checkpoint (``weights=PATH``) keys the result cache by the file's sha256."""
    import pytest

    from bench.cache import ResultCache
    from bench.errors import UserError
    from bench.runner import MethodSpec, RunConfig, _plan_fusions

    load_all()
    w1, w2, w3 = tmp_path / "a.pt", tmp_path / "b.pt", tmp_path / "c.pt"
    w1.write_bytes(b"one")
    w2.write_bytes(b"one")
    w3.write_bytes(b"two")
    cache = ResultCache(tmp_path / "cache")

    def key(path):
        cfg = RunConfig(methods=(MethodSpec("sesf", (("weights", str(path)),)),), limit=1)
        return _plan_fusions(cfg, "cpu", cache)[0].key

    assert key(w1) == key(w2)  # same content, other path: same results
    assert key(w1) != key(w3)  # new content: recomputed
    with pytest.raises(UserError, match="not found"):
        key(tmp_path / "missing.pt")


def test_scene_bundles_group_a_scenes_images_per_metric_group():
    """Score tasks have scene affinity: one task scores the fused images of one scene with one group."""
    from bench.runner import scene_bundles

    scene = {0: "s1", 1: "s1", 2: "s1", 3: "s2", 4: "s2", 5: "s3"}
    g1, g2 = ["en", "qp"], ["fmi_pixel"]
    items = [(i, g) for i in range(6) for g in (g1, g2)]  # the planner's order: job-major, scene-major
    bundles = scene_bundles(items, scene.__getitem__, jobs=1, cap=32)
    flat = [it for b in bundles for it in b]
    assert sorted(flat, key=lambda t: (t[0], t[1] == g2)) == items  # every item exactly once
    for b in bundles:
        assert len({scene[i] for i, _ in b}) == 1 and len({tuple(m) for _, m in b}) == 1
    assert [[i for i, _ in b] for b in bundles] == [[0, 1, 2], [0, 1, 2], [3, 4], [3, 4], [5], [5]]
    assert [b[0][1] for b in bundles] == [g1, g2, g1, g2, g1, g2]


def test_scene_bundles_keep_every_worker_busy_and_respect_the_cap():
    from bench.runner import scene_bundles

    items = [(i, ["en"]) for i in range(8)]  # one scene, 8 fused images
    one_scene = lambda i: "s"  # noqa: E731
    assert [len(b) for b in scene_bundles(items, one_scene, jobs=2)] == [2, 2, 2, 2]  # >= 2 tasks per worker
    assert [len(b) for b in scene_bundles(items, one_scene, jobs=1, cap=3)] == [3, 3, 2]
    assert [len(b) for b in scene_bundles(items, one_scene, jobs=64)] == [1] * 8
    assert scene_bundles([], one_scene, jobs=2) == []
