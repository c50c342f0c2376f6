"""Does an object fit the real Kubernetes OpenAPI schema of its kind?

``kubectl apply`` checks every manifest against the schema the API server
publishes, strictly by default (``--validate=strict``): a field the schema does
not know, such as ``spec.replcas``, is an error and not silently dropped, and a
string where an integer belongs is a wrong type. k8slab uses the schemas
bundled in the ``kubernetes-validate`` package (the ``-local-strict`` ones,
where every object forbids unknown properties) and checks them with
``jsonschema``; each kind's validator is built once and kept.

:func:`schema_errors` lists every problem of an object;
:func:`schema_problem` picks the one ``kubectl`` would report first, with its
file and line. :func:`suggest` supplies the "did you mean" for misspelt
fields and kinds.

Example
-------
>>> schema_errors({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
...                "spec": {"replcas": 3, "selector": {}, "template": {}}})
[(('spec', 'replcas'), 'unknown field', 'replicas')]
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from k8slab.api.errors import ManifestError
from k8slab.api.field_errors import json_type
from k8slab.api.manifest import Manifest, join_field_path

__all__ = ["UnknownFieldError", "schema_errors", "schema_problem", "suggest"]


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` was most likely meant to be, or ``None``.

    A difference of case alone always counts; otherwise the candidate must be
    close in spelling (``difflib``).

    Example
    -------
    >>> suggest("replcas", ["replicas", "selector", "template"])
    'replicas'
    >>> suggest("deployment", ["Deployment", "Pod"]), suggest("xyz", ["Pod"])
    ('Deployment', None)
    """
    candidates = [c for c in candidates if c != word]
    by_lower = {c.lower(): c for c in candidates}
    if word.lower() in by_lower:
        return by_lower[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[close[0]] if close else None


class UnknownFieldError(ManifestError):
    """A :class:`ManifestError` whose message already names the field (``unknown field "spec.x"``)."""

    def render(self) -> str:
        where = self.source if self.line is None else f"{self.source}, line {self.line}"
        return f"error: {where}: {self.detail}"


@functools.lru_cache(maxsize=1)
def _schema_store():
    """(directory of the strict schemas, referencing registry holding _definitions.json)."""
    # Imported here: only manifest validation needs them, and they take a while.
    import importlib.resources

    import kubernetes_validate
    from referencing import Registry, Resource

    version = kubernetes_validate.latest_version()
    folder = (
        importlib.resources.files("kubernetes_validate")
        / "kubernetes-json-schema"
        / f"v{version}-local-strict"
    )
    definitions = json.loads((folder / "_definitions.json").read_text(encoding="utf-8"))
    return folder, Resource.from_contents(definitions) @ Registry()


def _schema_file_name(api_version: str, kind: str) -> str | None:
    group = api_version.rpartition("/")[0]
    if "." in group and not group.endswith(".k8s.io"):
        return None  # a custom resource group: no bundled schema
    # The package's naming: rbac.authorization.k8s.io/v1 -> rbac-v1
    version_part = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{version_part}.json"


def _import_jsonschema():
    # jsonschema loads its optional format checkers on import; when the Jupyter stack has put
    # rfc3987_syntax beside it, that one compiles grammars for ~2 s. Kubernetes' schemas use no
    # IRI formats, so keep it out of this import (and only this one).
    import sys

    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        import jsonschema

        return jsonschema
    sys.modules["rfc3987_syntax"] = None  # makes its import fail, which jsonschema tolerates
    try:
        import jsonschema
    finally:
        del sys.modules["rfc3987_syntax"]
    return jsonschema


@functools.cache
def _validator(api_version: str, kind: str):
    """A jsonschema validator for one kind, built once and kept (None without a schema)."""
    jsonschema = _import_jsonschema()

    name = _schema_file_name(api_version, kind)
    if name is None:
        return None
    folder, registry = _schema_store()
    path = folder / name
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _without_nulls(value: Any) -> Any:
    # Kubernetes reads `field: null` as "not set" (kubectl create --dry-run -o yaml
    # even writes `creationTimestamp: null`); the schema would call it a wrong type.
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _expected_types(schema: Any) -> list[str]:
    types = schema.get("type", []) if isinstance(schema, dict) else []
    types = [types] if isinstance(types, str) else list(types)
    return [t for t in types if t != "null"]


def schema_errors(obj: Mapping) -> list[tuple[tuple, str, str | None]]:
    """Problems of ``obj`` against the bundled strict OpenAPI schema of its kind.

    Returns ``(path, message, suggestion)`` tuples: ``path`` is the field as a
    tuple, ``message`` one of ``unknown field``, ``Invalid type. Expected: integer,
    given: string`` or ``Required value``, ``suggestion`` a did-you-mean for
    unknown fields. Kinds without a bundled schema (custom resources) give ``[]``.

    Example
    -------
    >>> schema_errors({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
    ...                "spec": {"containers": [{"name": "a", "image": "b", "prots": []}]}})
    [(('spec', 'containers', 0, 'prots'), 'unknown field', 'ports')]
    """
    validator = _validator(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    if validator is None:
        return []
    problems = []
    for err in validator.iter_errors(_without_nulls(dict(obj))):
        path = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = list((err.schema.get("properties") or {}).keys())
            for key in err.instance:
                if key not in allowed:
                    problems.append((path + (key,), "unknown field", suggest(key, allowed)))
        elif err.validator == "type":
            expected = " or ".join(_expected_types(err.schema)) or "null"
            problems.append(
                (
                    path,
                    f"Invalid type. Expected: {expected}, given: {json_type(err.instance)}",
                    None,
                )
            )
        elif err.validator in ("oneOf", "anyOf"):
            expected = []
            for sub in err.validator_value:
                expected += [t for t in _expected_types(sub) if t not in expected]
            given = json_type(err.instance)
            problems.append(
                (path, f"Invalid type. Expected: {' or '.join(expected)}, given: {given}", None)
            )
        elif err.validator == "required" and isinstance(err.instance, dict):
            for key in err.validator_value:
                if key not in err.instance:
                    problems.append((path + (key,), "Required value", None))
        elif err.validator == "enum":
            continue  # only apiVersion and kind carry enums, and they were checked first
        else:
            problems.append((path, err.message, None))
    return problems


def schema_problem(manifest: Manifest) -> ManifestError | None:
    """The schema problem of ``manifest`` that kubectl reports first, or ``None``.

    Unknown fields and wrong types come before missing fields, and among
    those the first by line. An unknown field gives an
    :class:`UnknownFieldError` with a did-you-mean.

    Example
    -------
    >>> from k8slab.api.manifest import load_manifests
    >>> [m] = load_manifests('''
    ... apiVersion: v1
    ... kind: Service
    ... metadata:
    ...   name: web
    ... spec:
    ...   tpye: NodePort
    ... ''', filename="svc.yaml")
    >>> print(schema_problem(m))
    error: svc.yaml, line 7: unknown field "spec.tpye" — did you mean "type"?
    """
    problems = schema_errors(manifest.obj)
    if not problems:
        return None

    def order(problem):
        # The API server rejects unknown fields and wrong types while decoding,
        # before it looks for missing fields; within each kind, first by line.
        line = manifest.line_of(problem[0])
        return (
            problem[1] == "Required value",
            line if line is not None else 1 << 30,
            -len(problem[0]),
            join_field_path(problem[0]),
            problem[1],
        )

    path, message, hint = min(problems, key=order)
    field = join_field_path(path)
    line = manifest.line_of(path)
    if message == "unknown field":
        text = f'unknown field "{field}"' + (f' — did you mean "{hint}"?' if hint else "")
        return UnknownFieldError(text, manifest.source, line, field)
    return ManifestError(message, manifest.source, line, field)
