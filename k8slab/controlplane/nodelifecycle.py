"""The node lifecycle controller: notices nodes that stopped reporting, and acts on it.

kube-controller-manager's ``nodelifecycle`` (v1.30), on the virtual clock:

* every 5 s (``nodeMonitorPeriod``) it looks at each Node's heartbeats — the
  kubelet's Lease in ``kube-node-lease`` and the Node's Ready condition. It
  remembers *when it saw* the last renewal; a node silent for more than 40 s
  (``nodeMonitorGracePeriod``) gets its conditions set to ``Unknown``
  (``NodeStatusUnknown``: "Kubelet stopped posting node status."), an event
  ``NodeNotReady``, and its pods marked not Ready (``MarkPodsNotReady``: Services
  stop sending them traffic);
* at the next pass it taints the node ``node.kubernetes.io/unreachable:NoExecute``
  (``not-ready`` when the kubelet itself reports Ready=False), at most 0.1 node per
  second per zone — and not at all when most of a zone is down (the zone is then
  more likely cut off than all its nodes dead); the taint eviction controller
  (:mod:`k8slab.controlplane.tainteviction`) then evicts the pods;
* on every Node change it keeps the ``NoSchedule`` condition taints in step
  (``not-ready``, ``unreachable``, ``memory-pressure`` ..., ``unschedulable`` for a
  cordoned node), so the scheduler avoids such nodes;
* when the node reports Ready again the taints are removed.

The monitor pass is *background* work (it does not keep ``Cluster.run()``
going) except when it has something pending — a node just found unreachable,
or one back to Ready.

Simplified: evictions are not rate limited per zone beyond the tainting rate.
"""

from __future__ import annotations

from k8slab.api import errors
from k8slab.api.objects import clone, condition
from k8slab.apiserver.events import EventRecorder
from k8slab.controlplane.controller import Controller
from k8slab.controlplane.tainteviction import TaintEvictionController
from k8slab.sim.loop import parse_timestamp, timestamp

#: ``--node-monitor-period``: how often node health is checked.
NODE_MONITOR_PERIOD = 5.0
#: ``--node-monitor-grace-period``: silence after which a node is Unknown.
NODE_MONITOR_GRACE_PERIOD = 40.0
#: ``--node-startup-grace-period``: for a node that never posted status.
NODE_STARTUP_GRACE_PERIOD = 60.0
EVICTION_LIMITER_QPS = 0.1
SECONDARY_EVICTION_LIMITER_QPS = 0.01
LARGE_CLUSTER_THRESHOLD = 50
UNHEALTHY_ZONE_THRESHOLD = 0.55

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"

#: Condition (type, status) -> the NoSchedule taint that mirrors it.
CONDITION_TAINTS = {
    ("Ready", "False"): NOT_READY,
    ("Ready", "Unknown"): UNREACHABLE,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
}
_CONDITION_TAINT_KEYS = set(CONDITION_TAINTS.values())

INDEX_NODE_NAME = "spec.nodeName"


def zone_key(node: dict) -> str:
    labels = node["metadata"].get("labels") or {}
    region = labels.get("topology.kubernetes.io/region", "")
    zone = labels.get("topology.kubernetes.io/zone", "")
    return f"{region}:\x00:{zone}" if region or zone else ""


class _Health:
    __slots__ = ("ready", "probe", "transition", "renew")

    def __init__(self, ready, probe, transition, renew):
        self.ready = ready  # the Ready condition as last seen (a copy)
        self.probe = probe  # when we last saw a sign of life
        self.transition = transition
        self.renew = renew  # the lease renewTime we last saw


class NodeLifecycleController(Controller):
    """See module docstring. ``grace_period`` is ``nodeMonitorGracePeriod``."""

    name = "node-lifecycle-controller"
    grace_period = NODE_MONITOR_GRACE_PERIOD
    monitor_period = NODE_MONITOR_PERIOD

    def __init__(self, manager):
        super().__init__(manager)
        # the real controller records its events as "node-controller"
        self.recorder = EventRecorder(self.client, "node-controller", enabled=manager.events_enabled)
        # Event names are <object>.<nanoseconds + recorder sequence>: two recorders writing about one
        # object at the same instant would pick the same name; start this one's sequence elsewhere.
        self.taint_eviction = TaintEvictionController(self)
        self.health: dict[str, _Health] = {}
        self.known: dict[str, dict] = {}
        self.zone_states: dict[str, str] = {}
        self.zone_next_taint: dict[str, float] = {}
        self.taint_queue: dict[str, list[str]] = {}  # zone -> node names waiting for a NoExecute taint
        self._monitor_event = None
        self._tainter_event = None
        self.passes = 0

    def __repr__(self) -> str:
        return f"NodeLifecycleController({len(self.known)} nodes, zones={self.zone_states})"

    # -- wiring ----------------------------------------------------------------------------------------
    def setup(self) -> None:
        self.nodes = self.informers.informer("nodes")
        self.leases = self.informers.informer("leases", namespace="kube-node-lease")
        self.pods = self.informers.informer("pods")
        self.pods.add_index(INDEX_NODE_NAME, lambda p: [p["spec"]["nodeName"]] if p["spec"].get("nodeName") else [])
        self.nodes.add_event_handler(on_add=self._node_added, on_update=self._node_updated,
                                     on_delete=self._node_deleted)
        self.pods.add_event_handler(on_add=lambda p: self._pod_changed(None, p), on_update=self._pod_changed,
                                    on_delete=lambda p: self.taint_eviction.pod_updated(p, None))
        self._schedule_monitor(0.0, foreground=False)  # wait.Until: a first pass at once

    def pods_on(self, node: str) -> list[dict]:
        return self.pods.lister.by_index(INDEX_NODE_NAME, node)

    def _node_added(self, node: dict) -> None:
        self.queue.add(node["metadata"]["name"])
        self.taint_eviction.node_updated(None, node)

    def _node_updated(self, old: dict, new: dict) -> None:
        self.queue.add(new["metadata"]["name"])
        self.taint_eviction.node_updated(old, new)
        ready = condition(new, "Ready")
        taints = {(t.get("key"), t.get("effect")) for t in new.get("spec", {}).get("taints") or ()}
        if ready is not None and ready.get("status") == "True" and (
                (UNREACHABLE, "NoExecute") in taints or (NOT_READY, "NoExecute") in taints):
            self._urgent()  # back to Ready: the next pass removes the taints; keep run() going until then

    def _node_deleted(self, node: dict) -> None:
        self.taint_eviction.node_updated(node, None)

    def _pod_changed(self, old: dict | None, new: dict) -> None:
        self.taint_eviction.pod_updated(old, new)
        node = new["spec"].get("nodeName")
        if node and (old is None or old["spec"].get("nodeName") != node):
            self.queue.add(f"pod:{new['metadata'].get('namespace')}/{new['metadata']['name']}")

    # -- the periodic health check -------------------------------------------------------------------------
    def _schedule_monitor(self, delay: float, foreground: bool) -> None:
        self._monitor_event = self.loop.call_later(delay, self._monitor, who=self.name,
                                                   what="monitor node health", background=not foreground)

    def _urgent(self) -> None:
        ev = self._monitor_event
        if ev is not None and ev.background and not ev.cancelled:
            self.loop.cancel(ev)
            self._monitor_event = self.loop.call_at(ev.time, self._monitor, who=self.name,
                                                    what="monitor node health", background=False)

    def _monitor(self) -> None:
        self._monitor_event = None
        if self.manager.is_leader:
            self.monitor_node_health()
        self._schedule_monitor(self.monitor_period, foreground=self._pending())

    def _pending(self) -> bool:
        """Is there a reaction still to come that ``run()`` should wait for?"""
        for _name, node in self.known.items():
            ready = condition(node, "Ready")
            status = ready.get("status") if ready else "Unknown"
            if status == "True":
                continue
            qps = self._zone_qps(zone_key(node))
            wanted = UNREACHABLE if status == "Unknown" else NOT_READY
            taints = {(t.get("key"), t.get("effect")) for t in node.get("spec", {}).get("taints") or ()}
            if qps > 0 and (wanted, "NoExecute") not in taints:
                return True
        return False

    def monitor_node_health(self) -> None:
        self.passes += 1
        now = self.now
        nodes = sorted(self.nodes.lister.list(), key=lambda n: n["metadata"]["name"])
        names = {n["metadata"]["name"] for n in nodes}
        for node in nodes:
            name = node["metadata"]["name"]
            if name not in self.known:
                self._node_event(node, "RegisteredNode", f"Node {name} event: Registered Node {name} in Controller")
                self.zone_states.setdefault(zone_key(node), "Initial")
                self._mark_reachable(node)
            self.known[name] = node
        for name in sorted(set(self.known) - names):
            node = self.known.pop(name)
            self.health.pop(name, None)
            self._node_event(node, "RemovingNode", f"Node {name} event: Removing Node {name} from Controller")
        zone_conditions: dict[str, list] = {}
        for node in nodes:
            name = node["metadata"]["name"]
            try:
                node, observed, current = self._update_health(node, now)
            except errors.ApiError:
                continue
            self.known[name] = node
            if "node.kubernetes.io/exclude-disruption" not in (node["metadata"].get("labels") or {}):
                zone_conditions.setdefault(zone_key(node), []).append(current)
            if current is None:
                continue
            self._taint_based_eviction(node, observed)
            if current.get("status") != "True" and observed.get("status") == "True":
                self._node_event(node, "NodeNotReady", f"Node {name} status is now: NodeNotReady")
                self._mark_pods_not_ready(name)
        self._handle_disruption(zone_conditions, nodes)
        self._run_tainter()

    def _update_health(self, node: dict, now: float):
        name = node["metadata"]["name"]
        h = self.health.get(name)
        current = condition(node, "Ready")
        created = parse_timestamp(node["metadata"]["creationTimestamp"])
        if current is None:
            observed = {"type": "Ready", "status": "Unknown"}
            grace = NODE_STARTUP_GRACE_PERIOD
            if h is None:
                h = _Health(None, created, created, None)
        else:
            observed = dict(current)
            grace = self.grace_period
        if h is None or (h.ready is None and current is not None):
            h = _Health(dict(current) if current else None, now, now, h.renew if h else None)
        elif current is not None and h.ready is not None and h.ready.get("lastHeartbeatTime") != current.get(
                "lastHeartbeatTime"):
            transition = now if h.ready.get("lastTransitionTime") != current.get("lastTransitionTime") else h.transition
            h = _Health(dict(current), now, transition, h.renew)
        lease = self.leases.lister.get(name, "kube-node-lease")
        renew = (lease or {}).get("spec", {}).get("renewTime")
        if renew and (h.renew is None or parse_timestamp(h.renew) < parse_timestamp(renew)):
            h.renew = renew
            h.probe = now
        self.health[name] = h
        if now > h.probe + grace:
            new = clone(node)
            conds = new.setdefault("status", {}).setdefault("conditions", [])
            for ctype in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
                c = next((c for c in conds if c.get("type") == ctype), None)
                if c is None:
                    conds.append({"lastHeartbeatTime": node["metadata"]["creationTimestamp"],
                                  "lastTransitionTime": timestamp(now), "message": "Kubelet never posted node status.",
                                  "reason": "NodeStatusNeverUpdated", "status": "Unknown", "type": ctype})
                elif c.get("status") != "Unknown":
                    c.update(status="Unknown", reason="NodeStatusUnknown",
                             message="Kubelet stopped posting node status.", lastTransitionTime=timestamp(now))
            current = condition(new, "Ready")
            if current != observed:
                node = self.client.update_status(new)
                h.ready = dict(current)
                h.transition = now
                return node, observed, current
        return node, observed, current

    # -- taints ---------------------------------------------------------------------------------------------------
    def _taint_based_eviction(self, node: dict, observed: dict) -> None:
        name = node["metadata"]["name"]
        status = observed.get("status")
        taints = {(t.get("key"), t.get("effect")) for t in node.get("spec", {}).get("taints") or ()}
        if status == "False":
            if (UNREACHABLE, "NoExecute") in taints:
                self._swap_taints(name, add=[(NOT_READY, "NoExecute")], remove=[(UNREACHABLE, "NoExecute")])
            elif (NOT_READY, "NoExecute") not in taints:
                self._queue_taint(node)
        elif status == "Unknown":
            if (NOT_READY, "NoExecute") in taints:
                self._swap_taints(name, add=[(UNREACHABLE, "NoExecute")], remove=[(NOT_READY, "NoExecute")])
            elif (UNREACHABLE, "NoExecute") not in taints:
                self._queue_taint(node)
        elif status == "True":
            self._mark_reachable(node)

    def _queue_taint(self, node: dict) -> None:
        q = self.taint_queue.setdefault(zone_key(node), [])
        name = node["metadata"]["name"]
        if name not in q:
            q.append(name)

    def _zone_qps(self, zone: str) -> float:
        state = self.zone_states.get(zone, "Normal")
        if state == "PartialDisruption":
            size = sum(1 for n in self.known.values() if zone_key(n) == zone)
            return SECONDARY_EVICTION_LIMITER_QPS if size > LARGE_CLUSTER_THRESHOLD else 0.0
        if state == "Stopped":
            return 0.0
        return EVICTION_LIMITER_QPS

    def _run_tainter(self) -> None:
        """``doNoExecuteTaintingPass``: taint queued nodes, one per 1/qps seconds per zone."""
        self._tainter_event = None
        now = self.now
        wake = None
        for zone in sorted(self.taint_queue):
            q = self.taint_queue[zone]
            qps = self._zone_qps(zone)
            while q and qps > 0:
                due = self.zone_next_taint.get(zone, 0.0)
                if due > now + 1e-9:
                    wake = due if wake is None else min(wake, due)
                    break
                name = q.pop(0)
                node = self.nodes.lister.get(name)
                ready = condition(node, "Ready") if node else None
                if ready is None or ready.get("status") == "True":
                    continue
                if ready.get("status") == "False":
                    add, opposite = (NOT_READY, "NoExecute"), (UNREACHABLE, "NoExecute")
                else:
                    add, opposite = (UNREACHABLE, "NoExecute"), (NOT_READY, "NoExecute")
                if self._swap_taints(name, add=[add], remove=[opposite]):
                    self.zone_next_taint[zone] = now + 1.0 / qps
        if wake is not None and self._tainter_event is None:
            self._tainter_event = self.loop.call_at(wake, self._run_tainter, who=self.name,
                                                    what="taint unreachable nodes")

    def _mark_reachable(self, node: dict) -> None:
        name = node["metadata"]["name"]
        self._swap_taints(name, add=[], remove=[(UNREACHABLE, "NoExecute"), (NOT_READY, "NoExecute")])
        q = self.taint_queue.get(zone_key(node))
        if q and name in q:
            q.remove(name)

    def _swap_taints(self, name: str, add: list[tuple], remove: list[tuple]) -> bool:
        """``SwapNodeControllerTaint``: add taints (stamped ``timeAdded``) and remove others, in one update."""
        for attempt in range(2):
            node = self.nodes.lister.get(name) if attempt == 0 else self._get_node(name)
            if node is None:
                return False
            taints = list(node.get("spec", {}).get("taints") or [])
            have = {(t.get("key"), t.get("effect")) for t in taints}
            new = [t for t in taints if (t.get("key"), t.get("effect")) not in set(remove)]
            for key, effect in add:
                if (key, effect) not in have:
                    new.append({"effect": effect, "key": key, "timeAdded": timestamp(self.now)})
            if new == taints:
                return True
            body = clone(node)
            if new:
                body["spec"]["taints"] = new
            else:
                body["spec"].pop("taints", None)
            try:
                stored = self.client.update(body)
            except errors.Conflict:
                continue
            except errors.NotFound:
                return False
            del stored
            return True
        return False

    def _get_node(self, name: str) -> dict | None:
        try:
            return self.client.get("nodes", name)
        except errors.NotFound:
            return None

    def sync(self, key: str) -> None:
        if key.startswith("pod:"):
            self._process_pod(key[4:])
            return
        self._no_schedule_taints(key)

    def _no_schedule_taints(self, name: str) -> None:
        """``doNoScheduleTaintingPass``: NoSchedule taints that mirror the node's conditions."""
        node = self.nodes.lister.get(name)
        if node is None:
            return
        wanted = set()
        for c in (node.get("status") or {}).get("conditions") or ():
            key = CONDITION_TAINTS.get((c.get("type"), c.get("status")))
            if key:
                wanted.add((key, "NoSchedule"))
        if node.get("spec", {}).get("unschedulable"):
            wanted.add((UNSCHEDULABLE, "NoSchedule"))
        have = {(t.get("key"), t.get("effect")) for t in node.get("spec", {}).get("taints") or ()
                if t.get("effect") == "NoSchedule" and (t.get("key") in _CONDITION_TAINT_KEYS or t.get("key") == UNSCHEDULABLE)}
        add = sorted(wanted - have)
        remove = sorted(have - wanted)
        if add or remove:
            if not self._swap_taints(name, add=add, remove=remove):
                raise errors.Conflict("nodes", name)

    # -- pods ------------------------------------------------------------------------------------------------------
    def _mark_pods_not_ready(self, node_name: str) -> None:
        pods = sorted(self.pods_on(node_name), key=lambda p: (p["metadata"].get("namespace"), p["metadata"]["name"]))
        for pod in pods:
            self._mark_pod_not_ready(pod)

    def _mark_pod_not_ready(self, pod: dict) -> None:
        ready = condition(pod, "Ready")
        if ready is None or ready.get("status") == "False":
            return
        status = clone(pod.get("status") or {})
        for c in status.get("conditions") or ():
            if c.get("type") == "Ready":
                c["status"] = "False"
                c["lastTransitionTime"] = timestamp(self.now)
        m = pod["metadata"]
        try:
            self.client.update_status({"apiVersion": "v1", "kind": "Pod",
                                       "metadata": {"name": m["name"], "namespace": m.get("namespace")},
                                       "status": status})
        except errors.NotFound:
            return
        self.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")

    def _process_pod(self, key: str) -> None:
        ns, name = key.split("/", 1)
        pod = self.pods.lister.get(name, ns)
        if pod is None:
            return
        h = self.health.get(pod["spec"].get("nodeName", ""))
        if h is None or h.ready is None:
            return
        if h.ready.get("status") != "True":
            self._mark_pod_not_ready(pod)

    # -- zones ----------------------------------------------------------------------------------------------------
    def _handle_disruption(self, zone_conditions: dict, nodes: list[dict]) -> None:
        new_states = {}
        for zone, conds in zone_conditions.items():
            ready = sum(1 for c in conds if c is not None and c.get("status") == "True")
            not_ready = len(conds) - ready
            if ready == 0 and not_ready > 0:
                new_states[zone] = "FullDisruption"
            elif not_ready > 2 and not_ready / len(conds) >= UNHEALTHY_ZONE_THRESHOLD:
                new_states[zone] = "PartialDisruption"
            else:
                new_states[zone] = "Normal"
        all_down = bool(new_states) and all(s == "FullDisruption" for s in new_states.values())
        if all_down:
            # every node of every zone is down: more likely the control plane is cut off; stop evicting
            for node in nodes:
                self._mark_reachable(node)
            self.zone_states = {z: "Stopped" for z in new_states}
            return
        self.zone_states = {z: ("Normal" if s == "FullDisruption" else s) for z, s in new_states.items()}

    def _node_event(self, node: dict, reason: str, message: str) -> None:
        ref = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node["metadata"]["name"],
                                                                  "uid": node["metadata"].get("uid")}}
        self.recorder.event(ref, "Normal", reason, message)
