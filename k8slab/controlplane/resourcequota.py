"""The resource-quota controller: keeps each ResourceQuota's ``status`` true to what exists.

The ``ResourceQuota`` admission plugin charges a quota as objects are created; this
controller is what gives the budget back and corrects it. It recounts a quota
(``status.hard`` copied from ``spec.hard``, ``status.used`` summed over the objects
of its namespace that match its scopes) when:

* the quota is created, or its ``spec.hard`` changes;
* an object it tracks is deleted, a pod reaches a terminal phase, or a Service
  changes type (the *replenishment* the quota monitor triggers);
* every 5 minutes (``--resource-quota-sync-period``), for all quotas.

It writes the status only when it changed.

Follows ``pkg/controller/resourcequota`` (resource_quota_controller.go,
resource_quota_monitor.go) and ``staging/.../quota/v1`` (``CalculateUsage``) of
Kubernetes v1.30.
k8slab simplifies: the quota monitor watches only resources some quota tracks
(real one watches every resource it can count); one work queue instead of two.

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=1, seed=0)  # its kube-controller-manager runs this controller
>>> _ = c.apply({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "objects"},
...              "spec": {"hard": {"configmaps": "10", "count/deployments.apps": "2"}}})
>>> _ = c.run()
>>> c.get("resourcequota", "objects")["status"]
{'hard': {'configmaps': '10', 'count/deployments.apps': '2'}, 'used': {'configmaps': '1', 'count/deployments.apps': '0'}}
"""

from __future__ import annotations

from k8slab.api.objects import clone
from k8slab.apiserver.quota import (
    IGNORED_RESOURCES,
    Evaluator,
    add,
    equals,
    evaluator_for,
    format_list,
    mask,
    parse_list,
    pod_counts_for_quota,
    q,
    scope_selectors,
)
from k8slab.controlplane.controller import Controller

#: ``--resource-quota-sync-period``: how often every quota is recounted anyway.
RESYNC_PERIOD = 300.0
INDEX_NAMESPACE = "namespace"

_POD_NAMES = {"cpu", "memory", "ephemeral-storage", "pods"}
_SERVICE_NAMES = {"services", "services.loadbalancers", "services.nodeports"}
_PVC_NAMES = {"persistentvolumeclaims", "requests.storage"}
_LEGACY_COUNTS = {"configmaps", "secrets", "resourcequotas", "replicationcontrollers"}


def _namespace_index(obj: dict) -> list[str]:
    return [obj["metadata"].get("namespace") or ""]


def tracked_resource(name: str) -> str | None:
    """Which resource's objects a quota resource name counts (``requests.cpu`` → ``pods``).

    >>> tracked_resource("limits.memory"), tracked_resource("count/deployments.apps"), tracked_resource("secrets")
    ('pods', 'deployments.apps', 'secrets')
    """
    if name.startswith("count/"):
        return name[len("count/"):]
    if name in _POD_NAMES or name.startswith(("hugepages-", "requests.hugepages-", "limits.")):
        return "pods"
    if name in _SERVICE_NAMES:
        return "services"
    if name in _PVC_NAMES or ".storageclass.storage.k8s.io/" in name:
        return "persistentvolumeclaims"
    if name in _LEGACY_COUNTS:
        return name
    if name.startswith("requests."):
        return "pods"  # requests.cpu, requests.memory, extended resources
    return None


class ResourceQuotaController(Controller):
    """Recounts ResourceQuotas (see module docstring)."""

    name = "resourcequota-controller"

    def setup(self) -> None:
        self.kinds = self.client.server.kinds  # discovery: which resources can be counted
        self.quotas = self.informers.informer("resourcequotas")
        self.quotas.add_index(INDEX_NAMESPACE, _namespace_index)
        self.quotas.add_event_handler(self._add_quota, self._update_quota, self._add_quota)
        self.monitored: dict[str, object] = {}
        self._resync = None
        self._schedule_resync()

    # -- what to recount when ---------------------------------------------------------------------
    @staticmethod
    def _key(obj: dict) -> str:
        m = obj["metadata"]
        return f"{m.get('namespace')}/{m['name']}"

    def _add_quota(self, quota: dict) -> None:
        self.queue.add(self._key(quota))

    def _update_quota(self, old: dict, new: dict) -> None:
        # status changes are this controller's (or admission's) own: only a new spec.hard matters
        if equals(parse_list((old.get("spec") or {}).get("hard")), parse_list((new.get("spec") or {}).get("hard"))):
            return
        self.queue.add(self._key(new))

    def _schedule_resync(self) -> None:
        self._resync = self.loop.call_later(RESYNC_PERIOD, self._resync_all, who=self.name,
                                            what="resync all resource quotas", background=True)

    def _resync_all(self) -> None:
        for quota in self.quotas.lister.list():
            self.queue.add(self._key(quota))
        self._schedule_resync()

    def _monitor(self, group_resource: str):
        """The informer of a counted resource, with the replenishment handlers (started on first need)."""
        inf = self.monitored.get(group_resource)
        if inf is not None:
            return inf
        kind = self.kinds.resolve(group_resource)
        if kind is None or group_resource in IGNORED_RESOURCES:
            return None
        inf = self.informers.informer(kind.plural)
        inf.add_index(INDEX_NAMESPACE, _namespace_index)
        gr = kind.group_resource

        def on_update(old: dict, new: dict) -> None:
            if gr == "pods":
                changed = pod_counts_for_quota(old, self.now) and not pod_counts_for_quota(new, self.now)
            elif gr == "services":
                changed = (old.get("spec") or {}).get("type") != (new.get("spec") or {}).get("type")
            else:
                changed = False
            if changed:
                self._replenish(gr, new)

        inf.add_event_handler(on_update=on_update, on_delete=lambda obj: self._replenish(gr, obj))
        self.monitored[group_resource] = inf
        if not inf.running:
            inf.start()
        return inf

    def _replenish(self, group_resource: str, obj: dict) -> None:
        """``replenishQuota``: recount the quotas of the object's namespace that track its resource."""
        namespace = obj["metadata"].get("namespace") or ""
        evaluator = evaluator_for(group_resource)
        for quota in self.quotas.lister.by_index(INDEX_NAMESPACE, namespace):
            hard = list(((quota.get("status") or {}).get("hard")) or {})
            if evaluator.matching_resources(hard):
                self.queue.add(self._key(quota))

    # -- recounting -----------------------------------------------------------------------------------
    def _evaluators(self, hard_names: list[str]) -> list[Evaluator]:
        out: dict[str, Evaluator] = {}
        for name in hard_names:
            resource = tracked_resource(name)
            kind = self.kinds.resolve(resource) if resource else None
            if kind is None:
                continue
            out.setdefault(kind.group_resource, evaluator_for(kind.group_resource))
        return [out[k] for k in sorted(out)]

    def calculate_usage(self, namespace: str, quota: dict, hard_names: list[str]) -> dict:
        """``quota.CalculateUsage``: what the namespace's objects use, for the resources the quota tracks."""
        selectors = scope_selectors(quota)
        new_usage: dict = {}
        matched: set[str] = set()
        for evaluator in self._evaluators(hard_names):
            names = evaluator.matching_resources(hard_names)
            if not names:
                continue
            inf = self._monitor(evaluator.group_resource)
            if inf is None:
                continue
            matched.update(names)
            used = {n: (q("0")) for n in names}
            for obj in inf.lister.by_index(INDEX_NAMESPACE, namespace):
                if all(evaluator.matches_scope(sel, obj) for sel in selectors):
                    used = add(used, evaluator.usage(obj, self.now))
            new_usage = add(new_usage, used)
        return mask(new_usage, matched)

    def sync(self, key: str) -> None:
        namespace, _, name = key.partition("/")
        quota = self.quotas.lister.get(name, namespace)
        if quota is None:
            return
        spec_hard = parse_list((quota.get("spec") or {}).get("hard"))
        status = quota.get("status") or {}
        status_hard = parse_list(status.get("hard"))
        dirty = not equals(spec_hard, status_hard) or status.get("hard") is None or status.get("used") is None
        previous = parse_list(status.get("used"))
        used = dict(previous)
        used.update(self.calculate_usage(namespace, quota, list(spec_hard)))
        used = mask(used, spec_hard)
        dirty = dirty or not equals(used, previous)
        if not dirty:
            return
        new = clone(quota)
        new["status"] = {"hard": format_list(spec_hard), "used": format_list(used)}
        self.client.update_status(new)


__all__ = ["RESYNC_PERIOD", "ResourceQuotaController", "tracked_resource"]
