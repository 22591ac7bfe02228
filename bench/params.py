"""Validation of method parameters (``fuse --param KEY=VALUE``, run specs) against their metadata.

A parameter is accepted when the method declares it: in ``MethodInfo.params`` (its default), in
``MethodInfo.param_specs`` (type and range) or as a keyword of the registered ``fuse`` function. The
value is checked against the declared :class:`bench.types.ParamSpec`, else against the type of the
default (an ``int`` default takes integers, a ``bool`` default takes true/false, ...). Every problem
is a one-line :class:`bench.errors.UserError` naming the method, the parameter and what is allowed.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping

from bench.errors import UserError
from bench.types import MethodInfo, ParamSpec

_RESERVED = {"device"}  # passed by the runner / fuse command, never by the user
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def infer_spec(name: str, default: object) -> ParamSpec:
    """A spec from a default value's type (``None`` and other types: any string)."""
    if isinstance(default, bool):
        return ParamSpec(name, "bool")
    if isinstance(default, int):
        return ParamSpec(name, "int")
    if isinstance(default, float):
        return ParamSpec(name, "float")
    if isinstance(default, (tuple, list)):
        return ParamSpec(name, "tuple")
    return ParamSpec(name, "str")


def param_specs(info: MethodInfo, fuse_fn=None) -> dict[str, ParamSpec]:
    """Every parameter a method accepts, with its spec (declared, else inferred)."""
    specs = {k: infer_spec(k, v) for k, v in info.params}
    if fuse_fn is not None:
        try:
            sig = inspect.signature(fuse_fn)
        except (TypeError, ValueError):
            sig = None
        if sig is not None:
            for i, (k, p) in enumerate(sig.parameters.items()):
                if i == 0 or k in specs or k in _RESERVED or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    continue
                specs[k] = infer_spec(k, None if p.default is p.empty else p.default)
    for s in info.param_specs:
        specs[s.name] = s
    return specs


def _coerce(method_id: str, spec: ParamSpec, value: object) -> object:
    where = f"method {method_id!r}: parameter {spec.name}={value!r}"
    t = spec.type
    if t == "bool":
        if isinstance(value, bool):
            out = value
        elif isinstance(value, int) and value in (0, 1):
            out = bool(value)
        elif isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            out = value.lower() in _TRUE
        else:
            raise UserError(f"{where}: expected true or false")
    elif t == "int":
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        ):
            raise UserError(f"{where}: expected an integer")
        out = int(value)
    elif t == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{where}: expected a number")
        out = float(value)
        if not math.isfinite(out):
            raise UserError(f"{where}: expected a finite number")
    elif t == "tuple":  # e.g. nsct levels=(2, 3, 3, 4); `--param levels=2,3,3,4` or a literal
        if isinstance(value, str):
            import ast

            try:
                value = ast.literal_eval(value if "," in value or value[:1] in "([" else f"({value},)")
            except (ValueError, SyntaxError):
                raise UserError(f"{where}: expected a comma-separated list of numbers") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = (value,)
        if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            raise UserError(f"{where}: expected a comma-separated list of numbers")
        out = tuple(value)
    elif t in ("str", "path"):
        if value is None:
            return None
        out = str(value)
        if t == "path" and not out:
            raise UserError(f"{where}: expected a file path")
    else:  # pragma: no cover - a metadata mistake
        raise ValueError(f"ParamSpec {spec.name}: unknown type {t!r}")
    if spec.choices and out not in spec.choices:
        raise UserError(f"{where}: expected one of {', '.join(map(str, spec.choices))}")
    if spec.min is not None and out < spec.min or spec.max is not None and out > spec.max:
        lo = "-inf" if spec.min is None else f"{spec.min:g}"
        hi = "inf" if spec.max is None else f"{spec.max:g}"
        raise UserError(f"{where}: out of range [{lo}, {hi}]")
    return out


def validate_params(info: MethodInfo, params: Mapping, fuse_fn=None) -> dict:
    """Check ``params`` against the method's declared parameters; return them coerced to their types."""
    specs = param_specs(info, fuse_fn)
    out = {}
    for k, v in params.items():
        if k not in specs:
            known = ", ".join(sorted(specs)) or "none"
            raise UserError(f"method {info.id!r} has no parameter {k!r} (parameters: {known})")
        out[k] = _coerce(info.id, specs[k], v)
    return out


def check_jobs(jobs: int, option: str = "--jobs") -> int:
    """``--jobs``: a positive count, or -1 for all cores; 0 and other negatives are user errors."""
    if jobs == -1 or jobs >= 1:
        return jobs
    raise UserError(f"{option} {jobs}: expected a positive number of processes, or -1 for all cores")
