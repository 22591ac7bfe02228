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
