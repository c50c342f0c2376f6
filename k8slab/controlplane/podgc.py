"""The pod garbage collector (PodGC): deletes pods nobody else will ever finish.

kube-controller-manager's ``pod-garbage-collector`` runs every 20 s
(``gcCheckPeriod``) and force-deletes (grace period 0):

* *orphaned* pods, bound to a Node that no longer exists, once the node has
  been gone for the 40 s quarantine — their kubelet will never confirm;
* *unscheduled terminating* pods, which no kubelet owns.

Before deleting an orphan it marks it with the ``DisruptionTarget`` condition
(reason ``DeletionByPodGC``), as the real controller does.
k8slab leaves out the threshold on terminated pods (``--terminated-pod-gc-threshold``, 12,500).

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=2, seed=0)
>>> _ = c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
...              "spec": {"nodeName": "worker-2", "containers": [{"name": "c", "image": "nginx"}]}})
>>> _ = c.run().remove_node("worker-2").run()
>>> [p["metadata"]["name"] for p in c.get("pods")]
[]
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.objects import condition
from k8slab.controlplane.controller import Controller
from k8slab.sim.loop import timestamp

GC_CHECK_PERIOD = 20.0
QUARANTINE = 40.0


class PodGCController(Controller):
    name = "pod-garbage-collector"

    def setup(self) -> None:
        self.pods = self.informers.informer("pods")
        self.nodes = self.informers.informer("nodes")
        self.pods.add_index("podgc:node", lambda p: [(p.get("spec") or {}).get("nodeName") or ""])
        self.nodes.add_event_handler(on_delete=self._node_deleted)
        self.pods.add_event_handler(on_update=lambda old, new: self._pod_changed(new), on_add=self._pod_changed)
        self._gone_since: dict[str, float] = {}
        self._tick = None

    def _node_deleted(self, node: dict) -> None:
        name = node["metadata"]["name"]
        if self.pods.lister.by_index("podgc:node", name):
            self._gone_since.setdefault(name, self.now)
            # a real reaction is due after the quarantine: keep run() going until then
            self._schedule(QUARANTINE, background=False)

    def _pod_changed(self, pod: dict) -> None:
        m, spec = pod["metadata"], pod.get("spec") or {}
        if m.get("deletionTimestamp") and not spec.get("nodeName"):
            self._schedule(GC_CHECK_PERIOD, background=False)

    def _schedule(self, delay: float, background: bool) -> None:
        due = self.now + delay
        if self._tick is not None and not self._tick.cancelled and self._tick.time <= due:
            return
        if self._tick is not None:
            self.loop.cancel(self._tick)
        self._tick = self.loop.call_at(due, self._gc, who=self.name, what="collect orphaned pods",
                                       background=background)

    def _gc(self) -> None:
        self._tick = None
        for node, since in sorted(self._gone_since.items()):
            if self.nodes.lister.get(node) is not None:
                del self._gone_since[node]  # it came back
                continue
            if self.now - since < QUARANTINE:
                self._schedule(since + QUARANTINE - self.now, background=False)
                continue
            for pod in sorted(self.pods.lister.by_index("podgc:node", node), key=lambda p: p["metadata"]["name"]):
                self._force_delete(pod, orphan=True)
            del self._gone_since[node]
        for pod in self.pods.lister.by_index("podgc:node", ""):
            if pod["metadata"].get("deletionTimestamp"):
                self._force_delete(pod, orphan=False)

    def _force_delete(self, pod: dict, orphan: bool) -> None:
        m = pod["metadata"]
        try:
            if orphan and condition(pod, "DisruptionTarget") is None:
                conds = [*((pod.get("status") or {}).get("conditions") or []), {
                    "type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                    "message": "PodGC: node no longer exists", "lastProbeTime": None,
                    "lastTransitionTime": timestamp(self.now)}]
                self.client.patch("pods", m["name"], {"status": {"conditions": conds}}, m.get("namespace"),
                                  subresource="status")
            self.client.delete("pods", m["name"], m.get("namespace"), grace_period_seconds=0)
        except errors.NotFound:
            pass
