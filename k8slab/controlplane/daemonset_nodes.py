"""A DaemonSet's view of the nodes: its pods, which nodes should run one, what each node needs.

The parts of ``pkg/controller/daemon`` that look at one node at a time:

* **Daemon pods** (``daemon/util/daemonset_util.go``): the DaemonSet's pod
  template with the tolerations every daemon pod gets, its revision hash and
  template generation labels, and the required node affinity that pins a pod to
  its node (the default scheduler then binds it there).
* **Which nodes** (``NodeShouldRunDaemonPod``): a node should run the daemon
  pod when the template's ``nodeName``, ``nodeSelector`` and required node
  affinity match it and it has no untolerated ``NoSchedule``/``NoExecute``
  taint; a pod already there may stay despite an untolerated ``NoSchedule``.
* **What a node needs** (:func:`evaluate_node`): its status counts, the pods to
  create or delete there, and its part in a rolling update. :class:`DaemonState`
  keeps these conclusions per node between syncs, with running totals, so a
  sync re-examines only the nodes whose pods or labels/taints changed.

Example
-------
>>> ds = {"spec": {"template": {"spec": {"containers": []}}}}
>>> control_plane = {"metadata": {"name": "control-plane"}, "spec": {"taints": [
...     {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}
>>> node_should_run_daemon_pod(control_plane, DaemonScheduling.of(ds))
(False, True)
>>> [t["key"] for t in daemon_tolerations({})][:2]
['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']
"""

from __future__ import annotations

from k8slab.api.objects import clone, is_pod_ready
from k8slab.controlplane.history import POD_REVISION_LABEL
from k8slab.controlplane.scheduler.plugins.nodeaffinity import RequiredNodeAffinity
from k8slab.controlplane.scheduler.plugins.tainttoleration import find_untolerated_taint
from k8slab.controlplane.workload import is_pod_available

#: Annotation the API server keeps on a DaemonSet: its template's generation.
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
#: Label with that generation on daemon pods (``DaemonSetTemplateGenerationKey``).
TEMPLATE_GENERATION_LABEL = "pod-template-generation"

#: The tolerations every daemon pod gets (``AddOrUpdateDaemonPodTolerations``).
DAEMON_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"


# ---------------------------------------------------------------------------------------
# Daemon pods (daemon/util/daemonset_util.go)
# ---------------------------------------------------------------------------------------
def _same_toleration(a: dict, b: dict) -> bool:
    # v1helper.MatchToleration: key, operator, value and effect (not tolerationSeconds)
    return all((a.get(f) or "") == (b.get(f) or "") for f in ("key", "operator", "value", "effect"))


def daemon_tolerations(spec: dict) -> list[dict]:
    """The pod spec's tolerations with the daemon ones added (a same toleration is replaced).

    Example
    -------
    >>> [t["effect"] for t in daemon_tolerations({"hostNetwork": True})]
    ['NoExecute', 'NoExecute', 'NoSchedule', 'NoSchedule', 'NoSchedule', 'NoSchedule', 'NoSchedule']
    """
    out = [clone(t) for t in spec.get("tolerations") or () if isinstance(t, dict)]
    wanted = list(DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append((NETWORK_UNAVAILABLE, "NoSchedule"))
    for key, effect in wanted:
        tol = {"key": key, "operator": "Exists", "effect": effect}
        for i, t in enumerate(out):
            if _same_toleration(t, tol):
                out[i] = tol
                break
        else:
            out.append(tol)
    return out


def pin_to_node(affinity: dict | None, node_name: str) -> dict:
    """``ReplaceDaemonSetPodNodeNameNodeAffinity``: the required node affinity becomes the one node.

    Example
    -------
    >>> pin_to_node(None, "worker-1")["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    {'nodeSelectorTerms': [{'matchFields': [{'key': 'metadata.name', 'operator': 'In', 'values': ['worker-1']}]}]}
    """
    terms = [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]
    out = clone(affinity) if affinity else {}
    na = out.setdefault("nodeAffinity", {})
    required = na.get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is None:
        na["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": terms}
    else:
        required["nodeSelectorTerms"] = terms
    return out


def target_node_name(pod: dict) -> str | None:
    """``GetTargetNodeName``: ``spec.nodeName``, or the node a pending pod's affinity pins it to."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}
    for term in required.get("nodeSelectorTerms") or ():
        for expr in term.get("matchFields") or ():
            if expr.get("key") == "metadata.name" and expr.get("operator") == "In":
                values = expr.get("values") or []
                return values[0] if len(values) == 1 else None
    return None


def template_generation(ds: dict) -> int | None:
    value = (ds["metadata"].get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def pod_template_for(ds: dict, hash_: str) -> dict:
    """``CreatePodTemplate``: the template with daemon tolerations, the revision hash and generation labels."""
    template = clone((ds.get("spec") or {}).get("template") or {})
    spec = template.setdefault("spec", {})
    spec["tolerations"] = daemon_tolerations(spec)
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    generation = template_generation(ds)
    if generation is not None:
        labels[TEMPLATE_GENERATION_LABEL] = str(generation)
    if hash_:
        labels[POD_REVISION_LABEL] = hash_
    return template


def pod_hash(pod: dict) -> str:
    return (pod["metadata"].get("labels") or {}).get(POD_REVISION_LABEL, "")


# ---------------------------------------------------------------------------------------
# Which nodes (daemon_controller.go: NodeShouldRunDaemonPod)
# ---------------------------------------------------------------------------------------
class DaemonScheduling:
    """What of a DaemonSet's template decides where its pods go, parsed once per template."""

    __slots__ = ("node_name", "affinity", "tolerations")

    def __init__(self, node_name: str, affinity: RequiredNodeAffinity, tolerations: list[dict]):
        self.node_name = node_name
        self.affinity = affinity
        self.tolerations = tolerations

    @classmethod
    def of(cls, ds: dict) -> DaemonScheduling:
        spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
        return cls(spec.get("nodeName") or "", RequiredNodeAffinity.of(spec), daemon_tolerations(spec))


def node_should_run_daemon_pod(node: dict, sched: DaemonScheduling) -> tuple[bool, bool]:
    """``(shouldRun, shouldContinueRunning)`` of a daemon pod on ``node``.

    A pod that does not fit the node's name or affinity neither runs nor stays. An
    untolerated ``NoSchedule`` taint keeps a new pod off, but one already running may
    stay; an untolerated ``NoExecute`` taint means neither.
    """
    name = node["metadata"]["name"]
    if sched.node_name and sched.node_name != name:
        return False, False
    if not sched.affinity.match(node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    if taints and find_untolerated_taint(taints, sched.tolerations) is not None:
        return False, find_untolerated_taint(taints, sched.tolerations, ("NoExecute",)) is None
    return True, True


def _pod_order(pod: dict) -> tuple:
    # podByCreationTimestampAndPhase: scheduled first, then older, then by name
    m = pod["metadata"]
    return (0 if (pod.get("spec") or {}).get("nodeName") else 1, m.get("creationTimestamp") or "", m["name"])


def _phase(pod: dict) -> str:
    return (pod.get("status") or {}).get("phase") or ""


def _is_terminal(pod: dict) -> bool:
    return _phase(pod) in ("Failed", "Succeeded")


# ---------------------------------------------------------------------------------------
# What a DaemonSet concluded about one node
# ---------------------------------------------------------------------------------------
class NodeRecord:
    """One node's part of a DaemonSet's sync: status counts, pods to make or delete, rollout class."""

    __slots__ = ("node", "exists", "should_run", "pods", "desired", "current", "misscheduled", "ready",
                 "available", "updated", "create", "delete", "failed", "succeeded", "maturing",
                 "unavailable", "replace", "candidate", "surge", "surge_available", "delete_old",
                 "allowed_new", "surge_candidate", "should_not_run")

    def __init__(self, node: str):
        self.node = node
        self.exists = self.should_run = False
        self.pods: list[dict] = []
        self.desired = self.current = self.misscheduled = self.ready = self.available = self.updated = 0
        self.create = False
        self.delete: list[str] = []
        self.failed: list[dict] = []
        self.succeeded: list[dict] = []
        self.maturing = False
        # rolling update without surge
        self.unavailable = 0
        self.replace = self.candidate = None
        # rolling update with surge
        self.surge = self.surge_available = 0
        self.delete_old = self.should_not_run = None
        self.allowed_new = self.surge_candidate = False

    @property
    def needs_action(self) -> bool:
        return bool(self.create or self.delete or self.failed or self.succeeded)

    def __repr__(self) -> str:
        return f"NodeRecord({self.node}: {len(self.pods)} pods, desired={self.desired})"


def _find_updated(pods: list[dict], hash_: str) -> tuple[dict | None, dict | None, bool]:
    """``findUpdatedPodsOnNode``: at most one new and one old live pod, or ``ok`` is False."""
    new = old = None
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        if hash_ and pod_hash(pod) == hash_:
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def evaluate_node(name: str, node: dict | None, pods: list[dict], sched: DaemonScheduling, hash_: str,
                  surge: bool, min_ready: int, now: float) -> NodeRecord:
    """What ``podsShouldBeOnNode``, the status count and the rolling update conclude for one node.

    ``pods`` are the DaemonSet's pods targeting the node (finished-and-deleted ones left
    out), ``node`` is ``None`` for a node that no longer exists. Side effects (events,
    the failed-pod back-off) are left to the caller.
    """
    rec = NodeRecord(name)
    rec.pods = pods = sorted(pods, key=_pod_order)
    rec.exists = node is not None

    def available(pod):
        return is_pod_available(pod, min_ready, now)

    if min_ready:
        rec.maturing = any(is_pod_ready(p) and not available(p) for p in pods)
    if node is None:
        # unscheduled pods pinned to a node that is gone: nobody else will ever delete them
        rec.delete = [p["metadata"]["name"] for p in pods
                      if not (p.get("spec") or {}).get("nodeName") and not p["metadata"].get("deletionTimestamp")]
        should_run = should_continue = False
    else:
        should_run, should_continue = node_should_run_daemon_pod(node, sched)
        rec.should_run = should_run
        # status
        if should_run:
            rec.desired = 1
            if pods:
                rec.current = 1
                first = pods[0]
                if is_pod_ready(first):
                    rec.ready = 1
                    rec.available = int(available(first))
                rec.updated = int(bool(hash_) and pod_hash(first) == hash_)
        elif pods:
            rec.misscheduled = 1
        # podsShouldBeOnNode
        if should_run and not pods:
            rec.create = True
        elif should_continue:
            running = []
            for pod in pods:
                if pod["metadata"].get("deletionTimestamp"):
                    continue
                phase = _phase(pod)
                if phase == "Failed":
                    rec.failed.append(pod)
                elif phase == "Succeeded":
                    rec.succeeded.append(pod)
                else:
                    running.append(pod)
            if not surge:
                rec.delete = [p["metadata"]["name"] for p in running[1:]]  # keep the oldest
            elif len(running) <= 1:
                rec.create = not running and should_run
            else:
                # surging: an old and a new pod may overlap until the new one is available
                oldest_new = oldest_old = None
                for pod in running:
                    if pod_hash(pod) == hash_ and oldest_new is None:
                        oldest_new = pod
                    elif pod_hash(pod) != hash_ and oldest_old is None:
                        oldest_old = pod
                    else:
                        rec.delete.append(pod["metadata"]["name"])
                if oldest_new is not None and oldest_old is not None and (
                        not is_pod_ready(oldest_old) or available(oldest_new)):
                    rec.delete.append(oldest_old["metadata"]["name"])
        elif pods:
            rec.delete = [p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")]

    # the rolling update looks at nodes with pods and at nodes that want one
    if pods or rec.desired:
        new, old, ok = _find_updated(pods, hash_)
        if not surge:
            if not ok or (old is None) == (new is None):
                rec.unavailable = 1
            elif new is not None:
                rec.unavailable = int(not available(new))
            elif not available(old):
                rec.replace = old["metadata"]["name"]
                rec.unavailable = 1
            else:
                rec.candidate = old["metadata"]["name"]
        elif not ok:
            rec.surge = 1
        else:
            live = old if old is not None else new
            rec.surge_available = int(live is not None and available(live))
            if old is not None and new is None:
                if not available(old):
                    if should_run:
                        rec.allowed_new = True
                    else:
                        rec.delete_old = old["metadata"]["name"]
                elif should_run:
                    rec.surge_candidate = True
                else:
                    rec.should_not_run = old["metadata"]["name"]
            elif old is not None:
                if available(new):
                    rec.delete_old = old["metadata"]["name"]
                else:
                    rec.surge = 1
    return rec


class DaemonState:
    """A DaemonSet's pods by node and its per-node conclusions, with running totals.

    Kept between syncs: the pod and node handlers say what changed, a sync
    re-examines those nodes only. ``basis`` (generation and revision hash) rebuilds
    everything when the DaemonSet's template or strategy changes.
    """

    def __init__(self, basis: tuple):
        self.basis = basis
        self.pods: dict[str, dict] = {}  # claimed pods by key
        self.pod_node: dict[str, str] = {}  # pod key -> node it counts on
        self.node_pods: dict[str, dict[str, dict]] = {}
        self.nonmatching: dict[str, dict] = {}  # owned pods the selector no longer matches
        self.records: dict[str, NodeRecord] = {}
        self.dirty_pods: set[str] = set()
        self.dirty_nodes: set[str] = set()
        self.attention: set[str] = set()  # nodes with pods to make or delete
        self.maturing: set[str] = set()
        self.totals = dict.fromkeys(("desired", "current", "misscheduled", "ready", "available", "updated",
                                     "unavailable", "surge", "surge_available"), 0)
        self.replace: dict[str, str] = {}
        self.candidates: dict[str, str] = {}
        self.delete_old: dict[str, str] = {}
        self.allowed_new: set[str] = set()
        self.surge_candidates: set[str] = set()
        self.should_not_run: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"DaemonState({len(self.pods)} pods, {len(self.records)} nodes, {len(self.attention)} need action)"

    def put_pod(self, key: str, pod: dict) -> None:
        self.drop_pod(key)
        self.pods[key] = pod
        if _is_terminal(pod) and pod["metadata"].get("deletionTimestamp"):
            return  # finished and deleted: nothing left to do on its node
        node = target_node_name(pod)
        if node:
            self.pod_node[key] = node
            self.node_pods.setdefault(node, {})[key] = pod
            self.dirty_nodes.add(node)

    def drop_pod(self, key: str) -> None:
        self.pods.pop(key, None)
        self.nonmatching.pop(key, None)
        node = self.pod_node.pop(key, None)
        if node is not None:
            bucket = self.node_pods.get(node)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del self.node_pods[node]
            self.dirty_nodes.add(node)

    def _count(self, rec: NodeRecord, sign: int) -> None:
        t = self.totals
        for f in ("desired", "current", "misscheduled", "ready", "available", "updated", "unavailable",
                  "surge", "surge_available"):
            t[f] += sign * getattr(rec, f)
        name = rec.node
        for table, value in ((self.replace, rec.replace), (self.candidates, rec.candidate),
                             (self.delete_old, rec.delete_old), (self.should_not_run, rec.should_not_run)):
            if value is not None:
                if sign > 0:
                    table[name] = value
                else:
                    table.pop(name, None)
        for members, flag in ((self.allowed_new, rec.allowed_new), (self.surge_candidates, rec.surge_candidate),
                              (self.attention, rec.needs_action), (self.maturing, rec.maturing)):
            if flag:
                if sign > 0:
                    members.add(name)
                else:
                    members.discard(name)

    def put_record(self, name: str, rec: NodeRecord | None) -> None:
        old = self.records.pop(name, None)
        if old is not None:
            self._count(old, -1)
        if rec is not None:
            self.records[name] = rec
            self._count(rec, 1)

    def live_hashes(self) -> set[str]:
        return {pod_hash(p) for p in self.pods.values() if pod_hash(p)}
