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
