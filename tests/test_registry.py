"""Registry behaviour: decorator registration, duplicates, globs, natural sort, close-match errors."""

from __future__ import annotations

import pytest

from bench import registry
from bench.errors import UserError
from bench.types import MethodInfo, MetricInfo


def test_lists_are_naturally_sorted_and_globbed():
    reg = registry.Registry("thing")
    for k in ["b10", "b2", "a1"]:
        reg.add(k, object())
    assert reg.list("*") == ["a1", "b2", "b10"]
    assert reg.list("b*") == ["b2", "b10"]
    assert reg.list("a1,b1?") == ["a1", "b10"]
    assert reg.list("all") == ["a1", "b2", "b10"]


def test_duplicate_ids_are_rejected():
    reg = registry.Registry("thing")
    reg.add("x", 1)
    with pytest.raises(ValueError, match="duplicate thing id 'x'"):
        reg.add("x", 2)


def test_unknown_id_suggests_close_matches_and_is_a_user_error():
    with pytest.raises(KeyError) as ei:
        registry.get_method("averag")
    assert "did you mean average" in str(ei.value)
    assert isinstance(ei.value, UserError)
    with pytest.raises(KeyError, match="unknown metric"):
        registry.list_metrics("no_such_metric")


def test_exact_name_without_glob_must_exist():
    # a typo must never silently select nothing
    with pytest.raises(KeyError):
        registry.list_methods("averge")


def test_builtin_entries_present():
    assert {"average", "max"} <= set(registry.list_methods())
    assert "en" in registry.list_metrics()
    assert {"lytro", "synthetic", "train_ecssd"} <= set(registry.list_datasets())


def test_metadata_is_frozen():
    info = registry.get_method("average").info
    with pytest.raises(AttributeError):
        info.version = "2"  # type: ignore[misc]
    assert isinstance(registry.get_metric("en").info, MetricInfo)


def test_family_is_validated():
    with pytest.raises(ValueError, match="family"):
        MethodInfo(id="x", name="x", family="magic")


def test_registration_decorator_adds_entry(monkeypatch):
    reg = registry.Registry("method")
    monkeypatch.setattr(registry, "METHODS", reg)

    @registry.register_method(MethodInfo(id="tmp_method", name="tmp"))
    def fuse(images):
        return images[0]

    assert reg.get("tmp_method").fuse is fuse
