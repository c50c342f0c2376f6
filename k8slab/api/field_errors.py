"""Field errors, worded like Go's ``field.Error`` so a learner can search for them.

When the API server rejects an object with a 422 ``Invalid``, each problem is a
*cause*: the field, a reason such as ``FieldValueInvalid`` and a message such
as ``Invalid value: "Web": a lowercase RFC 1123 ...``. This module builds
those causes (as ``errors.field_cause`` dicts) in three parts:

1. **values printed the way Go prints them** (:func:`go_value`): strings quoted,
   maps as ``map[string]string{...}``, structs written out (:class:`GoLiteral`,
   :func:`go_label_selector`);
2. **one builder per reason**: :func:`invalid`, :func:`required`,
   :func:`not_supported`, :func:`duplicate`, :func:`not_found`,
   :func:`forbidden` and :func:`type_invalid`;
3. **reading a field of the expected type** (:func:`int_field`,
   :func:`dict_field`...), which records a ``FieldValueTypeInvalid`` cause
   when the field holds something else, so the rules can go on checking.

Example
-------
>>> invalid("spec.replicas", -1, "must be greater than or equal to 0")
{'reason': 'FieldValueInvalid', 'message': 'Invalid value: -1: must be greater than or equal to 0', 'field': 'spec.replicas'}
>>> causes = []
>>> int_field({"replicas": "3"}, "replicas", "spec.replicas", causes) is None
True
>>> causes[0]["reason"]
'FieldValueTypeInvalid'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from k8slab.api.errors import field_cause

__all__ = [
    "NONNEGATIVE",
    "GoLiteral",
    "check_nonnegative",
    "dict_field",
    "duplicate",
    "forbidden",
    "go_label_selector",
    "go_value",
    "int_field",
    "invalid",
    "json_type",
    "list_field",
    "not_found",
    "not_supported",
    "required",
    "str_field",
    "type_invalid",
    "typed_field",
]

# --------------------------------------------------------------------------
# Values, printed the way Go prints them
# --------------------------------------------------------------------------

_GO_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def _go_quote(s: str) -> str:
    # strconv.Quote: printable characters as they are, the rest escaped.
    out = ['"']
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _go_float(f: float) -> str:
    # Go's %v for a float64 is %g with the shortest digits: exponent form when
    # the exponent is below -4 or at least 6 (1e+06, 1.5e-05), plain otherwise.
    if f != f or f in (float("inf"), float("-inf")):
        return {"inf": "+Inf", "-inf": "-Inf"}.get(repr(f), "NaN")
    if f == 0:
        return "0"
    d = Decimal(repr(f)).normalize()
    sign, digits, exp = d.as_tuple()
    exponent = len(digits) + exp - 1
    mantissa = "".join(map(str, digits))
    if exponent < -4 or exponent >= 6:
        body = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
        text = f"{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    else:
        text = format(d, "f")
    return ("-" if sign else "") + text


class GoLiteral(str):
    """A value already written the way Go prints it (``v1.LabelSelector{...}``); shown as is."""


def go_value(value: Any) -> str:
    """How Kubernetes prints a bad value inside a field error.

    Strings are quoted (Go ``%q``), numbers and booleans plain (``%v``), a
    ``None`` is ``null``, a string map is ``map[string]string{"k":"v"}`` and a
    string list ``[]string{"a", "b"}`` (Go ``%#v``).

    Example
    -------
    >>> go_value("Web"), go_value(-1), go_value(True), go_value(None)
    ('"Web"', '-1', 'true', 'null')
    >>> go_value({"tier": "db", "app": "web"})
    'map[string]string{"app":"web", "tier":"db"}'
    """
    if value is None:
        return "null"
    if isinstance(value, GoLiteral):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, dict):
        if not value:
            return "map[string]string{}"
        items = ", ".join(
            f"{_go_quote(str(k))}:{_go_quote(str(v))}" for k, v in sorted(value.items())
        )
        return "map[string]string{" + items + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]string{}"
        return "[]string{" + ", ".join(_go_quote(str(v)) for v in value) + "}"
    return _go_quote(str(value))


def go_label_selector(selector: Mapping | None) -> GoLiteral:
    """A label selector printed as Go's ``%#v`` of ``v1.LabelSelector``, as field errors show it.

    Example
    -------
    >>> str(go_label_selector({"matchLabels": {"app": "web"}}))
    'v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}'
    """
    selector = selector if isinstance(selector, dict) else {}
    labels = selector.get("matchLabels")
    labels_text = go_value(labels) if isinstance(labels, dict) else "map[string]string(nil)"
    exprs = selector.get("matchExpressions")
    if isinstance(exprs, list):
        parts = []
        for e in exprs:
            e = e if isinstance(e, dict) else {}
            values = e.get("values")
            values_text = go_value(list(values)) if isinstance(values, list) else "[]string(nil)"
            parts.append(
                f"v1.LabelSelectorRequirement{{Key:{go_value(str(e.get('key', '')))}, "
                f"Operator:{go_value(str(e.get('operator', '')))}, Values:{values_text}}}"
            )
        exprs_text = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    else:
        exprs_text = "[]v1.LabelSelectorRequirement(nil)"
    return GoLiteral(
        f"v1.LabelSelector{{MatchLabels:{labels_text}, MatchExpressions:{exprs_text}}}"
    )


# --------------------------------------------------------------------------
# Causes, worded like Go's field.Error
# --------------------------------------------------------------------------


def invalid(field: str, value: Any, detail: str) -> dict:
    """A ``FieldValueInvalid`` cause: ``Invalid value: <value>: <detail>``.

    Example
    -------
    >>> invalid("spec.replicas", -1, "must be greater than or equal to 0")["message"]
    'Invalid value: -1: must be greater than or equal to 0'
    """
    msg = f"Invalid value: {go_value(value)}"
    return field_cause(field, f"{msg}: {detail}" if detail else msg, "FieldValueInvalid")


def required(field: str, detail: str = "") -> dict:
    """A ``FieldValueRequired`` cause: ``Required value[: detail]``.

    Example
    -------
    >>> required("spec.selector")
    {'reason': 'FieldValueRequired', 'message': 'Required value', 'field': 'spec.selector'}
    """
    msg = f"Required value: {detail}" if detail else "Required value"
    return field_cause(field, msg, "FieldValueRequired")


def not_supported(field: str, value: Any, supported: Iterable[str]) -> dict:
    """A ``FieldValueNotSupported`` cause listing the supported values in the given order.

    Example
    -------
    >>> not_supported("spec.type", "Foo", ["ClusterIP", "NodePort"])["message"]
    'Unsupported value: "Foo": supported values: "ClusterIP", "NodePort"'
    """
    listed = ", ".join(_go_quote(s) for s in supported)
    msg = f"Unsupported value: {go_value(value)}"
    if listed:
        msg += f": supported values: {listed}"
    return field_cause(field, msg, "FieldValueNotSupported")


def duplicate(field: str, value: Any) -> dict:
    """A ``FieldValueDuplicate`` cause: ``Duplicate value: "web"``.

    Example
    -------
    >>> duplicate("spec.containers[1].name", "web")["message"]
    'Duplicate value: "web"'
    """
    return field_cause(field, f"Duplicate value: {go_value(value)}", "FieldValueDuplicate")


def not_found(field: str, value: Any) -> dict:
    """A ``FieldValueNotFound`` cause: ``Not found: "data"``.

    Example
    -------
    >>> not_found("spec.containers[0].volumeMounts[0].name", "data")["message"]
    'Not found: "data"'
    """
    return field_cause(field, f"Not found: {go_value(value)}", "FieldValueNotFound")


def forbidden(field: str, detail: str) -> dict:
    """A ``FieldValueForbidden`` cause: ``Forbidden: <detail>``.

    Example
    -------
    >>> forbidden("spec.ports[0].nodePort", "may not be used when `type` is 'ClusterIP'")["message"]
    "Forbidden: may not be used when `type` is 'ClusterIP'"
    """
    return field_cause(
        field, f"Forbidden: {detail}" if detail else "Forbidden", "FieldValueForbidden"
    )


def json_type(value: Any) -> str:
    """The JSON Schema name of ``value``'s type, as type errors spell it.

    Example
    -------
    >>> json_type(3), json_type("3"), json_type(True), json_type({}), json_type(None)
    ('integer', 'string', 'boolean', 'object', 'null')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def type_invalid(field: str, value: Any, expected: str) -> dict:
    """A ``FieldValueTypeInvalid`` cause: ``field`` holds a ``value`` that is not of type ``expected``.

    Example
    -------
    >>> type_invalid("spec.replicas", "3", "integer")["message"]
    'Invalid value: "string": spec.replicas in body must be of type integer: "string"'
    """
    # The wording of the API server's schema check for custom resources.
    given = json_type(value)
    return field_cause(
        field,
        f'Invalid value: "{given}": {field} in body must be of type {expected}: "{given}"',
        "FieldValueTypeInvalid",
    )


# --------------------------------------------------------------------------
# Reading a field of the expected type
# --------------------------------------------------------------------------

#: The detail of a negative count or duration (``ValidateNonnegativeField``).
NONNEGATIVE = "must be greater than or equal to 0"


def typed_field(
    obj: Any, key: str, path: str, expected: type | tuple, causes: list, type_name: str
) -> Any:
    """``obj[key]`` when it has the expected type; otherwise ``None`` (and a cause if it is set).

    ``path`` is the field's full path, for the cause; ``type_name`` the JSON
    type the cause names. A ``bool`` is not taken for an ``int``.

    Example
    -------
    >>> causes = []
    >>> typed_field({"replicas": 3}, "replicas", "spec.replicas", int, causes, "integer")
    3
    >>> typed_field({"replicas": True}, "replicas", "spec.replicas", int, causes, "integer")
    >>> [c["reason"] for c in causes]
    ['FieldValueTypeInvalid']
    """
    if not isinstance(obj, dict):
        return None
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in (
        expected if isinstance(expected, tuple) else (expected,)
    ):
        causes.append(type_invalid(path, value, type_name))
        return None
    if not isinstance(value, expected):
        causes.append(type_invalid(path, value, type_name))
        return None
    return value


def int_field(obj, key, path, causes):
    """``obj[key]`` if it is an integer, else ``None`` (see :func:`typed_field`)."""
    return typed_field(obj, key, path, int, causes, "integer")


def str_field(obj, key, path, causes):
    """``obj[key]`` if it is a string, else ``None`` (see :func:`typed_field`)."""
    return typed_field(obj, key, path, str, causes, "string")


def dict_field(obj, key, path, causes):
    """``obj[key]`` if it is an object, else ``None`` (see :func:`typed_field`)."""
    return typed_field(obj, key, path, dict, causes, "object")


def list_field(obj, key, path, causes):
    """``obj[key]`` if it is an array, else ``None`` (see :func:`typed_field`)."""
    return typed_field(obj, key, path, list, causes, "array")


def check_nonnegative(obj, key, path, causes) -> None:
    """Add an ``Invalid value`` cause when the integer ``obj[key]`` is below 0.

    Example
    -------
    >>> causes = []
    >>> check_nonnegative({"replicas": -1}, "replicas", "spec.replicas", causes)
    >>> causes[0]["message"]
    'Invalid value: -1: must be greater than or equal to 0'
    """
    value = int_field(obj, key, path, causes)
    if value is not None and value < 0:
        causes.append(invalid(path, value, NONNEGATIVE))
