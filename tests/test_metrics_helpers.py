"""The role helpers of metrics/: one validator, MATLAB compatibility, memo caches, variant families."""

from __future__ import annotations

import numpy as np
import pytest

import bench.registry as reg
from bench.types import MetricInfo
from metrics import _memo
from metrics._checks import as_reference, check_inputs
from metrics._matlab import matlab_round, normalize1
from metrics._variants import register_family


def test_check_inputs_counts_shapes_and_dtypes():
    a = np.zeros((4, 5))
    srcs, f = check_inputs([a, a.astype(np.uint8)], a, metric="m")
    assert all(s.dtype == np.float64 for s in srcs) and srcs[0] is a  # float64 input: no copy
    with pytest.raises(ValueError, match="at least 2 source"):
        check_inputs([a], a, metric="m", min_n=2)
    with pytest.raises(ValueError, match="defined for 2 sources, got 3"):
        check_inputs([a, a, a], a, metric="m", min_n=2, max_n=2)
    with pytest.raises(ValueError, match="defined for 2 sources, got 3"):
        check_inputs([a, a, a], a, metric="m", n=2)
    with pytest.raises(ValueError, match="shape"):
        check_inputs([a, a[:, :-1]], a, metric="m")
    with pytest.raises(ValueError, match="2-D"):
        check_inputs([np.zeros((4, 5, 3))], np.zeros((4, 5, 3)), metric="m")
    with pytest.raises(TypeError, match="numeric"):
        check_inputs([a.astype(bool)], a, metric="m")
    with pytest.raises(TypeError, match="sequence"):
        check_inputs(a, a, metric="m")
    with pytest.raises(ValueError, match="ground-truth"):
        as_reference(None, a, "m")


def test_matlab_round_and_normalize1():
    x = np.array([-2.5, -1.5, -0.5, -0.4, 0.4, 0.5, 1.5, 2.5, 0.49999999999999994, np.nan, np.inf])
    r = matlab_round(x)
    np.testing.assert_array_equal(r[:9], [-3, -2, -1, -0.0, 0, 1, 2, 3, 0])
    assert np.signbit(r[3]) and np.isnan(r[9]) and r[10] == np.inf
    np.testing.assert_array_equal(normalize1(np.array([[1.0, 2.0], [3.0, 5.0]])), [[0, 64], [128, 255]])
    assert np.isnan(normalize1(np.full((2, 2), 3.0))).all()  # 0/0 as in MATLAB
    z = np.zeros((2, 2))
    assert normalize1(z) is not z and not normalize1(z).any()


def test_register_family_ids_metadata_and_values(monkeypatch):
    monkeypatch.setattr(reg, "METRICS", reg.Registry("metric"))
    calls = []

    def q(s, f):
        calls.append(1)
        return float(np.mean(s) - np.mean(f))

    base = MetricInfo(id="zz", name="ZZ", version="3", notes="n")
    fns = register_family(
        base,
        q,
        combine="sum",
        variants={
            "avg": {},
            "af": dict(reference_id="ZZ_AF"),
            "bf": {},
            "lin": dict(compute=lambda srcs, f: len(srcs) * 10.0, name="ZZ (lineage)"),
        },
    )
    assert sorted(fns) == ["zz", "zz@af", "zz@avg", "zz@bf", "zz@lin"]
    a, b, f = np.full((3, 3), 4.0), np.full((3, 3), 1.0), np.zeros((3, 3))
    get = reg.METRICS.get
    assert get("zz").fn([a, b], f) == 5.0
    assert get("zz@avg").fn([a, b], f) == 2.5
    assert get("zz@af").fn([a, b], f) == 4.0 and get("zz@bf").fn([a, b], f) == 1.0
    assert get("zz@lin").fn([a, b, b], f) == 30.0
    info = get("zz@af").info
    assert (info.name, info.reference_id, info.version, info.n_sources) == (
        "ZZ(A,F)",
        "ZZ_AF",
        "3",
        "any: uses the first source only",
    )
    assert get("zz@bf").info.n_sources.startswith("any >= 2")
    with pytest.raises(ValueError, match="at least 2 source"):
        get("zz@bf").fn([a], f)
    with pytest.raises(ValueError, match="compute"):
        register_family(MetricInfo(id="yy", name="YY"), q, variants={"other": {}})
    with pytest.raises(ValueError, match="'@'"):
        register_family(MetricInfo(id="yy@x", name="YY"), q)


def test_source_memo_shares_one_budget_and_clear_memos():
    budget = _memo._SharedBudget(2500)
    m1 = _memo.memoize_images(lambda x: np.zeros(100), 8, budget=budget)  # 800 bytes per value
    m2 = _memo.memoize_images(lambda x: np.zeros(100), 8, budget=budget)
    for k in range(2):
        m1(np.full((2, 2), float(k)))
    m2(np.full((2, 2), 9.0))
    assert len(m1.cache) + len(m2.cache) == 3 and budget.total == 2400
    m2(np.full((2, 2), 8.0))  # over budget: the least recently used entry of either memo goes
    assert len(m1.cache) == 1 and len(m2.cache) == 2 and budget.total == 2400
    _memo.clear_memos()
    assert not m1.cache and not m2.cache and _memo.SOURCE_BUDGET.total == 0
