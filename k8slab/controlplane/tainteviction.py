"""The taint eviction controller: pods on a node with a ``NoExecute`` taint they do not tolerate go.

In v1.30 this is its own controller in kube-controller-manager
(``taint-eviction-controller``). It watches Nodes and Pods; for every pod on a node
with ``NoExecute`` taints it looks at the pod's tolerations:

* a taint not tolerated at all: the pod is deleted at once;
* tolerated for ``tolerationSeconds``: the pod is deleted when the shortest of them
  runs out, counted from when the controller saw the taint — the default
  ``not-ready`` / ``unreachable`` tolerations of 300 s are why pods of a dead node
  go about five minutes after it is found unreachable;
* tolerated forever: the pod stays.

Before deleting it marks the pod ``DisruptionTarget`` (``DeletionByTaintManager``) and
records ``TaintManagerEviction: Marking for deletion Pod default/web-x``; if the
taint goes away first the eviction is cancelled (``Cancelling deletion of Pod ...``).
The deletion is graceful, so a pod on a dead node stays ``Terminating`` until its
kubelet comes back — meanwhile its ReplicaSet has already replaced it.

Example
-------
>>> taint = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
>>> tols = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
...          "tolerationSeconds": 300}]
>>> matching_tolerations([taint], tols)[0], min_toleration_time(matching_tolerations([taint], tols)[1])
(True, 300.0)
"""

from __future__ import annotations

import zlib

from k8slab.api import errors
from k8slab.api.objects import clone
from k8slab.apiserver.events import EventRecorder
from k8slab.sim.loop import timestamp

NAME = "taint-eviction-controller"


def tolerates(tol: dict, taint: dict) -> bool:
    """``Toleration.ToleratesTaint``: effect (empty matches all), then key / value per operator."""
    if tol.get("effect") and tol.get("effect") != taint.get("effect"):
        return False
    if tol.get("key") and tol.get("key") != taint.get("key"):
        return False
    op = tol.get("operator") or "Equal"
    if op == "Exists":
        return True
    return (tol.get("value") or "") == (taint.get("value") or "")


def matching_tolerations(taints: list[dict], tolerations: list[dict]) -> tuple[bool, list[dict]]:
    used = []
    for taint in taints:
        for tol in tolerations or ():
            if tolerates(tol, taint):
                used.append(tol)
                break
        else:
            return False, []
    return True, used


def min_toleration_time(used: list[dict]) -> float:
    """Seconds until eviction: 0 for none or a non-positive value, -1 for forever."""
    if not used:
        return 0.0
    best = None
    for tol in used:
        secs = tol.get("tolerationSeconds")
        if secs is None:
            continue
        if secs <= 0:
            return 0.0
        best = secs if best is None else min(best, secs)
    return -1.0 if best is None else float(best)


def no_execute(taints) -> list[dict]:
    return [t for t in taints or () if t.get("effect") == "NoExecute"]


class TaintEvictionController:
    """Runs inside the node lifecycle controller's process, with its own identity and events."""

    def __init__(self, owner):
        self.owner = owner
        self.loop = owner.loop
        self.client = owner.manager.client_for(NAME)
        self.recorder = EventRecorder(self.client, NAME, enabled=owner.manager.events_enabled)
        # Event names are <object>.<nanoseconds + recorder sequence>: two recorders writing about one
        # object at the same instant would pick the same name; start this one's sequence elsewhere.
        self.recorder._seq = zlib.crc32(NAME.encode()) % 1000 * 1_000_000
        self.tainted: dict[str, list[dict]] = {}
        self.work: dict[str, tuple] = {}  # pod key -> (event, created at, fire at)
        self.evicted = 0

    def __repr__(self) -> str:
        return f"TaintEvictionController({len(self.work)} evictions scheduled)"

    # -- informer events -----------------------------------------------------------------------
    def node_updated(self, old: dict | None, new: dict | None) -> None:
        old_t = no_execute((old or {}).get("spec", {}).get("taints"))
        new_t = no_execute((new or {}).get("spec", {}).get("taints"))
        if old is not None and new is not None and _strip(old_t) == _strip(new_t):
            return
        self.handle_node((new or old)["metadata"]["name"], new)

    def pod_updated(self, old: dict | None, new: dict | None) -> None:
        if old is not None and new is not None:
            if (old["spec"].get("tolerations") == new["spec"].get("tolerations")
                    and old["spec"].get("nodeName") == new["spec"].get("nodeName")):
                return
        pod = new or old
        key = f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"
        if new is None:
            self._cancel(key, event=True)
            return
        node = new["spec"].get("nodeName")
        if not node or node not in self.tainted:
            return
        self._process(new, self.tainted[node], self.loop.now)

    # -- decisions -----------------------------------------------------------------------------------
    def handle_node(self, name: str, node: dict | None) -> None:
        if node is None:
            self.tainted.pop(name, None)
            return
        taints = no_execute(node.get("spec", {}).get("taints"))
        if taints:
            self.tainted[name] = taints
        else:
            self.tainted.pop(name, None)
        pods = sorted(self.owner.pods_on(name), key=lambda p: (p["metadata"].get("namespace"), p["metadata"]["name"]))
        now = self.loop.now
        for pod in pods:
            if not taints:
                self._cancel(_key(pod), event=True)
            else:
                self._process(pod, taints, now)

    def _process(self, pod: dict, taints: list[dict], now: float) -> None:
        key = _key(pod)
        if not taints:
            self._cancel(key, event=True)
            return
        ok, used = matching_tolerations(taints, pod["spec"].get("tolerations") or [])
        if not ok:
            self._cancel(key, event=True)
            self._schedule(key, now, now)
            return
        wait = min_toleration_time(used)
        if wait < 0:
            self._cancel(key, event=True)
            return
        trigger = now + wait
        existing = self.work.get(key)
        if existing is not None:
            if existing[1] + wait < trigger:
                return  # already due sooner, counted from when we first saw the taint
            self._cancel(key, event=True)
        self._schedule(key, now, trigger)

    def _schedule(self, key: str, created: float, fire: float) -> None:
        ev = self.loop.call_at(fire, self._evict, key, who=NAME, what=f"evict pod {key}")
        self.work[key] = (ev, created, fire)

    def _cancel(self, key: str, event: bool) -> None:
        item = self.work.pop(key, None)
        if item is None:
            return
        self.loop.cancel(item[0])
        if event:
            self._event(key, "Cancelling deletion of Pod " + key)

    def _event(self, key: str, message: str) -> None:
        ns, name = key.split("/", 1)
        ref = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}}
        self.recorder.event(ref, "Normal", "TaintManagerEviction", message)

    def _evict(self, key: str) -> None:
        self.work.pop(key, None)
        if not self.owner.manager.is_leader:
            return
        ns, name = key.split("/", 1)
        self._event(key, f"Marking for deletion Pod {key}")
        try:
            pod = self.client.get("pods", name, ns)
        except errors.NotFound:
            return
        conds = list((pod.get("status") or {}).get("conditions") or [])
        if not any(c.get("type") == "DisruptionTarget" and c.get("status") == "True" for c in conds):
            conds = [c for c in conds if c.get("type") != "DisruptionTarget"]
            conds.append({"lastProbeTime": None, "lastTransitionTime": timestamp(self.loop.now),
                          "message": "Taint manager: deleting due to NoExecute taint",
                          "reason": "DeletionByTaintManager", "status": "True", "type": "DisruptionTarget"})
            status = clone(pod.get("status") or {})
            status["conditions"] = conds
            try:
                self.client.update_status({"apiVersion": "v1", "kind": "Pod", "metadata": {
                    "name": name, "namespace": ns}, "status": status})
            except errors.NotFound:
                return
        try:
            self.client.delete("pods", name, ns)
            self.evicted += 1
        except errors.NotFound:
            pass


def _key(pod: dict) -> str:
    return f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"


def _strip(taints: list[dict]) -> list[tuple]:
    return [(t.get("key"), t.get("value"), t.get("effect")) for t in taints]
