"""Checking objects the way ``kubectl apply`` and the API server do, with file, line and field.

A manifest passes three checks, in this order, and the first problem found is
raised as a :class:`~k8slab.api.errors.ManifestError`:

1. **the kind** must be one the cluster serves (``no matches for kind ...``);
2. **the schema** (:mod:`k8slab.api.schema`): the object must fit the real
   Kubernetes OpenAPI schema (the one bundled in the ``kubernetes-validate``
   package), strictly, so an unknown field such as ``spec.replcas`` is an
   error, as with ``kubectl apply --validate=strict``, the default;
3. **the API server's own rules** (:func:`semantic_causes`, in
   :mod:`k8slab.api.rules`): names, labels, selectors that must match their
   template, containers, ports, quantities... with the messages of a real 422
   ``Invalid`` response.

:func:`semantic_causes` also works on a plain object dict: the simulated API
server calls it on every create and update.

This module is the entry point: it runs the three checks
(:func:`validate_manifest`) and re-exports the functions of the other two
modules that callers need.

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
k8slab.api.schema.UnknownFieldError: error: deploy.yaml, line 7: unknown field "spec.replcas" — did you mean "replicas"?
"""

from __future__ import annotations

from k8slab.api.errors import ManifestError
from k8slab.api.field_errors import go_label_selector
from k8slab.api.kinds import KindRegistry, default_registry
from k8slab.api.manifest import Manifest
from k8slab.api.rules import semantic_causes
from k8slab.api.schema import UnknownFieldError, schema_errors, schema_problem, suggest

__all__ = [
    "UnknownFieldError",
    "go_label_selector",
    "schema_errors",
    "semantic_causes",
    "suggest",
    "validate_manifest",
]

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
# All three, on a manifest (2. is k8slab.api.schema, 3. k8slab.api.rules)
# --------------------------------------------------------------------------


def validate_manifest(manifest: Manifest, registry: KindRegistry | None = None, custom_problem=None) -> None:
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
    problem = schema_problem(manifest)
    if problem is None and custom_problem is not None:
        problem = custom_problem(manifest)  # a custom resource: its CRD's schema
    if problem is not None:
        raise problem
    causes = semantic_causes(manifest.obj)
    if causes:
        cause = causes[0]
        path = cause.get("field") or ""
        line = manifest.line_of(path) if path else manifest.line
        raise ManifestError(cause["message"], manifest.source, line, path or None)
