"""CustomResourceDefinitions: what the API server does with a CRD, and with the objects of its kind.

A CRD (``apiextensions.k8s.io/v1``) teaches the API server a new kind. This
module is the API server's side of it, following ``apiextensions-apiserver``:

* **the CRD itself** — its defaults (``singular``, ``listKind``, the ``None``
  conversion), its validation with the real messages (the name must be
  ``<plural>.<group>``, one storage version, a structural schema...), the
  :class:`~k8slab.api.kinds.Kind` it serves once *Established*
  (:func:`kind_of`), its printer columns, and the start of its deletion (the
  ``customresourcecleanup.apiextensions.k8s.io`` finalizer);
* **the custom objects** — decoding as the real handler does (unknown fields
  are *pruned* silently, ``default:`` values filled in, ``status`` dropped on
  create when the status subresource is on), then validation against the
  version's ``openAPIV3Schema`` with the messages of ``kube-openapi``
  (``spec.replicas in body must be of type integer: "string"``);
* **the manifest check** ``kubectl apply`` makes before sending a custom
  object (:func:`custom_resource_problem`): file, line and field, like the
  built-in kinds.

The controllers that set ``NamesAccepted`` / ``Established``, serve the new kind
and delete the objects of a deleted CRD are in
:mod:`k8slab.controlplane.apiextensions`.

Pruning, defaulting and validating against a schema are in
:mod:`k8slab.apiserver.crd_schema` (its names are importable from here too).

k8slab simplifies: one served version per CRD (the preferred one), no
conversion webhooks, no CEL rules (``x-kubernetes-validations``) and no
``format`` checks; schemas are checked with ``jsonschema`` (Draft 4, the
dialect OpenAPI v3.0 builds on) after translating the structural subset.

Example
-------
>>> crd = default_crd({"spec": {"group": "stable.example.com", "scope": "Namespaced",
...     "names": {"plural": "crontabs", "kind": "CronTab"},
...     "versions": [{"name": "v1", "served": True, "storage": True}]}})
>>> kind_of(crd).group_resource, kind_of(crd).list_kind, [c["name"] for c in printer_columns(crd)]
('crontabs.stable.example.com', 'CronTabList', ['Age'])
"""

from __future__ import annotations

import re
from typing import Any

from k8slab.api import errors
from k8slab.api.errors import ManifestError
from k8slab.api.field_errors import (
    GoLiteral,
    forbidden,
    go_value,
    invalid,
    not_supported,
    required,
)
from k8slab.api.kinds import Kind, default_registry
from k8slab.api.manifest import Manifest, join_field_path
from k8slab.api.names import dns1035_label_errors, dns1123_subdomain_errors
from k8slab.api.objects import clone, condition
from k8slab.api.schema import UnknownFieldError, suggest
from k8slab.apiserver.admission import AdmissionPlugin
from k8slab.apiserver.crd_schema import apply_schema_defaults, prune, schema_at, schema_causes

__all__ = [
    "CLEANUP_FINALIZER",
    "CustomResourceDecoding",
    "CustomResourceValidation",
    "GROUP",
    "apply_schema_defaults",
    "begin_deletion",
    "crd_causes",
    "custom_resource_problem",
    "decode_custom_resource",
    "default_crd",
    "install",
    "is_condition_true",
    "is_custom",
    "kind_of",
    "manifest_schema_errors",
    "prepare_crd_for_create",
    "printer_columns",
    "prune",
    "schema_causes",
    "schema_of",
    "served_version",
    "set_condition",
    "status_update_causes",
    "stored_crd",
    "validate_custom_resource",
]

GROUP = "apiextensions.k8s.io"
#: Added when a CRD is deleted; the CRD finalizer removes it once every object of the kind is gone.
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"

_CRD_KIND = "CustomResourceDefinition"
# Groups of the built-in kinds: objects of any other group are custom resources.
_BUILTIN_GROUPS = frozenset(k.group for k in default_registry().all())
_PRINTER_COLUMN_TYPES = ("boolean", "date", "integer", "number", "string")  # sorted, as Go lists them
_SCOPES = ("Cluster", "Namespaced")
DEFAULT_COLUMNS = ({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},)


def is_custom(kind: Kind) -> bool:
    """Whether ``kind`` is served from a CRD rather than built in."""
    return kind.group not in _BUILTIN_GROUPS


# ==========================================================================
# The CRD itself
# ==========================================================================


def default_crd(crd: dict) -> dict:
    """The v1 defaults (``SetDefaults_CustomResourceDefinition``), in place; returns ``crd``.

    Example
    -------
    >>> names = default_crd({"spec": {"names": {"kind": "CronTab", "plural": "crontabs"}}})["spec"]
    >>> names["names"]["singular"], names["names"]["listKind"], names["conversion"]
    ('crontab', 'CronTabList', {'strategy': 'None'})
    """
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return crd
    names = spec.get("names")
    if isinstance(names, dict) and isinstance(names.get("kind"), str) and names["kind"]:
        if not names.get("singular"):
            names["singular"] = names["kind"].lower()
        if not names.get("listKind"):
            names["listKind"] = names["kind"] + "List"
    if not spec.get("conversion"):
        spec["conversion"] = {"strategy": "None"}
    return crd


def _versions(crd: dict) -> list[dict]:
    versions = (crd.get("spec") or {}).get("versions")
    return [v for v in versions if isinstance(v, dict)] if isinstance(versions, list) else []


_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def _version_priority(name: str) -> tuple:
    # Discovery's order: GA before beta before alpha, higher numbers first, then other names by name.
    m = _KUBE_VERSION.match(name)
    if m is None:
        return (3, 0, 0, name)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), name)


def served_version(crd: dict) -> dict | None:
    """The version k8slab serves: the preferred one among ``served: true`` (discovery's order).

    Example
    -------
    >>> served_version({"spec": {"versions": [{"name": "v1beta1", "served": True},
    ...                                       {"name": "v1", "served": True}]}})["name"]
    'v1'
    """
    served = [v for v in _versions(crd) if v.get("served") is True and isinstance(v.get("name"), str)]
    return min(served, key=lambda v: _version_priority(v["name"])) if served else None


def is_condition_true(crd: dict, ctype: str) -> bool:
    c = condition(crd, ctype)
    return bool(c and c.get("status") == "True")


def set_condition(crd: dict, ctype: str, status: str, reason: str, message: str, now: str) -> None:
    """``SetCRDCondition``, in place: ``lastTransitionTime`` moves only when the status changes."""
    conditions = crd.setdefault("status", {}).setdefault("conditions", [])
    for c in conditions:
        if c.get("type") == ctype:
            if c.get("status") != status or not c.get("lastTransitionTime"):
                c["lastTransitionTime"] = now
            c.update(status=status, reason=reason, message=message)
            return
    conditions.append({"type": ctype, "status": status, "lastTransitionTime": now, "reason": reason,
                       "message": message})


def kind_of(crd: dict) -> Kind | None:
    """The kind a CRD serves, named by its accepted names (``None`` when nothing is served).

    Example
    -------
    >>> k = kind_of({"spec": {"group": "stable.example.com", "scope": "Namespaced",
    ...     "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
    ...     "versions": [{"name": "v1", "served": True, "storage": True}]}})
    >>> k.api_version, k.group_resource, k.short_names, k.namespaced
    ('stable.example.com/v1', 'crontabs.stable.example.com', ('ct',), True)
    """
    spec = crd.get("spec") or {}
    version = served_version(crd)
    accepted = (crd.get("status") or {}).get("acceptedNames") or {}
    names = accepted if accepted.get("plural") and accepted.get("kind") else (spec.get("names") or {})
    if version is None or not names.get("plural") or not names.get("kind") or not spec.get("group"):
        return None
    sub = version.get("subresources") or {}
    return Kind(
        names["kind"],
        names["plural"],
        group=spec["group"],
        version=version["name"],
        namespaced=spec.get("scope") != "Cluster",
        short_names=tuple(names.get("shortNames") or ()),
        subresources=tuple(s for s in ("status", "scale") if isinstance(sub.get(s), dict)),
        categories=tuple(names.get("categories") or ()),
        list_kind=names.get("listKind") or names["kind"] + "List",
    )


def printer_columns(crd: dict | None, version: str | None = None) -> list[dict]:
    """The columns ``kubectl get`` shows after NAME for the CRD's objects.

    The served version's ``additionalPrinterColumns`` (each with ``name``, ``type``,
    ``jsonPath``, ``priority`` — 1 means ``-o wide`` only — and ``description``), or
    the single ``Age`` column the API server serves when there are none.

    Example
    -------
    >>> [c["name"] for c in printer_columns({"spec": {"versions": [{"name": "v1", "served": True}]}})]
    ['Age']
    """
    chosen = None
    for v in _versions(crd or {}):
        if v.get("name") == version:
            chosen = v
    if chosen is None:
        chosen = served_version(crd or {}) or {}
    columns = [c for c in chosen.get("additionalPrinterColumns") or () if isinstance(c, dict)]
    if not columns:
        return [dict(c, priority=0, description="") for c in DEFAULT_COLUMNS]
    return [{"name": c.get("name", ""), "type": c.get("type", "string"), "jsonPath": c.get("jsonPath", ""),
             "priority": int(c.get("priority") or 0), "description": c.get("description", ""),
             **({"format": c["format"]} if c.get("format") else {})} for c in columns]


def prepare_crd_for_create(crd: dict) -> None:
    """The CRD strategy's ``PrepareForCreate``: a fresh status naming the storage version."""
    storage = [v.get("name") for v in _versions(crd) if v.get("storage") is True]
    crd["status"] = {"acceptedNames": {"plural": "", "kind": ""}, "storedVersions": storage[:1]}


def begin_deletion(crd: dict, now: str) -> dict | None:
    """The first DELETE of a CRD (the CRD registry's ``Delete``): the new version to store.

    Sets ``deletionTimestamp``, adds the cleanup finalizer and the ``Terminating``
    condition; the CRD finalizer deletes the objects and then lets the CRD go.
    ``None`` when the CRD is already being deleted.

    Example
    -------
    >>> new = begin_deletion({"metadata": {"name": "crontabs.stable.example.com"}, "status": {}},
    ...                      "2025-01-01T00:01:00Z")
    >>> new["metadata"]["finalizers"], new["status"]["conditions"][0]["reason"]
    (['customresourcecleanup.apiextensions.k8s.io'], 'InstanceDeletionPending')
    """
    if crd["metadata"].get("deletionTimestamp"):
        return None
    new = clone(crd)
    m = new["metadata"]
    m["deletionTimestamp"] = now
    m["deletionGracePeriodSeconds"] = 0
    if CLEANUP_FINALIZER not in (m.get("finalizers") or ()):
        m["finalizers"] = [*(m.get("finalizers") or ()), CLEANUP_FINALIZER]
    set_condition(new, "Terminating", "True", "InstanceDeletionPending",
                  "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon", now)
    return new


# -- validation of the CRD -------------------------------------------------------------------------


def _go_versions(versions: list) -> GoLiteral:
    # Go prints the whole []CustomResourceDefinitionVersion; k8slab abbreviates the nested structs.
    parts = [
        f'apiextensions.CustomResourceDefinitionVersion{{Name:{go_value(str(v.get("name", "")))}, '
        f'Served:{go_value(v.get("served") is True)}, Storage:{go_value(v.get("storage") is True)}, ...}}'
        for v in versions if isinstance(v, dict)
    ]
    return GoLiteral("[]apiextensions.CustomResourceDefinitionVersion{" + ", ".join(parts) + "}")


def _names_causes(names: dict, path: str, causes: list) -> None:
    """``ValidateCustomResourceDefinitionNames``."""
    for key in ("plural", "singular"):
        value = names.get(key)
        if isinstance(value, str) and value:
            errs = dns1035_label_errors(value)
            if errs:
                causes.append(invalid(f"{path}.{key}", value, ",".join(errs)))
    for key in ("kind", "listKind"):
        value = names.get(key)
        if isinstance(value, str) and value:
            errs = dns1035_label_errors(value.lower())
            if errs:
                causes.append(invalid(f"{path}.{key}", value,
                                      "may have mixed case, but should otherwise match: " + ",".join(errs)))
    for key in ("shortNames", "categories"):
        for i, value in enumerate(names.get(key) or ()):
            errs = dns1035_label_errors(str(value))
            if errs:
                causes.append(invalid(f"{path}.{key}[{i}]", str(value), ",".join(errs)))
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        causes.append(invalid(f"{path}.listKind", names["listKind"], "kind and listKind may not be the same"))


def _structural_causes(s: Any, path: str, level: str, causes: list) -> None:
    """``validateStructuralInvariants``: each field says its type; metadata only restricts the name."""
    if not isinstance(s, dict):
        return
    t = s.get("type") or ""
    if t == "array" and not isinstance(s.get("items"), dict):
        causes.append(required(f"{path}.items", "must be specified"))
    _structural_causes(s.get("items"), f"{path}.items", "item", causes)
    props = s.get("properties") if isinstance(s.get("properties"), dict) else {}
    for key, sub in props.items():
        _structural_causes(sub, f"{path}.properties[{key}]", "field", causes)
    addl = s.get("additionalProperties")
    if addl is not None:
        if level == "root":
            causes.append(forbidden(f"{path}.additionalProperties", "must not be used at the root"))
        elif props and (addl is False or isinstance(addl, dict)):
            causes.append(forbidden(f"{path}.additionalProperties",
                                    "additionalProperties and properties are mutual exclusive"))
        _structural_causes(addl, f"{path}.additionalProperties", "field", causes)
    if not t and not s.get("x-kubernetes-int-or-string") and not s.get("x-kubernetes-preserve-unknown-fields"):
        where = {"root": "at the root", "item": "for specified array items", "field": "for specified object fields"}
        causes.append(required(f"{path}.type", f"must not be empty {where[level]}"))
    if level == "root" and t and t != "object":
        causes.append(invalid(f"{path}.type", t, "must be object at the root"))
    if s.get("uniqueItems") is True:
        causes.append(forbidden(f"{path}.uniqueItems",
                                "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
    pattern = s.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as e:
            causes.append(invalid(f"{path}.pattern", pattern, f"must be a valid regular expression, but isn't: {e}"))
    meta = props.get("metadata")
    if level == "root" and isinstance(meta, dict):
        mpath = f"{path}.properties[metadata]"
        if meta.get("type") != "object":
            causes.append(invalid(f"{mpath}.type", meta.get("type") or "", "must be object"))
        mprops = meta.get("properties") if isinstance(meta.get("properties"), dict) else {}
        if set(meta) - {"type", "properties"} or set(mprops) - {"name", "generateName"}:
            causes.append(forbidden(mpath, "must not specify anything other than name and generateName, "
                                           "but metadata is implicitly specified"))


def _printer_column_causes(columns: Any, path: str, causes: list) -> None:
    for j, col in enumerate(columns if isinstance(columns, list) else ()):
        if not isinstance(col, dict):
            continue
        cpath = f"{path}[{j}]"
        if not col.get("name"):
            causes.append(required(f"{cpath}.name"))
        must = "must be one of " + ",".join(_PRINTER_COLUMN_TYPES)
        if not col.get("type"):
            causes.append(required(f"{cpath}.type", must))
        elif col["type"] not in _PRINTER_COLUMN_TYPES:
            causes.append(invalid(f"{cpath}.type", col["type"], must))
        if not col.get("jsonPath"):
            causes.append(required(f"{cpath}.jsonPath"))


def crd_causes(crd: dict, old: dict | None = None) -> list[dict]:
    """What the API server says of a CRD (``ValidateCustomResourceDefinition[Update]``), as 422 causes.

    Example
    -------
    >>> crd = default_crd({"metadata": {"name": "crontab.stable.example.com"}, "spec": {
    ...     "group": "stable.example.com", "scope": "Namespaced",
    ...     "names": {"plural": "crontabs", "kind": "CronTab"},
    ...     "versions": [{"name": "v1", "served": True, "storage": True,
    ...                   "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
    >>> [(c["field"], c["message"]) for c in crd_causes(crd)]
    [('metadata.name', 'Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group')]
    """
    causes: list[dict] = []
    name = (crd.get("metadata") or {}).get("name") or ""
    spec = crd.get("spec") if isinstance(crd.get("spec"), dict) else {}
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    group = spec.get("group") if isinstance(spec.get("group"), str) else ""
    if name and name != f"{names.get('plural', '')}.{group}":
        causes.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        causes.append(required("spec.group"))
    elif dns1123_subdomain_errors(group):
        causes.append(invalid("spec.group", group, ",".join(dns1123_subdomain_errors(group))))
    elif "." not in group:
        causes.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = spec.get("scope")
    if not scope:
        causes.append(required("spec.scope"))
    elif scope not in _SCOPES:
        causes.append(not_supported("spec.scope", scope, _SCOPES))
    versions = spec.get("versions") if isinstance(spec.get("versions"), list) else []
    if not versions:
        causes.append(required("spec.versions", "must have exactly one version marked as storage version"))
    seen: set[str] = set()
    unique = True
    structural: list[dict] = []
    for i, v in enumerate(versions):
        if not isinstance(v, dict):
            continue
        vpath = f"spec.versions[{i}]"
        vname = str(v.get("name") or "")
        unique = unique and vname not in seen
        seen.add(vname)
        errs = dns1035_label_errors(vname)
        if errs:
            causes.append(invalid(f"{vpath}.name", vname, ",".join(errs)))
        schema = (v.get("schema") or {}).get("openAPIV3Schema") if isinstance(v.get("schema"), dict) else None
        if not isinstance(schema, dict):
            causes.append(required(f"{vpath}.schema.openAPIV3Schema", "schemas are required"))
        else:
            _structural_causes(schema, f"{vpath}.schema.openAPIV3Schema", "root", structural)
        _printer_column_causes(v.get("additionalPrinterColumns"), f"{vpath}.additionalPrinterColumns", causes)
    if versions and not unique:
        causes.append(invalid("spec.versions", _go_versions(versions), "must contain unique version names"))
    if versions and sum(1 for v in versions if isinstance(v, dict) and v.get("storage") is True) != 1:
        causes.append(invalid("spec.versions", _go_versions(versions),
                              "must have exactly one version marked as storage version"))
    for key in ("plural", "singular", "kind", "listKind"):
        if not names.get(key):
            causes.append(required(f"spec.names.{key}"))
    _names_causes(names, "spec.names", causes)
    # the structural schema errors come sorted by their text, as ValidateStructural sorts them
    causes.extend(sorted(structural, key=lambda c: f'{c["field"]}: {c["message"]}'))
    if old is not None:
        old_spec = old.get("spec") or {}
        old_names = old_spec.get("names") or {}
        immutable = [("spec.group", group, old_spec.get("group")),
                     ("spec.names.plural", names.get("plural"), old_names.get("plural"))]
        if is_condition_true(old, "Established"):
            immutable[:0] = [("spec.scope", scope, old_spec.get("scope")),
                             ("spec.names.kind", names.get("kind"), old_names.get("kind"))]
        for path, value, was in immutable:
            if value != was:
                causes.append(invalid(path, value, "field is immutable"))
    return causes


# ==========================================================================
# Custom objects: their schema (pruning, defaulting and validation are in crd_schema)
# ==========================================================================


def schema_of(crd: dict, version: str | None = None) -> dict | None:
    """The ``openAPIV3Schema`` of ``version`` (default: the served one)."""
    chosen = next((v for v in _versions(crd) if v.get("name") == version), None) if version else None
    chosen = chosen or served_version(crd) or {}
    schema = (chosen.get("schema") or {}).get("openAPIV3Schema")
    return schema if isinstance(schema, dict) else None


# ==========================================================================
# The API server's hooks
# ==========================================================================


def stored_crd(api, kind: Kind) -> dict | None:
    """The CRD serving ``kind`` (what the custom resource handler reads from its CRD lister)."""
    if not is_custom(kind):
        return None
    crds = api.kinds.resolve("customresourcedefinitions.apiextensions.k8s.io")
    kv = api.etcd.get(crds.etcd_key(kind.group_resource))
    return kv.value if kv is not None else None


def decode_custom_resource(crd: dict, kind: Kind, obj: dict, old: dict | None) -> None:
    """What decoding a request body does for a custom resource, in place: prune, default, and on
    create drop the ``status`` when the status subresource is on (``PrepareForCreate``)."""
    schema = schema_of(crd, kind.version)
    if schema is not None:
        prune(obj, schema)
        apply_schema_defaults(obj, schema)
    if old is None and "status" in kind.subresources:
        obj.pop("status", None)


def validate_custom_resource(crd: dict, kind: Kind, obj: dict) -> list[dict]:
    """The custom resource strategy's schema validation: 422 causes (empty when valid)."""
    schema = schema_of(crd, kind.version)
    return schema_causes(obj, schema) if schema is not None else []


def status_update_causes(crd: dict, kind: Kind, obj: dict) -> list[dict]:
    """For a write to ``/status``: prune and default the new ``status`` (a private copy) in place,
    then validate the whole object. The rest of ``obj`` may be shared with the stored version: it is
    only read."""
    schema = schema_of(crd, kind.version)
    if schema is None:
        return []
    status_schema = (schema.get("properties") or {}).get("status")
    if "status" in obj:
        if isinstance(status_schema, dict):
            prune(obj["status"], status_schema, ("status",), root=False)
            apply_schema_defaults(obj["status"], status_schema, root=False)
        elif schema.get("x-kubernetes-preserve-unknown-fields") is not True:
            del obj["status"]
    return schema_causes(obj, schema)


class CustomResourceDecoding(AdmissionPlugin):
    """The request decoding of ``apiextensions-apiserver``, at the head of the mutating chain.

    For a CRD: its defaults (and, on create, a fresh status). For a custom object:
    pruning, schema defaults, no status on create when the status subresource is on.
    (Not an admission plugin in the real server, where this happens while decoding
    the request, just before admission: k8slab runs it first in the chain, the
    same place.)
    """

    name = "apiextensions (decoding)"

    def admit(self, server, req, kind, user, obj, old):
        if kind.kind == _CRD_KIND and kind.group == GROUP:
            default_crd(obj)
            if old is None:
                prepare_crd_for_create(obj)
            return
        crd = stored_crd(server, kind)
        if crd is not None:
            decode_custom_resource(crd, kind, obj, old)


class CustomResourceValidation(AdmissionPlugin):
    """The validation of CRDs and of custom objects against their schema, before validating admission.

    (The real server validates in the resource's strategy, right before validating
    admission: k8slab runs it first in the validating chain, the same place.)
    """

    name = "apiextensions (validation)"

    def admit(self, server, req, kind, user, obj, old):
        name = obj["metadata"].get("name", "")
        if kind.kind == _CRD_KIND and kind.group == GROUP:
            causes = crd_causes(obj, old)
            if causes:
                raise errors.Invalid(kind.kind, kind.group, name, causes)
            return
        crd = stored_crd(server, kind)
        if crd is None:
            return
        if old is None and is_condition_true(crd, "Terminating"):
            raise errors.MethodNotAllowed("create not allowed while custom resource definition is terminating")
        causes = validate_custom_resource(crd, kind, obj)
        if causes:
            raise errors.Invalid(kind.kind, kind.group, name, causes)


def install(api) -> None:
    """Put the custom resource steps at the head of the API server's chains (once)."""
    if not any(isinstance(p, CustomResourceDecoding) for p in api.mutating):
        api.mutating.insert(0, CustomResourceDecoding())
    if not any(isinstance(p, CustomResourceValidation) for p in api.validating):
        api.validating.insert(0, CustomResourceValidation())


# ==========================================================================
# kubectl's check of a custom resource manifest
# ==========================================================================


def manifest_schema_errors(crd: dict, kind: Kind, obj: dict) -> list[tuple[tuple, str, str | None]]:
    """``(path, message, suggestion)`` for a custom object, in the vocabulary of
    :func:`k8slab.api.schema.schema_errors`: unknown fields (which kubectl's strict
    validation refuses, where the API server would prune them), then the schema's rules."""
    schema = schema_of(crd, kind.version)
    if schema is None:
        return []
    copy = clone(obj)
    problems: list[tuple[tuple, str, str | None]] = []
    for path in prune(copy, schema):
        parent = schema_at(schema, path[:-1])
        known = list((parent or {}).get("properties") or ())
        problems.append((path, "unknown field", suggest(str(path[-1]), known)))
    for cause in schema_causes(apply_schema_defaults(copy, schema), schema):
        field = cause["field"]
        parts = tuple(int(p) if p.isdigit() else p for p in field.split(".")) if field else ()
        problems.append((parts, cause["message"], None))
    return problems


def custom_resource_problem(api, manifest: Manifest) -> ManifestError | None:
    """The first problem ``kubectl apply`` finds in a custom object's manifest, with file and line.

    ``None`` for built-in kinds (the bundled schemas check those) and for a valid
    object. Unknown fields and wrong types come before missing fields, then by line,
    as for the built-in kinds.
    """
    obj = manifest.obj
    kind = api.kinds.for_object(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    crd = stored_crd(api, kind) if kind is not None else None
    if crd is None:
        return None
    problems = manifest_schema_errors(crd, kind, obj)
    if not problems:
        return None

    def order(problem):
        line = manifest.line_of(problem[0])
        return (problem[1] == "Required value", line if line is not None else 1 << 30, join_field_path(problem[0]))

    path, message, hint = min(problems, key=order)
    field = join_field_path(path)
    line = manifest.line_of(path)
    if message == "unknown field":
        text = f'unknown field "{field}"' + (f' — did you mean "{hint}"?' if hint else "")
        return UnknownFieldError(text, manifest.source, line, field)
    return ManifestError(message, manifest.source, line, field)

