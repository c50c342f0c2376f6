"""Checking objects the way ``kubectl apply`` and the API server do, with file, line and field.

A manifest passes three checks, in this order, and the first problem found is
raised as a :class:`~k8slab.api.errors.ManifestError`:

1. **the kind** must be one the cluster serves (``no matches for kind ...``);
2. **the schema**: the object must fit the real Kubernetes OpenAPI schema (the
   one bundled in the ``kubernetes-validate`` package), strictly, so an unknown
   field such as ``spec.replcas`` is an error, as with ``kubectl apply
   --validate=strict``, the default;
3. **the API server's own rules** (:func:`semantic_causes`): names, labels,
   selectors that must match their template, containers, ports, quantities...
   with the messages of a real 422 ``Invalid`` response.

:func:`semantic_causes` also works on a plain object dict: the simulated API
server calls it on every create and update.

Example
-------
>>> from k8slab.api.manifest import load_manifests
>>> [m] = load_manifests('''
... apiVersion: apps/v1
... kind: Deployment
... metadata:
...   name: web
... spec:
...   replcas: 3
... ''', filename="deploy.yaml")
>>> validate_manifest(m)
Traceback (most recent call last):
...
k8slab.api.validation.UnknownFieldError: error: deploy.yaml, line 7: unknown field "spec.replcas" — did you mean "replicas"?
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from k8slab.api.errors import ManifestError, field_cause
from k8slab.api.kinds import KindRegistry, default_registry
from k8slab.api.manifest import Manifest, join_field_path
from k8slab.api.names import (
    GoLiteral,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    duplicate,
    forbidden,
    go_value,
    invalid,
    not_found,
    not_supported,
    port_name_errors,
    qualified_name_errors,
    required,
    validate_labels,
    validate_object_name,
)
from k8slab.api.quantity import canonical_quantity, parse_quantity
from k8slab.api.selectors import LabelSelector, validate_label_selector

__all__ = ["UnknownFieldError", "schema_errors", "semantic_causes", "suggest", "validate_manifest"]


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


# --------------------------------------------------------------------------
# 1. The kind
# --------------------------------------------------------------------------

_DEFAULT_REGISTRY: KindRegistry | None = None


def _builtin_registry() -> KindRegistry:
    global _DEFAULT_REGISTRY
    if _DEFAULT_REGISTRY is None:
        _DEFAULT_REGISTRY = default_registry()
    return _DEFAULT_REGISTRY


def _check_kind(manifest: Manifest, registry: KindRegistry) -> None:
    obj = manifest.obj
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    if registry.for_object(api_version, kind) is not None:
        return
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    message = (
        f'resource mapping not found for name: "{meta.get("name") or ""}" '
        f'namespace: "{meta.get("namespace") or ""}" from "{manifest.source}": '
        f'no matches for kind "{kind}" in version "{api_version}"\nensure CRDs are installed first'
    )
    same_kind = registry.for_kind_name(kind)
    if same_kind is not None:
        message += f' — did you mean apiVersion "{same_kind.api_version}"?'
    else:
        guess = suggest(kind, sorted({k.kind for k in registry.all()}))
        if guess is not None:
            message += f' — did you mean "{guess}"?'
    raise ManifestError(message, manifest.source, manifest.line_of("kind"))


# --------------------------------------------------------------------------
# 2. The OpenAPI schema
# --------------------------------------------------------------------------


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


@functools.cache
def _validator(api_version: str, kind: str):
    """A jsonschema validator for one kind, built once and kept (None without a schema)."""
    import jsonschema

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


def _json_type(value: Any) -> str:
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
                    f"Invalid type. Expected: {expected}, given: {_json_type(err.instance)}",
                    None,
                )
            )
        elif err.validator in ("oneOf", "anyOf"):
            expected = []
            for sub in err.validator_value:
                expected += [t for t in _expected_types(sub) if t not in expected]
            given = _json_type(err.instance)
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


def _schema_problem(manifest: Manifest) -> ManifestError | None:
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


# --------------------------------------------------------------------------
# 3. The API server's own rules
# --------------------------------------------------------------------------

_NONNEGATIVE = "must be greater than or equal to 0"
_PORT_RANGE = "must be between 1 and 65535, inclusive"
_RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
_PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_NODE_PORT_RANGE = (30000, 32767)
_STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_WORKLOAD_WORD = {
    "Deployment": "deployment",
    "ReplicaSet": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
}


def _type_invalid(path: str, value: Any, expected: str) -> dict:
    # The wording of the API server's schema check for custom resources.
    given = _json_type(value)
    return field_cause(
        path,
        f'Invalid value: "{given}": {path} in body must be of type {expected}: "{given}"',
        "FieldValueTypeInvalid",
    )


def _get(
    obj: Any, key: str, path: str, expected: type | tuple, causes: list, type_name: str
) -> Any:
    """``obj[key]`` when it has the expected type; otherwise ``None`` (and a cause if it is set)."""
    if not isinstance(obj, Mapping):
        return None
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and bool not in (
        expected if isinstance(expected, tuple) else (expected,)
    ):
        causes.append(_type_invalid(path, value, type_name))
        return None
    if not isinstance(value, expected):
        causes.append(_type_invalid(path, value, type_name))
        return None
    return value


def _int(obj, key, path, causes):
    return _get(obj, key, path, int, causes, "integer")


def _str(obj, key, path, causes):
    return _get(obj, key, path, str, causes, "string")


def _dict(obj, key, path, causes):
    return _get(obj, key, path, dict, causes, "object")


def _list(obj, key, path, causes):
    return _get(obj, key, path, list, causes, "array")


def _nonnegative(obj, key, path, causes) -> None:
    value = _int(obj, key, path, causes)
    if value is not None and value < 0:
        causes.append(invalid(path, value, _NONNEGATIVE))


def go_label_selector(selector: Mapping | None) -> GoLiteral:
    """A label selector printed as Go's ``%#v`` of ``v1.LabelSelector``, as field errors show it.

    Example
    -------
    >>> str(go_label_selector({"matchLabels": {"app": "web"}}))
    'v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}'
    """
    selector = selector if isinstance(selector, Mapping) else {}
    labels = selector.get("matchLabels")
    labels_text = go_value(labels) if isinstance(labels, Mapping) else "map[string]string(nil)"
    exprs = selector.get("matchExpressions")
    if isinstance(exprs, list):
        parts = []
        for e in exprs:
            e = e if isinstance(e, Mapping) else {}
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


def _object_meta(obj: Mapping, kind: str, causes: list) -> None:
    meta = _dict(obj, "metadata", "metadata", causes)
    if meta is None:
        causes.append(required("metadata.name", "name or generateName is required"))
        return
    name = _str(meta, "name", "metadata.name", causes)
    generate = _str(meta, "generateName", "metadata.generateName", causes)
    if generate:
        for msg in validate_object_name(kind, generate, prefix=True):
            causes.append(invalid("metadata.generateName", generate, msg))
    if not name and not generate:
        causes.append(required("metadata.name", "name or generateName is required"))
    elif name:
        for msg in validate_object_name(kind, name):
            causes.append(invalid("metadata.name", name, msg))
    namespace = _str(meta, "namespace", "metadata.namespace", causes)
    if namespace:
        for msg in dns1123_label_errors(namespace):
            causes.append(invalid("metadata.namespace", namespace, msg))
    causes.extend(
        validate_labels(_dict(meta, "labels", "metadata.labels", causes), "metadata.labels")
    )
    annotations = _dict(meta, "annotations", "metadata.annotations", causes) or {}
    size = 0
    for key in sorted(annotations, key=str):
        for msg in qualified_name_errors(str(key)):
            causes.append(invalid("metadata.annotations", str(key), msg))
        size += len(str(key)) + len(str(annotations[key] or ""))
    if size > 256 * 1024:
        causes.append(
            field_cause(
                "metadata.annotations",
                "Too long: must have at most 262144 bytes",
                "FieldValueTooLong",
            )
        )


def _resources(resources: Any, path: str, causes: list) -> None:
    values: dict[str, dict] = {}
    for part in ("limits", "requests"):
        listing = _dict(resources, part, f"{path}.{part}", causes) or {}
        values[part] = {}
        for name in sorted(listing, key=str):
            name = str(name)
            where = f"{path}.{part}[{name}]"
            if (
                "/" not in name
                and name not in _STANDARD_CONTAINER_RESOURCES
                and not name.startswith("hugepages-")
            ):
                causes.append(invalid(where, name, "must be a standard resource for containers"))
                continue
            raw = listing[name]
            try:
                amount = parse_quantity(raw)
            except ValueError as exc:
                causes.append(invalid(where, raw if isinstance(raw, str) else str(raw), str(exc)))
                continue
            if amount < 0:
                causes.append(invalid(where, GoLiteral(canonical_quantity(raw)), _NONNEGATIVE))
                continue
            values[part][name] = raw
    for name, raw in values["requests"].items():
        limit = values["limits"].get(name)
        if limit is not None and parse_quantity(raw) > parse_quantity(limit):
            causes.append(
                invalid(
                    f"{path}.requests",
                    canonical_quantity(raw),
                    f"must be less than or equal to {name} limit of {canonical_quantity(limit)}",
                )
            )


def _container(ctr: Any, path: str, names: set, volumes: set, causes: list) -> None:
    if not isinstance(ctr, Mapping):
        causes.append(_type_invalid(path, ctr, "object"))
        return
    name = _str(ctr, "name", f"{path}.name", causes)
    if not name:
        causes.append(required(f"{path}.name"))
    else:
        errs = dns1123_label_errors(name)
        for msg in errs:
            causes.append(invalid(f"{path}.name", name, msg))
        if not errs and name in names:
            causes.append(duplicate(f"{path}.name", name))
        names.add(name)
    image = _str(ctr, "image", f"{path}.image", causes)
    if not image:
        causes.append(required(f"{path}.image"))
    elif image != image.strip():
        causes.append(
            invalid(f"{path}.image", image, "must not have leading or trailing whitespace")
        )
    port_names: set = set()
    for i, port in enumerate(_list(ctr, "ports", f"{path}.ports", causes) or []):
        ppath = f"{path}.ports[{i}]"
        if not isinstance(port, Mapping):
            causes.append(_type_invalid(ppath, port, "object"))
            continue
        pname = _str(port, "name", f"{ppath}.name", causes)
        if pname:
            errs = port_name_errors(pname)
            for msg in errs:
                causes.append(invalid(f"{ppath}.name", pname, msg))
            if not errs and pname in port_names:
                causes.append(duplicate(f"{ppath}.name", pname))
            port_names.add(pname)
        number = _int(port, "containerPort", f"{ppath}.containerPort", causes)
        if not number:
            if number is not None or "containerPort" not in port:
                causes.append(required(f"{ppath}.containerPort"))
        elif not 1 <= number <= 65535:
            causes.append(invalid(f"{ppath}.containerPort", number, _PORT_RANGE))
        host = _int(port, "hostPort", f"{ppath}.hostPort", causes)
        if host and not 1 <= host <= 65535:
            causes.append(invalid(f"{ppath}.hostPort", host, _PORT_RANGE))
        protocol = _str(port, "protocol", f"{ppath}.protocol", causes) or "TCP"
        if protocol not in _PROTOCOLS:
            causes.append(not_supported(f"{ppath}.protocol", protocol, _PROTOCOLS))
    for i, env in enumerate(_list(ctr, "env", f"{path}.env", causes) or []):
        env_name = env.get("name") if isinstance(env, Mapping) else None
        if not env_name:
            causes.append(required(f"{path}.env[{i}].name"))
        elif not isinstance(env_name, str) or not _ENV_NAME.match(env_name):
            causes.append(
                invalid(
                    f"{path}.env[{i}].name",
                    str(env_name),
                    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
                    "and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', "
                    "regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
                )
            )
    mount_paths: set = set()
    for i, mount in enumerate(_list(ctr, "volumeMounts", f"{path}.volumeMounts", causes) or []):
        mpath = f"{path}.volumeMounts[{i}]"
        if not isinstance(mount, Mapping):
            continue
        mname = mount.get("name")
        if not mname:
            causes.append(required(f"{mpath}.name"))
        elif mname not in volumes:
            causes.append(not_found(f"{mpath}.name", mname))
        mount_path = mount.get("mountPath")
        if not mount_path:
            causes.append(required(f"{mpath}.mountPath"))
        elif mount_path in mount_paths:
            causes.append(invalid(f"{mpath}.mountPath", mount_path, "must be unique"))
        mount_paths.add(mount_path)
    pull = _str(ctr, "imagePullPolicy", f"{path}.imagePullPolicy", causes)
    if pull is not None and pull not in _PULL_POLICIES:
        causes.append(not_supported(f"{path}.imagePullPolicy", pull, _PULL_POLICIES))
    _resources(_dict(ctr, "resources", f"{path}.resources", causes), f"{path}.resources", causes)


def _pod_spec(spec: Any, path: str, causes: list) -> None:
    """``ValidatePodSpec``: volumes, containers, restart and DNS policy, node selector."""
    spec = spec if isinstance(spec, Mapping) else {}
    volumes: set = set()
    for i, vol in enumerate(_list(spec, "volumes", f"{path}.volumes", causes) or []):
        vname = vol.get("name") if isinstance(vol, Mapping) else None
        if not vname:
            causes.append(required(f"{path}.volumes[{i}].name"))
            continue
        errs = dns1123_label_errors(str(vname))
        for msg in errs:
            causes.append(invalid(f"{path}.volumes[{i}].name", str(vname), msg))
        if not errs and vname in volumes:
            causes.append(duplicate(f"{path}.volumes[{i}].name", vname))
        volumes.add(vname)
    names: set = set()
    containers = _list(spec, "containers", f"{path}.containers", causes)
    if not containers:
        causes.append(required(f"{path}.containers"))
    for i, ctr in enumerate(containers or []):
        _container(ctr, f"{path}.containers[{i}]", names, volumes, causes)
    for i, ctr in enumerate(_list(spec, "initContainers", f"{path}.initContainers", causes) or []):
        _container(ctr, f"{path}.initContainers[{i}]", names, volumes, causes)
    restart = (
        _str(spec, "restartPolicy", f"{path}.restartPolicy", causes) or "Always"
    )  # the default
    if restart not in _RESTART_POLICIES:
        causes.append(not_supported(f"{path}.restartPolicy", restart, _RESTART_POLICIES))
    dns = _str(spec, "dnsPolicy", f"{path}.dnsPolicy", causes) or "ClusterFirst"
    if dns not in _DNS_POLICIES:
        causes.append(not_supported(f"{path}.dnsPolicy", dns, _DNS_POLICIES))
    causes.extend(
        validate_labels(
            _dict(spec, "nodeSelector", f"{path}.nodeSelector", causes), f"{path}.nodeSelector"
        )
    )
    account = _str(spec, "serviceAccountName", f"{path}.serviceAccountName", causes)
    if account:
        for msg in dns1123_subdomain_errors(account):
            causes.append(invalid(f"{path}.serviceAccountName", account, msg))
    node = _str(spec, "nodeName", f"{path}.nodeName", causes)
    if node:
        for msg in dns1123_subdomain_errors(node):
            causes.append(invalid(f"{path}.nodeName", node, msg))
    _nonnegative(
        spec, "terminationGracePeriodSeconds", f"{path}.terminationGracePeriodSeconds", causes
    )
    deadline = _int(spec, "activeDeadlineSeconds", f"{path}.activeDeadlineSeconds", causes)
    if deadline is not None and not 1 <= deadline <= 2**31 - 1:
        causes.append(
            invalid(
                f"{path}.activeDeadlineSeconds",
                deadline,
                f"must be between 1 and {2**31 - 1}, inclusive",
            )
        )
    for i, tol in enumerate(_list(spec, "tolerations", f"{path}.tolerations", causes) or []):
        if not isinstance(tol, Mapping):
            continue
        operator = tol.get("operator") or "Equal"
        if operator not in ("Equal", "Exists"):
            causes.append(
                not_supported(f"{path}.tolerations[{i}].operator", operator, ["Equal", "Exists"])
            )
        elif operator == "Exists" and tol.get("value"):
            causes.append(
                invalid(
                    f"{path}.tolerations[{i}].operator",
                    tol.get("value"),
                    "value must be empty when `operator` is 'Exists'",
                )
            )
        effect = tol.get("effect")
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            causes.append(
                not_supported(
                    f"{path}.tolerations[{i}].effect",
                    effect,
                    ["NoExecute", "NoSchedule", "PreferNoSchedule"],
                )
            )


def _pod_template(template: Any, path: str, causes: list) -> dict:
    template = template if isinstance(template, Mapping) else {}
    meta = _dict(template, "metadata", f"{path}.metadata", causes) or {}
    causes.extend(
        validate_labels(
            _dict(meta, "labels", f"{path}.metadata.labels", causes), f"{path}.metadata.labels"
        )
    )
    _pod_spec(template.get("spec"), f"{path}.spec", causes)
    return template


def _workload(obj: Mapping, kind: str, causes: list) -> None:
    """Deployment, ReplicaSet, StatefulSet and DaemonSet: selector, template, replicas."""
    spec = _dict(obj, "spec", "spec", causes) or {}
    if kind != "DaemonSet":
        _nonnegative(spec, "replicas", "spec.replicas", causes)
    selector = _dict(spec, "selector", "spec.selector", causes)
    compiled = None
    if selector is None:
        causes.append(required("spec.selector"))
    else:
        causes.extend(validate_label_selector(selector, "spec.selector"))
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            causes.append(
                invalid(
                    "spec.selector",
                    go_label_selector(selector),
                    f"empty selector is invalid for {_WORKLOAD_WORD[kind]}",
                )
            )
    try:
        compiled = LabelSelector.from_dict(selector)
    except ValueError:
        causes.append(
            invalid("spec.selector", go_label_selector(selector), "invalid label selector")
        )
    template = _dict(spec, "template", "spec.template", causes) or {}
    if compiled is not None and not compiled.empty:
        labels = (
            (template.get("metadata") or {}).get("labels")
            if isinstance(template.get("metadata"), Mapping)
            else None
        )
        if not isinstance(labels, Mapping) or not compiled.matches(
            {str(k): str(v) for k, v in labels.items()}
        ):
            shown = labels if isinstance(labels, Mapping) else GoLiteral("map[string]string(nil)")
            causes.append(
                invalid(
                    "spec.template.metadata.labels",
                    shown,
                    "`selector` does not match template `labels`",
                )
            )
    _pod_template(template, "spec.template", causes)
    restart = (
        (template.get("spec") or {}).get("restartPolicy")
        if isinstance(template.get("spec"), Mapping)
        else None
    )
    restart = restart or "Always"
    if restart != "Always" and restart in _RESTART_POLICIES:
        causes.append(not_supported("spec.template.spec.restartPolicy", restart, ["Always"]))
    if kind == "Deployment":
        strategy = _dict(spec, "strategy", "spec.strategy", causes) or {}
        stype = strategy.get("type") or "RollingUpdate"
        if stype not in ("Recreate", "RollingUpdate"):
            causes.append(not_supported("spec.strategy.type", stype, ["Recreate", "RollingUpdate"]))
        elif stype == "Recreate" and strategy.get("rollingUpdate") is not None:
            causes.append(
                forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            )
        _nonnegative(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", causes)
    _nonnegative(spec, "minReadySeconds", "spec.minReadySeconds", causes)


def _job_spec(spec: Any, path: str, causes: list) -> None:
    spec = spec if isinstance(spec, Mapping) else {}
    for key in (
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ):
        _nonnegative(spec, key, f"{path}.{key}", causes)
    template = _pod_template(spec.get("template"), f"{path}.template", causes)
    restart = (
        (template.get("spec") or {}).get("restartPolicy")
        if isinstance(template.get("spec"), Mapping)
        else None
    )
    where = f"{path}.template.spec.restartPolicy"
    if not restart or restart == "Always":
        # A Job's pods must end: the pod default (Always) is not allowed.
        causes.append(required(where, 'valid values: "OnFailure", "Never"'))
    elif restart not in ("OnFailure", "Never"):
        causes.append(not_supported(where, restart, ["OnFailure", "Never"]))


def _service(obj: Mapping, causes: list) -> None:
    spec = _dict(obj, "spec", "spec", causes) or {}
    stype = _str(spec, "type", "spec.type", causes) or "ClusterIP"
    headless = spec.get("clusterIP") == "None"
    ports = _list(spec, "ports", "spec.ports", causes) or []
    if not ports and not headless and stype != "ExternalName":
        causes.append(required("spec.ports"))
    if stype == "ExternalName" and not spec.get("externalName"):
        causes.append(required("spec.externalName"))
    names: set = set()
    seen: set = set()
    for i, port in enumerate(ports):
        path = f"spec.ports[{i}]"
        if not isinstance(port, Mapping):
            causes.append(_type_invalid(path, port, "object"))
            continue
        pname = port.get("name")
        if len(ports) > 1 and not pname:
            causes.append(required(f"{path}.name"))
        elif pname:
            for msg in dns1123_label_errors(str(pname)):
                causes.append(invalid(f"{path}.name", str(pname), msg))
            if pname in names:
                causes.append(duplicate(f"{path}.name", pname))
            names.add(pname)
        number = _int(port, "port", f"{path}.port", causes)
        if number is None or not 1 <= number <= 65535:
            causes.append(invalid(f"{path}.port", number if number is not None else 0, _PORT_RANGE))
        protocol = port.get("protocol") or "TCP"
        if protocol not in _PROTOCOLS:
            causes.append(not_supported(f"{path}.protocol", protocol, _PROTOCOLS))
        target = port.get("targetPort")
        if (
            isinstance(target, int)
            and not isinstance(target, bool)
            and target != 0
            and not 1 <= target <= 65535
        ):
            causes.append(invalid(f"{path}.targetPort", target, _PORT_RANGE))
        elif isinstance(target, str) and target:
            for msg in port_name_errors(target):
                causes.append(invalid(f"{path}.targetPort", target, msg))
        node_port = port.get("nodePort")
        if node_port:
            if stype == "ClusterIP":
                causes.append(
                    forbidden(f"{path}.nodePort", "may not be used when `type` is 'ClusterIP'")
                )
            elif (
                isinstance(node_port, int)
                and not _NODE_PORT_RANGE[0] <= node_port <= _NODE_PORT_RANGE[1]
            ):
                low, high = _NODE_PORT_RANGE
                causes.append(
                    invalid(
                        f"{path}.nodePort",
                        node_port,
                        f"provided port is not in the valid range. The range of valid ports is {low}-{high}",
                    )
                )
        key = (protocol, number)
        if key in seen:
            causes.append(
                duplicate(
                    path,
                    GoLiteral(
                        f'core.ServicePort{{Name:"", Protocol:"{protocol}", AppProtocol:(*string)(nil), '
                        f'Port:{number}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}'
                    ),
                )
            )
        seen.add(key)
    causes.extend(
        validate_labels(_dict(spec, "selector", "spec.selector", causes), "spec.selector")
    )
    affinity = spec.get("sessionAffinity") or "None"
    if affinity not in ("ClientIP", "None"):
        causes.append(not_supported("spec.sessionAffinity", affinity, ["ClientIP", "None"]))
    if stype not in _SERVICE_TYPES:
        causes.append(not_supported("spec.type", stype, _SERVICE_TYPES))


def _config_keys(obj: Mapping, causes: list) -> None:
    for part in ("data", "binaryData", "stringData"):
        for key in sorted(_dict(obj, part, part, causes) or {}, key=str):
            key = str(key)
            errs = []
            if len(key) > 253:
                errs.append("must be no more than 253 characters")
            if not _CONFIG_KEY.match(key):
                errs.append(
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
                    "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
                )
            if key in (".", ".."):
                errs.append(f"must not be '{key}'")
            elif key.startswith(".."):
                errs.append("must not start with '..'")
            for msg in errs:
                causes.append(invalid(f"{part}[{key}]", key, msg))


_POD_UPDATABLE = (
    "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
    "`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def _changed_paths(old: Any, new: Any, path: str, out: list) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            _changed_paths(old.get(key), new.get(key), f"{path}.{key}", out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _changed_paths(a, b, f"{path}[{i}]", out)
    elif old != new:
        out.append(f"{path}: {json.dumps(old)} -> {json.dumps(new)}")


def _pod_update(new: Mapping, old: Mapping, causes: list) -> None:
    new_spec = dict(new.get("spec") or {})
    old_spec = dict(old.get("spec") or {})
    # Mask what may change, then anything left that differs is forbidden.
    for part in ("containers", "initContainers"):
        a, b = old_spec.get(part), new_spec.get(part)
        if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            new_spec[part] = [
                {**n, "image": o.get("image")}
                if isinstance(n, Mapping) and isinstance(o, Mapping)
                else n
                for o, n in zip(a, b, strict=True)
            ]
    new_spec["activeDeadlineSeconds"] = old_spec.get("activeDeadlineSeconds")
    old_tol, new_tol = old_spec.get("tolerations") or [], new_spec.get("tolerations") or []
    if all(t in new_tol for t in old_tol):
        new_spec["tolerations"] = old_spec.get("tolerations")
    grace_old, grace_new = (
        old_spec.get("terminationGracePeriodSeconds"),
        new_spec.get("terminationGracePeriodSeconds"),
    )
    if isinstance(grace_old, int) and grace_old < 0 and grace_new == 1:
        new_spec["terminationGracePeriodSeconds"] = grace_old
    gates_old, gates_new = (
        old_spec.get("schedulingGates") or [],
        new_spec.get("schedulingGates") or [],
    )
    if all(g in gates_old for g in gates_new):  # gates may only be removed
        new_spec["schedulingGates"] = old_spec.get("schedulingGates")
    new_spec = {k: v for k, v in new_spec.items() if v is not None}
    old_spec = {k: v for k, v in old_spec.items() if v is not None}
    if new_spec != old_spec:
        changed: list = []
        _changed_paths(old_spec, new_spec, "spec", changed)
        causes.append(
            forbidden(
                "spec",
                f"pod updates may not change fields other than {_POD_UPDATABLE}\n  "
                + "\n  ".join(changed),
            )
        )


def _update_causes(obj: Mapping, old: Mapping, kind: str, causes: list) -> None:
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if not isinstance(spec, Mapping) or not isinstance(old_spec, Mapping):
        return
    if kind in _WORKLOAD_WORD and spec.get("selector") != old_spec.get("selector"):
        causes.append(
            invalid("spec.selector", go_label_selector(spec.get("selector")), "field is immutable")
        )
    if kind == "StatefulSet":
        mutable = {
            "replicas",
            "ordinals",
            "template",
            "updateStrategy",
            "persistentVolumeClaimRetentionPolicy",
            "minReadySeconds",
        }
        if {k: v for k, v in spec.items() if k not in mutable} != {
            k: v for k, v in old_spec.items() if k not in mutable
        }:
            causes.append(
                forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                )
            )
    if kind == "Pod":
        _pod_update(obj, old, causes)
    if kind == "Service":
        ip, old_ip = spec.get("clusterIP"), old_spec.get("clusterIP")
        if ip and old_ip and ip != old_ip:
            causes.append(invalid("spec.clusterIPs[0]", [ip], "may not change once set"))


def semantic_causes(obj: Mapping, old: Mapping | None = None) -> list[dict]:
    """Every rule of the real API server that ``obj`` breaks, as 422 ``causes``.

    Parameters
    ----------
    obj : dict
        The object (defaulted or not: a missing ``restartPolicy`` counts as
        the default ``Always``).
    old : dict, optional
        The stored object, for an update: adds the update rules (a workload's
        selector is immutable; a pod's spec may change only its images,
        tolerations and deadlines).

    Returns
    -------
    list of dict
        ``errors.field_cause`` dicts in the order the API server checks,
        ready for ``errors.Invalid(kind, group, name, causes)``. Empty when valid.

    Example
    -------
    >>> pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
    ...        "spec": {"containers": [{"name": "web", "image": "nginx"},
    ...                                {"name": "web", "image": "busybox"}]}}
    >>> [(c["field"], c["message"]) for c in semantic_causes(pod)]
    [('spec.containers[1].name', 'Duplicate value: "web"')]
    """
    if not isinstance(obj, Mapping):
        return [_type_invalid("", obj, "object")]
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else ""
    causes: list[dict] = []
    _object_meta(obj, kind, causes)
    if kind == "Pod":
        _pod_spec(obj.get("spec"), "spec", causes)
    elif kind in _WORKLOAD_WORD:
        _workload(obj, kind, causes)
    elif kind == "Job":
        _job_spec(obj.get("spec"), "spec", causes)
    elif kind == "CronJob":
        spec = _dict(obj, "spec", "spec", causes) or {}
        if not _str(spec, "schedule", "spec.schedule", causes):
            causes.append(required("spec.schedule"))
        job_template = _dict(spec, "jobTemplate", "spec.jobTemplate", causes) or {}
        _job_spec(job_template.get("spec"), "spec.jobTemplate.spec", causes)
    elif kind == "PodTemplate":
        _pod_template(obj.get("template"), "template", causes)
    elif kind == "Service":
        _service(obj, causes)
    elif kind in ("ConfigMap", "Secret"):
        _config_keys(obj, causes)
    if old is not None and isinstance(old, Mapping):
        _update_causes(obj, old, kind, causes)
    return causes


# --------------------------------------------------------------------------
# All three, on a manifest
# --------------------------------------------------------------------------


def validate_manifest(manifest: Manifest, registry: KindRegistry | None = None) -> None:
    """Check a manifest as ``kubectl apply`` and the API server would; raise on the first problem.

    Parameters
    ----------
    manifest : Manifest
        From :func:`~k8slab.api.manifest.load_manifests`.
    registry : KindRegistry, optional
        The kinds the cluster serves (with its CRDs); the built-in kinds when omitted.

    Raises
    ------
    ManifestError
        With the file, the line and the field: an unknown kind, a field the
        schema does not know or of the wrong type, or a rule of the API server.

    Example
    -------
    >>> from k8slab.api.manifest import load_manifests
    >>> [m] = load_manifests({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
    ...                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    >>> validate_manifest(m) is None
    True
    """
    registry = registry if registry is not None else _builtin_registry()
    _check_kind(manifest, registry)
    problem = _schema_problem(manifest)
    if problem is not None:
        raise problem
    causes = semantic_causes(manifest.obj)
    if causes:
        cause = causes[0]
        path = cause.get("field") or ""
        line = manifest.line_of(path) if path else manifest.line
        raise ManifestError(cause["message"], manifest.source, line, path or None)
