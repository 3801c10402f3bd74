"""Typed ``--param name.key=value`` parsing, checked against a plugin's constructor.

The expected type of a parameter comes from its annotation when it is a plain type, else from
its default value.  A default of ``None`` accepts a Python/JSON literal (``1e-4``, ``[60, 30]``,
``true``, ``null``) or, failing that, the raw string.
"""

from __future__ import annotations

import ast
import difflib
import inspect
from typing import Any

from .errors import ParameterError

_TRUE = {"true", "1", "yes", "on"}
#: How a message names the type a parameter expects (a user reads these, not Python).
_KIND_NAMES: dict[Any, str] = {
    int: "integer", float: "number", bool: "boolean (true or false)", str: "text",
    list: "list (e.g. [60, 30])", tuple: "list (e.g. [60, 30])", dict: "mapping (e.g. {'a': 1})",
}
_FALSE = {"false", "0", "no", "off"}


def clip(text: str, limit: int = 80) -> str:
    """``repr`` of ``text``, cut to ``limit`` characters with the full length said: an error
    message names a 100,000-character value without printing it."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[: limit - 20]!r}… ({len(text):,} characters)"


def split_param(spec: str) -> tuple[str, str, str]:
    """Split ``'iforest.n_estimators=200'`` into ``('iforest', 'n_estimators', '200')``."""
    target, sep, value = spec.partition("=")
    name, dot, key = target.strip().partition(".")
    if not sep or not dot or not name or not key:
        raise ParameterError(
            f"--param {clip(spec)} is not of the form DETECTOR.KEY=VALUE or "
            "protocol.OPTION=VALUE (e.g. --param mydetector.n_estimators=200)."
        )
    return name, key.strip(), value.strip()


def parse_literal(text: str) -> Any:
    """A Python/JSON literal, or the text itself when it is not one."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _expected_type(param: inspect.Parameter) -> type | None:
    ann = param.annotation
    if isinstance(ann, type) and ann is not inspect.Parameter.empty:
        return ann
    default = param.default
    if default is inspect.Parameter.empty or default is None:
        return None
    return type(default)


def _allows_none(param: inspect.Parameter) -> bool:
    """Whether None is a valid value: a None default or an Optional annotation."""
    ann = param.annotation
    if param.default is None:
        return True
    if isinstance(ann, str):  # postponed annotations: "int | None", "Optional[int]"
        return "None" in ann or "Optional" in ann
    return type(None) in getattr(ann, "__args__", ())


def coerce(owner: str, key: str, text: str, param: inspect.Parameter) -> Any:
    """Turn the command-line text of one parameter into the type its constructor expects."""
    expected = _expected_type(param)
    fail = ParameterError(
        f"parameter {owner}.{key}: value {clip(text)} is not a valid "
        f"{_KIND_NAMES.get(expected, getattr(expected, '__name__', 'value'))}"
        + (f" (default {param.default!r})" if param.default is not inspect.Parameter.empty else "")
        + "."
    )
    lowered = text.lower()
    if expected is None:
        return parse_literal(text)
    if lowered in ("none", "null") and _allows_none(param):
        return None
    if expected is bool:
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise fail
    if expected is int:
        try:
            return int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise fail from None
            if as_float.is_integer():
                return int(as_float)
            raise fail from None
    if expected is float:
        try:
            return float(text)
        except ValueError:
            raise fail from None
    if expected is str:
        if isinstance(param.default, (int, float)) and not isinstance(param.default, bool):
            return parse_literal(text)
        return text
    if expected in (list, tuple):
        value = parse_literal(text if text.startswith(("[", "(")) else f"[{text}]")
        if not isinstance(value, (list, tuple)):
            raise fail
        return expected(value)
    if expected is dict:
        value = parse_literal(text)
        if not isinstance(value, dict):
            raise fail
        return value
    # any other default type: accept a literal of that type
    value = parse_literal(text)
    if not isinstance(value, expected):
        raise fail
    return value


def constructor_params(cls: type) -> dict[str, inspect.Parameter]:
    """The named parameters of ``cls.__init__`` (no ``self``, ``*args`` or ``**kwargs``), in order.

    The one place that reads a plugin's constructor: ``get_params``, ``--param`` typing, sweep
    grids and the runner's seed/contamination/device filling all go through it.
    """
    return {
        p.name: p
        for p in inspect.signature(cls.__init__).parameters.values()  # type: ignore[misc]
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def build_params(owner: str, cls: type, raw: dict[str, str]) -> dict[str, Any]:
    """Validate and type the ``raw`` (key -> text) parameters of plugin class ``cls``."""
    params = constructor_params(cls)
    out: dict[str, Any] = {}
    for key, text in raw.items():
        if key not in params:
            close = difflib.get_close_matches(key, params, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            valid = ", ".join(sorted(params)) or "(none)"
            raise ParameterError(
                f"unknown parameter {owner}.{clip(key)[1:-1] if len(key) <= 80 else clip(key)}.{hint} "
                f"Valid parameters of {owner}: {valid}."
            )
        out[key] = coerce(owner, key, text, params[key])
    return out


def parse_param_specs(specs: list[str]) -> dict[str, dict[str, str]]:
    """Group ``--param`` specs by plugin name: ``{'iforest': {'n_estimators': '200'}}``."""
    grouped: dict[str, dict[str, str]] = {}
    for spec in specs:
        name, key, value = split_param(spec)
        grouped.setdefault(name, {})[key] = value
    return grouped


def parse_param_axes(specs: list[str]) -> dict[str, dict[str, list[str]]]:
    """Group ``--param`` specs by owner and key, keeping every value in order: a key given
    more than once is a sweep axis (``{'protocol': {'labeled_anomalies': ['0', '0.1']}}``)."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for spec in specs:
        name, key, value = split_param(spec)
        values = grouped.setdefault(name, {}).setdefault(key, [])
        if value not in values:
            values.append(value)
    return grouped
