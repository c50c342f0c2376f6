"""Structural schemas of custom resources: pruning, defaulting and validation.

A CustomResourceDefinition describes its objects with an ``openAPIV3Schema``
(:func:`k8slab.apiserver.crd.schema_of` finds the one of a version). The API
server applies it to every custom object it decodes, as ``apiextensions-apiserver``
does:

* **pruning** (:func:`prune`): fields the schema does not specify are dropped
  silently, unless ``x-kubernetes-preserve-unknown-fields: true`` keeps them;
* **defaulting** (:func:`apply_schema_defaults`): ``default:`` values fill in
  missing fields;
* **validation** (:func:`schema_causes`): the schema's rules, reported with the
  messages of ``kube-openapi`` (``spec.replicas in body must be of type integer:
  "string"``) as the causes of a 422.

k8slab simplifies: no CEL rules (``x-kubernetes-validations``) and no ``format``
checks; the schema is checked with ``jsonschema`` (Draft 4, the dialect OpenAPI
v3.0 builds on) after translating the structural subset.

Example
-------
>>> schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
...     "replicas": {"type": "integer", "default": 1}}}}}
>>> obj = {"apiVersion": "example.com/v1", "kind": "Website", "metadata": {"name": "x"},
...        "spec": {"colour": "blue"}}
>>> prune(obj, schema), apply_schema_defaults(obj, schema)["spec"]
([('spec', 'colour')], {'replicas': 1})
>>> [c["message"] for c in schema_causes({"spec": {"replicas": "3"}}, schema)]
['Invalid value: "string": spec.replicas in body must be of type integer: "string"']
"""

from __future__ import annotations

import functools
import json
from typing import Any

from k8slab.api import errors
from k8slab.api.field_errors import go_value, invalid, not_supported, required, type_invalid
from k8slab.api.objects import clone

__all__ = ["apply_schema_defaults", "prune", "schema_at", "schema_causes"]

_OBJECT_META_FIELDS = ("apiVersion", "kind", "metadata")


def _prune(value: Any, s: dict, path: tuple, root: bool, pruned: list) -> None:
    if isinstance(value, dict):
        props = s.get("properties") if isinstance(s.get("properties"), dict) else None
        addl = s.get("additionalProperties")
        keep_unknown = s.get("x-kubernetes-preserve-unknown-fields") is True or addl is True
        embedded = root or s.get("x-kubernetes-embedded-resource") is True
        for key in list(value):
            if embedded and key in _OBJECT_META_FIELDS:
                continue  # apiVersion, kind and metadata are the server's, never pruned
            sub = props.get(key) if props else None
            if not isinstance(sub, dict) and isinstance(addl, dict):
                sub = addl
            if isinstance(sub, dict):
                _prune(value[key], sub, path + (key,), False, pruned)
            elif not keep_unknown:
                del value[key]
                pruned.append(path + (key,))
    elif isinstance(value, list) and isinstance(s.get("items"), dict):
        for i, item in enumerate(value):
            _prune(item, s["items"], path + (i,), False, pruned)


def prune(obj: Any, schema: dict, path: tuple = (), *, root: bool = True) -> list[tuple]:
    """Drop, in place, every field the structural ``schema`` does not specify; returns their paths.

    Kept: ``apiVersion``, ``kind`` and ``metadata`` at the root (and in embedded
    resources), anything under ``x-kubernetes-preserve-unknown-fields: true``, the
    values of ``additionalProperties`` maps. ``obj`` may be a part of an object
    (``root=False``) found at ``path`` (the start of the paths returned).

    Example
    -------
    >>> obj = {"kind": "CronTab", "spec": {"image": "a", "someRandomField": 42}}
    >>> prune(obj, {"type": "object", "properties": {"spec": {"type": "object",
    ...     "properties": {"image": {"type": "string"}}}}}), obj
    ([('spec', 'someRandomField')], {'kind': 'CronTab', 'spec': {'image': 'a'}})
    """
    pruned: list[tuple] = []
    _prune(obj, schema, path, root, pruned)
    return pruned


def _default(value: Any, s: dict, root: bool) -> None:
    if isinstance(value, dict):
        props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
        for key, sub in props.items():
            if not isinstance(sub, dict) or (root and key == "metadata"):
                continue
            if key in value and value[key] is None and not sub.get("nullable"):
                # a null where null is not allowed counts as unset (pruned, or replaced by the default)
                if "default" in sub:
                    value[key] = clone(sub["default"])
                else:
                    del value[key]
            elif key not in value and "default" in sub:
                value[key] = clone(sub["default"])
        addl = s.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key)
            if not isinstance(sub, dict):
                sub = addl if isinstance(addl, dict) else None
            if sub is not None and not (root and key in _OBJECT_META_FIELDS):
                _default(item, sub, False)
    elif isinstance(value, list) and isinstance(s.get("items"), dict):
        for item in value:
            _default(item, s["items"], False)


def apply_schema_defaults(obj: Any, schema: dict, *, root: bool = True) -> Any:
    """Fill in, in place, the schema's ``default:`` values of missing fields; returns ``obj``.

    A default applies only where the enclosing object exists (a default inside
    ``spec`` needs a ``spec``), unless that object is itself defaulted. ``obj`` may
    be a part of an object (``root=False``).

    Example
    -------
    >>> schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
    ...     "image": {"type": "string", "default": "my-awesome-cron-image"}}}}}
    >>> apply_schema_defaults({"spec": {}}, schema), apply_schema_defaults({}, schema)
    ({'spec': {'image': 'my-awesome-cron-image'}}, {})
    """
    _default(obj, schema, root)
    return obj


_PASSED_ON = ("enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
              "pattern", "minItems", "maxItems", "uniqueItems", "multipleOf", "minProperties", "maxProperties",
              "required")


def _translate(s: Any, root: bool = False) -> Any:
    """A structural schema as plain JSON Schema (Draft 4): Kubernetes' extensions spelt out."""
    if not isinstance(s, dict):
        return s
    out: dict = {}
    types = ["integer", "string"] if s.get("x-kubernetes-int-or-string") else (
        [s["type"]] if isinstance(s.get("type"), str) and s["type"] else [])
    if types:
        if s.get("nullable"):
            types.append("null")
        out["type"] = types if len(types) > 1 else types[0]
    for key in _PASSED_ON:
        if key in s:
            out[key] = s[key]
    if isinstance(s.get("properties"), dict):
        # metadata at the root is ObjectMeta: the API server checks it itself
        out["properties"] = {k: _translate(v) for k, v in s["properties"].items() if not (root and k == "metadata")}
    if isinstance(s.get("items"), dict):
        out["items"] = _translate(s["items"])
    if isinstance(s.get("additionalProperties"), dict):
        out["additionalProperties"] = _translate(s["additionalProperties"])
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(s.get(key), list):
            out[key] = [_translate(x) for x in s[key]]
    if isinstance(s.get("not"), dict):
        out["not"] = _translate(s["not"])
    return out


@functools.lru_cache(maxsize=256)
def _validator_for(schema_json: str):
    from k8slab.api.schema import _import_jsonschema  # the light import of jsonschema

    return _import_jsonschema().Draft4Validator(_translate(json.loads(schema_json), root=True))


def _validator(schema: dict):
    # keyed by the schema's text: two clusters (or two CRD versions) with the same schema share one
    return _validator_for(json.dumps(schema, sort_keys=True))


def _body_path(path: tuple) -> str:
    # kube-openapi names fields with dots, array items by their index: spec.ports.0.name
    return ".".join(str(p) for p in path)


def _num(value: Any) -> str:
    return go_value(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _cause_of(err) -> list[dict]:
    """One jsonschema error as the API server's field errors (``kubeOpenAPIResultToFieldErrors``)."""
    path = _body_path(tuple(err.absolute_path))
    value, v, limit = err.instance, err.validator, err.validator_value
    if v == "type":
        expected = ",".join(t for t in ([limit] if isinstance(limit, str) else limit) if t != "null")
        return [type_invalid(path, value, expected)]
    if v == "required":
        present = value if isinstance(value, dict) else {}
        return [required(f"{path}.{k}" if path else k) for k in limit if k not in present]
    if v == "enum":
        return [not_supported(path, value, [x if isinstance(x, str) else json.dumps(x) for x in limit])]
    if v == "maxLength":
        return [errors.field_cause(path, f"Too long: may not be longer than {limit}", "FieldValueTooLong")]
    if v in ("maxItems", "maxProperties"):
        return [errors.field_cause(path, f"Too many: {len(value)}: must have at most {limit} items",
                                   "FieldValueTooMany")]
    schema = err.schema
    detail = {
        "minimum": lambda: f"should be greater than{'' if schema.get('exclusiveMinimum') else ' or equal to'} "
                           f"{_num(limit)}",
        "maximum": lambda: f"should be less than{'' if schema.get('exclusiveMaximum') else ' or equal to'} "
                           f"{_num(limit)}",
        "minLength": lambda: f"should be at least {limit} chars long",
        "pattern": lambda: f"should match '{limit}'",
        "minItems": lambda: f"should have at least {limit} items",
        "multipleOf": lambda: f"should be a multiple of {_num(limit)}",
        "minProperties": lambda: f"should have at least {limit} properties",
        "uniqueItems": lambda: "shouldn't contain duplicates",
    }.get(v)
    if v in ("minItems", "minProperties"):
        value = len(value)
    if detail is not None:
        return [invalid(path, value, f"{path} in body {detail()}")]
    junctor = {"anyOf": "must validate at least one schema (anyOf)",
               "oneOf": "must validate one and only one schema (oneOf)",
               "not": "must not validate the schema (not)"}.get(v, err.message)
    return [invalid(path, value, f"{path} {junctor}")]


def schema_causes(obj: dict, schema: dict) -> list[dict]:
    """What the custom resource's schema says of ``obj``, as the 422 causes of a real API server.

    Example
    -------
    >>> schema = {"type": "object", "properties": {"spec": {"type": "object", "required": ["image"],
    ...     "properties": {"image": {"type": "string"}, "replicas": {"type": "integer", "minimum": 1}}}}}
    >>> [(c["field"], c["message"]) for c in schema_causes({"spec": {"replicas": 0}}, schema)]
    [('spec.image', 'Required value'), ('spec.replicas', 'Invalid value: 0: spec.replicas in body should be greater than or equal to 1')]
    """
    causes: list[dict] = []
    seen: set[tuple] = set()
    for err in _validator(schema).iter_errors(obj):
        for cause in _cause_of(err):
            key = (cause["field"], cause["message"])
            if key not in seen:
                seen.add(key)
                causes.append(cause)
    return causes


def schema_at(schema: dict, path: tuple) -> dict | None:
    """The part of ``schema`` that describes the field at ``path`` (``None`` if it says nothing)."""
    s: Any = schema
    for part in path:
        if not isinstance(s, dict):
            return None
        if isinstance(part, int):
            s = s.get("items")
        else:
            props = s.get("properties") or {}
            s = props.get(part) if part in props else s.get("additionalProperties")
    return s if isinstance(s, dict) else None
