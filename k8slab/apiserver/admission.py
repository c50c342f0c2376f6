"""Admission: plugins that may change (mutating) or reject (validating) a request after
authorization and before storage, as kube-apiserver's admission chain does.

Built in: ``NamespaceLifecycle`` (no new objects in a missing or terminating
namespace) and ``DefaultTolerationSeconds`` (pods tolerate ``not-ready`` and
``unreachable`` for 300 s). Learners can add their own with
:class:`FunctionAdmission`.
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.defaults import default_ingress_class, default_toleration_seconds
from k8slab.api.quantity import parse_quantity


class AdmissionPlugin:
    """Base class: override :meth:`admit` (create/update) and/or :meth:`admit_delete`."""

    name = "Admission"

    def admit(self, server, req, kind, user, obj: dict, old: dict | None) -> None:
        """Inspect (and for a mutating plugin, change) ``obj``; raise an ApiError to reject."""

    def admit_delete(self, server, req, kind, user, obj: dict) -> None:
        """Inspect a delete of ``obj``; raise an ApiError to reject."""

    def __repr__(self) -> str:
        return self.name


class NamespaceLifecycle(AdmissionPlugin):
    name = "NamespaceLifecycle"

    def admit(self, server, req, kind, user, obj, old):
        if old is not None or not kind.namespaced:
            return
        ns = obj["metadata"].get("namespace")
        ns_kind = server.kinds.resolve("namespaces")
        kv = server.etcd.get(ns_kind.etcd_key(ns))
        if kv is None:
            raise errors.NotFound("namespaces", ns)
        if kv.value["metadata"].get("deletionTimestamp"):
            raise errors.Forbidden(
                f'{kind.group_resource} "{obj["metadata"].get("name")}" is forbidden: unable to create new '
                f"content in namespace {ns} because it is being terminated",
                kind.group_resource,
                obj["metadata"].get("name"),
            )


class DefaultTolerationSeconds(AdmissionPlugin):
    name = "DefaultTolerationSeconds"

    def admit(self, server, req, kind, user, obj, old):
        if kind.kind == "Pod" and old is None:
            default_toleration_seconds(obj)


class FunctionAdmission(AdmissionPlugin):
    """Wrap a learner's function ``fn(request, obj, old)`` as an admission plugin.

    A mutating function changes ``obj`` in place; a validating one returns a message
    (or raises) to deny. ``kinds`` limits it to some kinds (``{"Pod"}``).
    """

    def __init__(self, name: str, fn, mutating: bool, kinds: set[str] | None = None):
        self.name = name
        self.fn = fn
        self.mutating = mutating
        self.kinds = kinds

    def admit(self, server, req, kind, user, obj, old):
        if self.kinds and kind.kind not in self.kinds:
            return
        try:
            verdict = self.fn(req, obj, old)
        except errors.ApiError:
            raise
        except Exception as e:  # a learner's hook failing denies the request, with its message
            verdict = f"{type(e).__name__}: {e}"
        if isinstance(verdict, str) and verdict:
            raise errors.Forbidden(
                f'admission webhook "{self.name}" denied the request: {verdict}',
                kind.group_resource,
                obj["metadata"].get("name"),
            )


class DefaultIngressClass(AdmissionPlugin):
    """kube-apiserver's ``DefaultIngressClass`` admission plugin (mutating, on create).

    An Ingress created with neither ``spec.ingressClassName`` nor the
    ``kubernetes.io/ingress.class`` annotation gets the name of the default
    IngressClass (annotated ``ingressclass.kubernetes.io/is-default-class: "true"``;
    the newest if there are several).
    """

    name = "DefaultIngressClass"

    def admit(self, server, req, kind, user, obj, old):
        if kind.kind != "Ingress" or old is not None or req.subresource:
            return
        spec = obj.setdefault("spec", {})
        if spec.get("ingressClassName") is not None:
            return
        if "kubernetes.io/ingress.class" in ((obj.get("metadata") or {}).get("annotations") or {}):
            return
        classes = [kv.value for kv in server.etcd.range(server.kinds.resolve("ingressclasses").etcd_prefix)]
        default = default_ingress_class(classes)
        if default is not None:
            spec["ingressClassName"] = default["metadata"]["name"]


def default_mutating() -> list[AdmissionPlugin]:
    from k8slab.apiserver.priority import Priority  # priority imports this module

    return [Priority(), DefaultTolerationSeconds(), DefaultIngressClass()]


def default_validating() -> list[AdmissionPlugin]:
    return [NamespaceLifecycle()]


def qos_class(spec: dict) -> str:
    """The pod's QoS class: Guaranteed, Burstable or BestEffort (as the API server computes it)."""
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req = res.get("requests") or {}
        lim = res.get("limits") or {}
        if req or lim:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim:
                guaranteed = False
            elif r in req and parse_quantity(req[r]) != parse_quantity(lim[r]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
