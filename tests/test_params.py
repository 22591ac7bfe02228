"""Method parameters are validated against their declared type and range (``bench.params``)."""

from __future__ import annotations

import pytest

from bench.errors import UserError
from bench.params import check_jobs, param_specs, validate_params
from bench.registry import get_method
from bench.types import MethodInfo, ParamSpec


def _info(**kw):
    return MethodInfo(id="m", name="m", params=(("n", 3), ("alpha", 0.5), ("flag", False), ("mode", "a")),
                      param_specs=(ParamSpec("n", "int", 1, 9), ParamSpec("mode", "str", choices=("a", "b"))),
                      **kw)


@pytest.mark.parametrize(
    "params,want",
    [
        ({"n": 4}, {"n": 4}),
        ({"n": 4.0}, {"n": 4}),
        ({"alpha": 1}, {"alpha": 1.0}),
        ({"flag": "true"}, {"flag": True}),
        ({"flag": 0}, {"flag": False}),
        ({"mode": "b"}, {"mode": "b"}),
    ],
)
def test_valid_values_are_coerced(params, want):
    got = validate_params(_info(), params)
    assert got == want and all(type(got[k]) is type(want[k]) for k in want)


@pytest.mark.parametrize(
    "params,needle",
    [
        ({"n": "abc"}, "expected an integer"),
        ({"n": 50}, "out of range [1, 9]"),
        ({"n": 0}, "out of range"),
        ({"n": True}, "expected an integer"),
        ({"n": 2.5}, "expected an integer"),
        ({"alpha": "x"}, "expected a number"),
        ({"alpha": float("nan")}, "finite"),
        ({"flag": "maybe"}, "true or false"),
        ({"mode": "c"}, "one of a, b"),
        ({"nn": 1}, "has no parameter 'nn' (parameters: alpha, flag, mode, n)"),
    ],
)
def test_invalid_values_are_one_line_user_errors(params, needle):
    with pytest.raises(UserError) as ei:
        validate_params(_info(), params)
    assert needle in str(ei.value) and "\n" not in str(ei.value)
    assert "'m'" in str(ei.value)


def test_fuse_signature_keywords_are_accepted():
    m = get_method("sesf")
    specs = param_specs(m.info, m.fuse)
    assert specs["weights"].type == "path" and "device" not in specs
    assert validate_params(m.info, {"weights": "/x.pt"}, m.fuse) == {"weights": "/x.pt"}


def test_registered_specs_cover_the_defaults():
    """Every declared default satisfies its own spec (the metadata is consistent)."""
    from bench.registry import list_methods

    for mid in list_methods("*"):
        m = get_method(mid)
        assert validate_params(m.info, dict(m.info.params), m.fuse) == dict(m.info.params), mid


@pytest.mark.parametrize("jobs,ok", [(1, True), (4, True), (-1, True), (0, False), (-5, False)])
def test_check_jobs(jobs, ok):
    if ok:
        assert check_jobs(jobs) == jobs
    else:
        with pytest.raises(UserError, match=f"--jobs {jobs}"):
            check_jobs(jobs)
