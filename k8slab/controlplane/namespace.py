"""The namespace controller: empties a deleted namespace, then lets it go.

``kubectl delete namespace team`` does not delete anything at once: the API
server marks the Namespace (``deletionTimestamp``, phase ``Terminating``) and
refuses new objects in it (``unable to create new content in namespace team
because it is being terminated``). The namespace keeps the finalizer
``kubernetes`` in ``spec.finalizers`` until this controller
(``pkg/controller/namespace``) has deleted its content:

1. every namespaced resource the API server serves (discovery) is listed in the
   namespace and each object deleted (propagation ``Background``);
2. the namespace's status conditions say how it went —
   ``NamespaceDeletionDiscoveryFailure``, ``NamespaceDeletionGroupVersionParsingFailure``,
   ``NamespaceDeletionContentFailure``, ``NamespaceContentRemaining``
   (``Some resources are remaining: pods. has 2 resource instances``) and
   ``NamespaceFinalizersRemaining`` (``Some finalizers are remaining: ...``);
3. while objects remain (pods shutting down gracefully, objects held by
   finalizers) it comes back later: after half the longest pod grace period
   (plus one second), 15 s when finalizers hold objects, sooner after an error;
4. once nothing is left it removes ``kubernetes`` from ``spec.finalizers``
   through the ``finalize`` subresource, and the API server deletes the namespace.

k8slab simplifies: objects are deleted one by one (no ``deletecollection``); the
resources are visited in the API server's registry order, not Go's random map
order; discovery never fails, so the first two conditions are always ``False``.

Example
-------
>>> remaining_message({"pods": 2, "configmaps": 1})
'Some resources are remaining: configmaps. has 1 resource instances, pods. has 2 resource instances'
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.objects import clone
from k8slab.apiserver.events import EventRecorder
from k8slab.controlplane.controller import Controller
from k8slab.sim.loop import parse_timestamp, timestamp

#: The finalizer this controller owns in ``spec.finalizers``.
FINALIZER_KUBERNETES = "kubernetes"
#: How long to wait for objects held by finalizers (``finalizerEstimateSeconds``).
FINALIZER_ESTIMATE_SECONDS = 15
#: Kinds served but not deletable (no ``delete`` verb in discovery).
UNDELETABLE_KINDS = frozenset({"Binding"})

#: The condition types this controller maintains, in the order it writes them.
CONDITION_TYPES = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)
_OK = {
    "NamespaceDeletionDiscoveryFailure": ("ResourcesDiscovered", "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": ("ContentDeleted",
                                        "All content successfully deleted, may be waiting on finalization"),
    "NamespaceContentRemaining": ("ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("ContentRemoved", "All content successfully removed"),
}


def remaining_message(by_resource: dict[str, int]) -> str:
    """The ``NamespaceContentRemaining`` message (``<resource>.<group> has N resource instances``);
    ``by_resource`` is keyed by ``plural`` or ``plural.group``."""
    parts = sorted(f"{_resource_dot_group(r)} has {n} resource instances" for r, n in by_resource.items() if n)
    return "Some resources are remaining: " + ", ".join(parts)


def finalizers_message(by_finalizer: dict[str, int]) -> str:
    """The ``NamespaceFinalizersRemaining`` message.

    >>> finalizers_message({"example.com/keep": 1})
    'Some finalizers are remaining: example.com/keep in 1 resource instances'
    """
    parts = sorted(f"{f} in {n} resource instances" for f, n in by_finalizer.items() if n)
    return "Some finalizers are remaining: " + ", ".join(parts)


def _resource_dot_group(group_resource: str) -> str:
    # Go prints gvr.Resource + "." + gvr.Group: core resources end with a bare dot ("pods.").
    return group_resource if "." in group_resource else group_resource + "."


class NamespaceController(Controller):
    """Deletes the content of terminating namespaces, then finalizes them (module docstring)."""

    name = "namespace-controller"

    def setup(self) -> None:
        self.recorder = EventRecorder(self.client, self.name, enabled=self.manager.events_enabled)
        self.namespaces = self.informers.informer("namespaces")
        self.namespaces.add_event_handler(self._changed, lambda old, new: self._changed(new))

    def _changed(self, ns: dict) -> None:
        if ns["metadata"].get("deletionTimestamp"):
            self.queue.add(ns["metadata"]["name"])

    def _deletable_kinds(self) -> list:
        """Discovery: the namespaced resources the API server serves that can be deleted."""
        return [k for k in self.client.server.kinds.all() if k.namespaced and k.kind not in UNDELETABLE_KINDS]

    # -- namespacedResourcesDeleter.Delete ---------------------------------------------------------------
    def sync(self, key: str) -> None:
        try:
            ns = self.client.get("namespaces", key)
        except errors.NotFound:
            return
        if not ns["metadata"].get("deletionTimestamp"):
            return
        if (ns.get("status") or {}).get("phase") != "Terminating":
            new = clone(ns)
            new.setdefault("status", {})["phase"] = "Terminating"
            ns = self.client.update_status(new)
        if not (ns.get("spec") or {}).get("finalizers"):
            return  # finalized: the API server removes it
        ns, estimate = self._delete_all_content(ns)
        if estimate > 0:
            # ResourcesRemainingError: look again when the estimate says content may be gone
            self.queue.add_after(key, estimate // 2 + 1)
            return
        self._finalize(ns)

    def _delete_all_content(self, ns: dict) -> tuple[dict, int]:
        """Delete every object in the namespace; returns the namespace as now stored and the
        seconds its remaining content is still expected to take (0: all gone)."""
        name = ns["metadata"]["name"]
        deleted_at = parse_timestamp(ns["metadata"]["deletionTimestamp"])
        estimate = 0
        remaining: dict[str, int] = {}
        by_finalizer: dict[str, int] = {}
        failures: list[str] = []
        for kind in self._deletable_kinds():
            resource = kind.group_resource
            try:
                left, finalizers, gvr_estimate = self._delete_resource(kind, name, deleted_at)
            except errors.ApiError as e:
                failures.append(e.message)
                continue
            except _Unexpected as e:
                failures.append(str(e))
                left, finalizers, gvr_estimate = e.left, {}, 0
            estimate = max(estimate, gvr_estimate)
            if left:
                remaining[resource] = left
                for f, n in finalizers.items():
                    by_finalizer[f] = by_finalizer.get(f, 0) + n
        ns = self._update_conditions(ns, remaining, by_finalizer, failures)
        if failures:
            raise RuntimeError(f"deletion of namespace {name} failed: {', '.join(sorted(failures))}")
        return ns, estimate

    def _delete_resource(self, kind, namespace: str, deleted_at: float) -> tuple[int, dict[str, int], int]:
        """``deleteAllContentForGroupVersionResource``: (objects left, their finalizers, estimate)."""
        estimate = 0
        if kind.kind == "Pod":
            estimate = self._pod_grace_estimate(namespace)
            if self.now - deleted_at >= estimate:
                estimate = 0
        items = self.client.list(kind.group_resource, namespace)["items"]
        for obj in items:
            try:
                self.client.delete(kind.group_resource, obj["metadata"]["name"], namespace,
                                   propagation_policy="Background")
            except errors.NotFound:
                pass
        left = self.client.list(kind.group_resource, namespace)["items"]
        if not left:
            return 0, {}, 0
        finalizers: dict[str, int] = {}
        for obj in left:
            for f in obj["metadata"].get("finalizers") or ():
                finalizers[f] = finalizers.get(f, 0) + 1
        if estimate:
            return len(left), finalizers, estimate
        if finalizers:
            return len(left), finalizers, FINALIZER_ESTIMATE_SECONDS
        raise _Unexpected(f"unexpected items still remain in namespace: {namespace} for gvr: "
                          f"{kind.group}/{kind.version}, Resource={kind.plural}", len(left))

    def _pod_grace_estimate(self, namespace: str) -> int:
        """``estimateGracefulTerminationForPods``: the longest grace period of the pods still running."""
        estimate = 0
        for pod in self.client.list("pods", namespace)["items"]:
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
            if grace is not None and grace > estimate:
                estimate = int(grace)
        return estimate

    def _update_conditions(self, ns: dict, remaining: dict[str, int], by_finalizer: dict[str, int],
                           failures: list[str]) -> dict:
        """``namespaceConditionUpdater``: a condition per type, ``True`` with the problem or ``False`` (ok)."""
        failing: dict[str, tuple[str, str]] = {}
        if failures:
            failing["NamespaceDeletionContentFailure"] = (
                "ContentDeletionFailed",
                f"Failed to delete all resource types, {len(failures)} remaining: {', '.join(sorted(failures))}")
        if remaining:
            failing["NamespaceContentRemaining"] = ("SomeResourcesRemain", remaining_message(remaining))
        if by_finalizer:
            failing["NamespaceFinalizersRemaining"] = ("SomeFinalizerRemain", finalizers_message(by_finalizer))
        conditions = [dict(c) for c in (ns.get("status") or {}).get("conditions") or ()]
        changed = False
        now = timestamp(self.now)
        for ctype in CONDITION_TYPES:
            status = "True" if ctype in failing else "False"
            reason, message = failing.get(ctype) or _OK[ctype]
            old = next((c for c in conditions if c.get("type") == ctype), None)
            if old is None:
                conditions.append({"type": ctype, "status": status, "lastTransitionTime": now,
                                   "reason": reason, "message": message})
                changed = True
            elif (old.get("status"), old.get("reason"), old.get("message")) != (status, reason, message):
                if old.get("status") != status:
                    old["lastTransitionTime"] = now
                old.update(status=status, reason=reason, message=message)
                changed = True
        if not changed:
            return ns
        new = clone(ns)
        new.setdefault("status", {})["conditions"] = conditions
        try:
            return self.client.update_status(new)
        except errors.ApiError:
            return ns  # best effort, as the real controller: the next sync writes them again

    def _finalize(self, ns: dict) -> None:
        """Remove our finalizer through ``PUT /api/v1/namespaces/<name>/finalize`` (on a conflict,
        read the namespace again and retry, as ``retryOnConflictError``)."""
        while True:
            new = clone(ns)
            new["spec"]["finalizers"] = sorted({f for f in new["spec"].get("finalizers") or ()
                                                if f != FINALIZER_KUBERNETES})
            try:
                self.client.update(new, subresource="finalize")
                return
            except errors.NotFound:
                return
            except errors.Conflict:
                try:
                    ns = self.client.get("namespaces", ns["metadata"]["name"])
                except errors.NotFound:
                    return


class _Unexpected(Exception):
    """Objects without finalizers remain after being deleted (``unexpected items still remain``)."""

    def __init__(self, message: str, left: int):
        super().__init__(message)
        self.left = left


__all__ = ["NamespaceController", "finalizers_message", "remaining_message"]
