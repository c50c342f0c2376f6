"""kube-scheduler: give every pending pod a node.

One scheduling attempt (``scheduleOne``) is one event on the virtual clock
(``kube-scheduler: schedule default/web-x``):

1. **Pop** the next pod from the scheduling queue (priority, then queue order).
2. **Filter** — run the filter plugins over the nodes. To stay fast on big
   clusters the scheduler stops looking once it has found *enough* feasible
   nodes: ``percentageOfNodesToScore`` (adaptive by default: ``50 - nodes/125``
   percent, at least 5 %, and never fewer than 100 nodes), starting where the
   previous attempt stopped (``nextStartNodeIndex``) so every node gets its turn.
3. **Score** the feasible nodes, weight and add the plugin scores, pick the
   best; equal best scores are broken at random (seeded: the ``scheduler`` stream).
4. **Assume** the pod on that node in the cache, then **bind** it
   (``POST pods/binding``) and record a ``Scheduled`` event. If binding fails the
   assumption is forgotten.
5. If no node fits: try **preemption**, record a ``FailedScheduling`` event
   (``0/4 nodes are available: ...``), set the pod's ``PodScheduled=False``
   condition (reason ``Unschedulable``), and park the pod in the queue until
   something changes.

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> loop, rng = EventLoop(), Randomness(0)
>>> api = APIServer(Etcd(), loop, Trace(), rng)
>>> admin = api.client("kubectl")
>>> _ = admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
>>> sched = Scheduler(api, loop, rng)
>>> sched.start()
>>> for name, cpu in (("small", "1"), ("big", "8")):
...     _ = admin.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
...                       "status": {"allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"}}})
>>> _ = admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
...     "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "2"}}}]}})
>>> _ = loop.run_until_settled()
>>> admin.get("pods", "web", "default")["spec"]["nodeName"]
'big'
>>> sched.explain("web").node("small").reason
'Insufficient cpu'

In a :class:`~k8slab.cluster.Cluster`: ``c.scheduler.explain("web-7d4b9c8f6d-x2x8z")``.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache

import numpy as np

from k8slab.api import errors
from k8slab.api.objects import clone, condition
from k8slab.api.selectors import LabelSelector, selector_from_set
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.informer import SharedInformerFactory
from k8slab.apiserver.request import UserInfo
from k8slab.controlplane.scheduler.cache import SchedulerCache
from k8slab.controlplane.scheduler.explain import Decision, Explanation
from k8slab.controlplane.scheduler.framework import (
    ASSIGNED_POD_ADD,
    ASSIGNED_POD_DELETE,
    ASSIGNED_POD_UPDATE,
    NODE_ADD,
    NODE_ALLOCATABLE_CHANGE,
    NODE_CONDITION_CHANGE,
    NODE_LABEL_CHANGE,
    NODE_SPEC_UNSCHEDULABLE_CHANGE,
    NODE_TAINT_CHANGE,
    CycleState,
    PodInfo,
)
from k8slab.controlplane.scheduler.plugins import default_plugins
from k8slab.controlplane.scheduler.plugins.interpodaffinity import terms_of
from k8slab.controlplane.scheduler.plugins.nodeaffinity import RequiredNodeAffinity
from k8slab.controlplane.scheduler.plugins.nodeports import port_conflict
from k8slab.controlplane.scheduler.plugins.noderesources import NodeResourcesFit
from k8slab.controlplane.scheduler.plugins.tainttoleration import find_untolerated_taint
from k8slab.controlplane.scheduler.preemption import DefaultPreemption
from k8slab.controlplane.scheduler.queue import SchedulingQueue
from k8slab.controlplane.scheduler.runtime import Framework, fit_error_message
from k8slab.sim.loop import timestamp

DEFAULT_SCHEDULER_NAME = "default-scheduler"
#: Fewest nodes to look at before stopping early (``minFeasibleNodesToFind``).
MIN_FEASIBLE_NODES_TO_FIND = 100
#: Lowest adaptive percentage of nodes to look at (``minFeasibleNodesPercentageToFind``).
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
#: Error when the cluster has no node at all (``ErrNoNodesAvailable``).
ERR_NO_NODES_AVAILABLE = "no nodes available to schedule pods"
#: Longest event message (``truncateMessage``).
MAX_MESSAGE_LENGTH = 1024
#: Terminal pods are not the scheduler's concern: its pod informer does not even see them.
POD_FIELD_SELECTOR = "status.phase!=Succeeded,status.phase!=Failed"

_FIT = NodeResourcesFit()


@lru_cache(maxsize=256)
def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes to find before scoring (``numFeasibleNodesToFind``).

    >>> num_feasible_nodes_to_find(50), num_feasible_nodes_to_find(1000), num_feasible_nodes_to_find(5000)
    (50, 420, 500)
    """
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    num = num_all_nodes * percentage // 100
    return max(num, MIN_FEASIBLE_NODES_TO_FIND)


def truncate_message(message: str) -> str:
    if len(message) <= MAX_MESSAGE_LENGTH:
        return message
    return message[: MAX_MESSAGE_LENGTH - 4] + " ..."


def _is_assigned(pod: dict) -> bool:
    return bool((pod.get("spec") or {}).get("nodeName"))


def _conditions_of(node: dict) -> dict:
    return {c.get("type"): c.get("status") for c in (node.get("status") or {}).get("conditions") or ()}


def node_scheduling_properties_change(new: dict, old: dict) -> list:
    """The cluster events a node update amounts to (``nodeSchedulingPropertiesChange``)."""
    events = []
    ns, os_ = new.get("spec") or {}, old.get("spec") or {}
    if bool(ns.get("unschedulable")) != bool(os_.get("unschedulable")):
        events.append(NODE_SPEC_UNSCHEDULABLE_CHANGE)
    if (new.get("status") or {}).get("allocatable") != (old.get("status") or {}).get("allocatable"):
        events.append(NODE_ALLOCATABLE_CHANGE)
    if (new["metadata"].get("labels") or {}) != (old["metadata"].get("labels") or {}):
        events.append(NODE_LABEL_CHANGE)
    if (ns.get("taints") or []) != (os_.get("taints") or []):
        events.append(NODE_TAINT_CHANGE)
    if _conditions_of(new) != _conditions_of(old):
        events.append(NODE_CONDITION_CHANGE)
    return events


class ScheduleResult:
    __slots__ = ("node", "slot", "evaluated", "feasible")

    def __init__(self, node, slot, evaluated, feasible):
        self.node, self.slot, self.evaluated, self.feasible = node, slot, evaluated, feasible


class Scheduler:
    """The simulated kube-scheduler (one profile). See the module docstring.

    Parameters
    ----------
    api, loop, rng
        The API server, the event loop and the cluster's :class:`~k8slab.sim.rng.Randomness`.
    events : bool
        Record ``Scheduled`` / ``FailedScheduling`` events.
    scheduler_name : str
        The ``spec.schedulerName`` this scheduler serves; other pods are ignored.
    plugins : list, optional
        The profile's plugins, in order (default: v1.30's default profile).
    percentage_of_nodes_to_score : int
        0 = adaptive (the default), else a fixed percentage.
    preemption : bool
        Whether the DefaultPreemption PostFilter runs.
    decision_history : int
        How many recorded decisions ``explain()`` keeps (the oldest are forgotten).
    actor : str, optional
        Its name in the trace (default ``kube-scheduler``, or the scheduler name for another one);
        replicas of a highly available control plane add their host.
    """

    def __init__(self, api, loop, rng, events: bool = True, *, scheduler_name: str = DEFAULT_SCHEDULER_NAME,
                 plugins: list | None = None, percentage_of_nodes_to_score: int = 0, preemption: bool = True,
                 decision_history: int = 1000, actor: str | None = None):
        self.api = api
        self.loop = loop
        self.scheduler_name = scheduler_name
        if actor is None:
            actor = "kube-scheduler" if scheduler_name == DEFAULT_SCHEDULER_NAME else scheduler_name
        self.name = actor
        self.client = api.client(actor, user=UserInfo("system:kube-scheduler", ("system:authenticated",)),
                                 shared_results=True)
        self.informers = SharedInformerFactory(self.client)
        self.recorder = EventRecorder(self.client, scheduler_name, enabled=events)
        self.rng = rng.stream("scheduler")
        self.cache = SchedulerCache()
        self.framework = Framework([], self.cache, handle=self)
        for p in plugins if plugins is not None else default_plugins():
            self.framework.add_plugin(p)
        self.preemption = DefaultPreemption(self) if preemption else None
        self.queue = SchedulingQueue(loop, who=actor, on_active=self._kick, plugin_events=self._plugin_events)
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        self.next_start_node_index = 0
        self.decision_history = decision_history
        self.decisions: OrderedDict[str, Decision] = OrderedDict()
        self.nominated: dict[str, tuple[str, PodInfo]] = {}
        self.attempts = 0
        self.scheduled = 0
        self.failed = 0
        self._event = None
        self._selector_generation = 0
        self._default_selectors: dict[tuple, tuple[int, LabelSelector]] = {}
        self.started = False
        self.running = False  # the scheduling loop runs (a standby replica only fills its cache)

    def __repr__(self) -> str:
        return (f"Scheduler({self.scheduler_name}: {self.scheduled} scheduled, {len(self.queue)} pending; "
                f"{self.queue!r})")

    # -- plugins ------------------------------------------------------------------------------
    @property
    def plugins(self) -> list:
        return list(self.framework.plugins)

    def add_plugin(self, plugin, *, before: str | None = None) -> None:
        """Add a learner's plugin to the profile (see :mod:`k8slab.controlplane.scheduler.framework`)."""
        self.framework.add_plugin(plugin, before=before)

    def _plugin_events(self) -> dict:
        return {p.name: tuple(p.events) for p in self.framework.plugins}

    # -- start-up -----------------------------------------------------------------------------------
    def start(self, *, run: bool = True) -> None:
        """Open the informers (pods, nodes, and what the default spreading needs) and start scheduling.

        With ``run=False`` the scheduler only fills its cache and queue, and schedules nothing
        until :meth:`run`: what a replica waiting for the leader lease does (kube-scheduler
        starts its informers before leader election, and ``sched.Run`` once it leads).
        """
        if self.started:
            return
        self.started = True
        self.running = run
        nodes = self.informers.informer("nodes")
        nodes.add_event_handler(self._add_node, self._update_node, self._delete_node)
        pods = self.informers.informer("pods", field_selector=POD_FIELD_SELECTOR)
        pods.add_event_handler(self._add_pod, self._update_pod, self._delete_pod)
        for resource in ("services", "replicasets", "statefulsets"):
            if self.api.kinds.resolve(resource) is not None:
                self.informers.informer(resource).add_event_handler(
                    self._selector_source_changed, self._selector_source_updated, self._selector_source_changed)
        # Nodes first, so the pods already bound find their nodes in the cache.
        nodes.start()
        self.informers.start()

    def run(self) -> None:
        """Start the scheduling loop (``sched.Run``): the queue's tickers and ``scheduleOne``."""
        if self.running:
            return
        self.running = True
        self.queue.start = self.loop.now  # its flush tickers start now
        self._kick()

    def stop(self) -> None:
        """The process exits: watches close, no more attempts or queue timers."""
        self.running = False
        self.informers.stop()
        self.loop.cancel(self._event)
        self._event = None
        self.queue.close()

    def _pod_lister(self):
        return self.informers.informer("pods", field_selector=POD_FIELD_SELECTOR).lister

    # -- event handlers (eventhandlers.go) ------------------------------------------------------------
    def responsible_for(self, pod: dict) -> bool:
        return ((pod.get("spec") or {}).get("schedulerName") or DEFAULT_SCHEDULER_NAME) == self.scheduler_name

    def _add_node(self, node: dict) -> None:
        self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff(NODE_ADD, self._pre_check_for_node(node))

    def _update_node(self, old: dict, new: dict) -> None:
        self.cache.update_node(old, new)
        for event in node_scheduling_properties_change(new, old):
            self.queue.move_all_to_active_or_backoff(event, self._pre_check_for_node(new))

    def _delete_node(self, node: dict) -> None:
        self.cache.remove_node(node)

    def _pre_check_for_node(self, node: dict):
        # preCheckForNode: only move pods that would pass the basic checks on this node.
        name = node["metadata"]["name"]
        memo = {}

        def check(info: PodInfo) -> bool:
            ni = memo.get("ni")
            if ni is None:
                slot = self.cache.slot_of.get(name)
                if slot is None:
                    return False
                ni = memo["ni"] = self.cache.node_info(slot)
            if _FIT.filter(None, info, ni) is not None:
                return False
            if not RequiredNodeAffinity.of(info.spec).match(node):
                return False
            if info.node_name and info.node_name != name:
                return False
            if info.host_ports and any(port_conflict(ni.used_ports, p) for p in info.host_ports):
                return False
            return find_untolerated_taint(ni.taints, info.tolerations, effects=("NoSchedule",)) is None

        return check

    def _add_pod(self, pod: dict) -> None:
        if _is_assigned(pod):
            self.cache.add_pod(pod)
            self._nominated_bound(pod)
            self._assigned_pod_changed(pod, ASSIGNED_POD_ADD)
        elif self.responsible_for(pod):
            info = PodInfo(pod)
            self._track_nomination(info)
            self.queue.add(info)

    def _update_pod(self, old: dict, new: dict) -> None:
        if _is_assigned(new):
            if _is_assigned(old):
                self.cache.update_pod(old, new)
                self._assigned_pod_changed(new, ASSIGNED_POD_UPDATE)
            else:
                # It left the "unscheduled" view: out of the queue, into the cache (confirming our assumption).
                m = new["metadata"]
                self.queue.delete(f"{m.get('namespace') or 'default'}/{m['name']}")
                self.cache.add_pod(new)
                self._nominated_bound(new)
                self._assigned_pod_changed(new, ASSIGNED_POD_ADD)
            return
        if not self.responsible_for(new):
            return
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        info = PodInfo(new)
        if self.cache.is_assumed(info.key):
            return
        self._track_nomination(info)
        self.queue.update(old, info)

    def _assigned_pod_changed(self, pod: dict, event) -> None:
        """``AssignedPodAdded`` / ``AssignedPodUpdated``: retry the unschedulable pods whose required
        pod affinity selects this pod (``getUnschedulablePodsWithMatchingAffinityTerm``)."""
        waiting = self.queue.waiting_for_pod_affinity()
        if not waiting:
            return
        m = pod["metadata"]
        ns, labels = m.get("namespace") or "default", m.get("labels") or {}
        ns_labels = None
        moved = []
        for q in waiting:
            for t in terms_of(q.info).required:
                if ns not in t.namespaces and not t.ns_selector.nothing and ns_labels is None:
                    obj = self.informers.informer("namespaces")
                    if not obj.running:
                        obj.start()
                    ns_labels = ((obj.lister.get(ns) or {}).get("metadata") or {}).get("labels") or {}
                if t.matches(ns, labels, ns_labels):
                    moved.append(q)
                    break
        if moved:
            self.queue.move_pods(moved, event)

    def _delete_pod(self, pod: dict) -> None:
        if _is_assigned(pod):
            self.cache.remove_pod(pod)
            self.queue.move_all_to_active_or_backoff(ASSIGNED_POD_DELETE)
        else:
            key = PodInfo(pod).key
            self.queue.delete(key)
            self.nominated.pop(key, None)

    def _selector_source_changed(self, obj: dict) -> None:
        self._selector_generation += 1

    def _selector_source_updated(self, old: dict, new: dict) -> None:
        if (old.get("spec") or {}).get("selector") != (new.get("spec") or {}).get("selector"):
            self._selector_generation += 1

    # -- nominated pods (preemption) -------------------------------------------------------------------
    def _track_nomination(self, info: PodInfo) -> None:
        nnn = (info.obj.get("status") or {}).get("nominatedNodeName")
        if nnn:
            self.nominated[info.key] = (nnn, info)
        else:
            self.nominated.pop(info.key, None)

    def _nominated_bound(self, pod: dict) -> None:
        if self.nominated:
            self.nominated.pop(f"{pod['metadata'].get('namespace') or 'default'}/{pod['metadata']['name']}", None)

    def _reserve_nominated(self, pod: PodInfo, sign: int) -> None:
        # Filters see the pods nominated to a node (of at least this priority) as if already there.
        cache = self.cache
        for key, (node_name, info) in self.nominated.items():
            if key == pod.key or info.priority < pod.priority:
                continue
            slot = cache.slot_of.get(node_name)
            if slot is not None:
                cache.adjust(slot, {r: sign * v for r, v in info.requests.items()}, sign)

    @property
    def selector_generation(self) -> int:
        """Bumped when a Service, ReplicaSet or StatefulSet selector changes (default spreading)."""
        return self._selector_generation

    # -- default spreading selector ---------------------------------------------------------------------
    def default_selector(self, pod: PodInfo) -> LabelSelector:
        """``helper.DefaultSelector``: the selectors of the Services and the controller that select the pod."""
        key = (pod.namespace, pod.owner, tuple(sorted(pod.labels.items())))
        hit = self._default_selectors.get(key)
        if hit is not None and hit[0] == self._selector_generation:
            return hit[1]
        merged: dict[str, str] = {}
        if self.api.kinds.resolve("services") is not None:
            for svc in self.informers.informer("services").lister.list(pod.namespace):
                sel = (svc.get("spec") or {}).get("selector")
                if sel is None:
                    continue
                if all(pod.labels.get(k) == v for k, v in sel.items()):
                    merged.update(sel)
        selector = selector_from_set(merged)
        if pod.owner is not None:
            api_version, kind, name = pod.owner
            resource = {("apps/v1", "ReplicaSet"): "replicasets", ("apps/v1", "StatefulSet"): "statefulsets"}.get(
                (api_version, kind))
            if resource is not None:
                owner = self.informers.informer(resource).lister.get(name, pod.namespace)
                if owner is not None:
                    try:
                        other = LabelSelector.from_dict((owner.get("spec") or {}).get("selector") or {})
                        selector = LabelSelector(list(selector.requirements) + list(other.requirements))
                    except (ValueError, TypeError, AttributeError):
                        pass
        self._default_selectors[key] = (self._selector_generation, selector)
        if len(self._default_selectors) > 4096:
            self._default_selectors.pop(next(iter(self._default_selectors)))
        return selector

    # -- the scheduling loop ------------------------------------------------------------------------------
    def _kick(self) -> None:
        if self._event is None and self.running and self.queue.peek_key() is not None:
            self._event = self.loop.call_soon(self._schedule_one, who=self.name,
                                              what=lambda: f"schedule {self.queue.peek_key() or ''}".rstrip())

    def _schedule_one(self) -> None:
        """One scheduling attempt (``ScheduleOne``)."""
        self._event = None
        q = self.queue.pop()
        current = self.loop.current
        if current is not None and q is not None:
            current.what = f"schedule {q.key}"  # the event's story names the pod it tried, for good
        if q is not None:
            try:
                self._attempt(q)
            finally:
                self._kick()
        else:
            self._kick()

    def _attempt(self, q) -> None:
        info = q.info
        if info.obj["metadata"].get("deletionTimestamp") or self.cache.is_assumed(info.key):
            return  # skipPodSchedule
        cycle = self.queue.scheduling_cycle
        self.attempts += 1
        state = CycleState()
        cache = self.cache
        if cache.num_nodes == 0:
            self._failed(q, cycle, "Unschedulable", ERR_NO_NODES_AVAILABLE, set(), nominate="")
            return
        result, fr, decision = self._schedule_pod(state, info)
        if result is not None:
            self._remember(decision)
            self._bind(q, info, result.node)
            return
        # No node fits: diagnose, then try preemption.
        slots = cache.order
        hist, plugins, unresolvable = fr.diagnose(slots)
        post_msg, nominate = "", None
        if self.preemption is not None:
            candidate, post_msg = self.preemption.post_filter(self.framework, state, info, fr, slots, unresolvable)
            if candidate is not None:
                self._preempt(info, candidate)
                nominate = candidate.name
            elif info.preemption_policy != "Never":
                nominate = ""
        pre = fr.pre_filter_status.message if fr.pre_filter_status is not None else ""
        message = fit_error_message(fr.num_nodes, hist, pre, post_msg)
        decision.message = message
        self._remember(decision)
        self._failed(q, cycle, "Unschedulable", message, plugins, nominate=nominate)

    def _schedule_pod(self, state: CycleState, info: PodInfo, *, sample: bool = True):
        """Filter, sample, score, select (``schedulePod``). Returns (result or None, filters, decision)."""
        cache = self.cache
        if self.nominated:
            self._reserve_nominated(info, +1)
        try:
            fr = self.framework.run_filters(state, info)
        finally:
            if self.nominated:
                self._reserve_nominated(info, -1)
        order = cache.order
        n = len(order)
        names = cache.names_snapshot
        if fr.pre_filter_status is not None:
            d = Decision(info.key, info.uid, self.loop.now, names, order, [], order[:0], [], None, None, "",
                         n, (fr.pre_filter_status.plugin, fr.pre_filter_status), cache.order_names)
            return None, fr, d
        # A pod nominated by an earlier preemption tries its nominated node first.
        nnn = (info.obj.get("status") or {}).get("nominatedNodeName")
        nslot = cache.slot_of.get(nnn) if nnn else None
        if sample and nslot is not None and fr.feasible[nslot]:
            processed = np.array([nslot], dtype=np.intp)
            feasible = processed
        elif sample:
            start = self.next_start_node_index % n
            rot = np.concatenate((order[start:], order[:start]))
            pos = np.flatnonzero(fr.feasible[rot])  # feasible positions, in the order nodes are checked
            want = num_feasible_nodes_to_find(n, self.percentage_of_nodes_to_score)
            # Nodes are checked one by one until `want` feasible ones are found (or all were checked).
            count = int(pos[want - 1]) + 1 if len(pos) >= want else n
            self.next_start_node_index = (start + count) % n
            processed = rot[:count]
            feasible = rot[pos[:want]]
        else:
            processed = order
            feasible = order[fr.feasible[order]]
        rejections = fr.rejections
        if len(feasible) == 0:
            d = Decision(info.key, info.uid, self.loop.now, names, processed, rejections, feasible, [], None, None,
                         "", n, None, cache.order_names)
            return None, fr, d
        if len(feasible) == 1:
            slot = int(feasible[0])
            d = Decision(info.key, info.uid, self.loop.now, names, processed, rejections, feasible[:0], [], None,
                         names[slot], "", n, None, cache.order_names)
            return ScheduleResult(names[slot], slot, len(processed), 1), fr, d
        scores, total = self.framework.run_scores(state, info, feasible)
        best = total.max()
        ties = np.flatnonzero(total == best)
        # selectHost: every node with the top score is equally likely (reservoir sampling, one draw here)
        if not sample:
            pick = int(ties[0])  # explain() draws no random number (it names ties itself)
        else:
            pick = int(ties[self.rng.randrange(len(ties))]) if len(ties) > 1 else int(ties[0])
        slot = int(feasible[pick])
        table = [(p.name, p.weight, raw, norm) for p, raw, norm in scores]
        d = Decision(info.key, info.uid, self.loop.now, names, processed, rejections, feasible, table, total,
                     names[slot], "", n, None, cache.order_names)
        return ScheduleResult(names[slot], slot, len(processed), len(feasible)), fr, d

    def _remember(self, decision: Decision) -> None:
        self.decisions[decision.key] = decision
        self.decisions.move_to_end(decision.key)
        while len(self.decisions) > self.decision_history:
            self.decisions.popitem(last=False)

    # -- binding cycle -------------------------------------------------------------------------------------
    def _bind(self, q, info: PodInfo, node: str) -> None:
        cycle = self.queue.scheduling_cycle
        self.cache.assume_pod(info, node)
        try:
            self.client.bind(info.obj, node)
        except errors.ApiError as e:
            self.cache.forget_pod(info.key)
            # Avoid moving the assumed pod itself: it would only fail again.
            self.queue.move_all_to_active_or_backoff(ASSIGNED_POD_DELETE)
            self._failed(q, cycle, "SchedulerError", f'running Bind plugin "DefaultBinder": {e.message}', set(),
                         nominate=None)
            return
        self.scheduled += 1
        self.nominated.pop(info.key, None)
        m = info.obj["metadata"]
        self.recorder.event(info.obj, "Normal", "Scheduled",
                            f"Successfully assigned {m.get('namespace')}/{m.get('name')} to {node}")

    def _failed(self, q, cycle: int, reason: str, message: str, plugins: set, *, nominate) -> None:
        """``handleSchedulingFailure``: back to the queue, an event, the PodScheduled condition."""
        self.failed += 1
        info = q.info
        cached = self._pod_lister().get(info.name, info.namespace)
        if cached is not None and not _is_assigned(cached):
            q.info = PodInfo(cached)
            q.unschedulable_plugins = set(plugins)
            self.queue.add_unschedulable_if_not_present(q, cycle)
        if nominate is not None:
            if nominate:
                self.nominated[info.key] = (nominate, q.info)
            else:
                self.nominated.pop(info.key, None)
        self.recorder.event(info.obj, "Warning", "FailedScheduling", truncate_message(message))
        if cached is not None:
            self._update_pod_condition(cached, reason, message, nominate)

    def _update_pod_condition(self, pod: dict, reason: str, message: str, nominate) -> None:
        for attempt in range(2):
            cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                    "lastTransitionTime": timestamp(self.loop.now), "reason": reason, "message": message}
            old = condition(pod, "PodScheduled")
            status = pod.get("status") or {}
            if old is not None and old.get("status") == "False":
                cond["lastTransitionTime"] = old.get("lastTransitionTime")
            changed = old is None or any(old.get(k) != cond[k] for k in cond)
            nnn_change = nominate is not None and (status.get("nominatedNodeName") or "") != nominate
            if not changed and not nnn_change:
                return
            new = clone(pod)
            st = new.setdefault("status", {})
            conds = st.setdefault("conditions", [])
            for i, c in enumerate(conds):
                if c.get("type") == "PodScheduled":
                    conds[i] = cond
                    break
            else:
                conds.append(cond)
            if nnn_change:
                if nominate:
                    st["nominatedNodeName"] = nominate
                else:
                    st.pop("nominatedNodeName", None)
            try:
                self.client.update_status(new)
                return
            except errors.Conflict:
                if attempt:
                    return
                try:
                    pod = self.client.get("pods", pod["metadata"]["name"], pod["metadata"].get("namespace"))
                except errors.ApiError:
                    return
                if _is_assigned(pod):
                    return
            except errors.ApiError:
                return

    def _preempt(self, pod: PodInfo, candidate) -> None:
        """Evict the victims (``prepareCandidate``): DisruptionTarget condition, then delete."""
        for victim in candidate.victims:
            obj = victim.obj
            m = obj["metadata"]
            try:
                new = clone(obj)
                conds = new.setdefault("status", {}).setdefault("conditions", [])
                conds[:] = [c for c in conds if c.get("type") != "DisruptionTarget"]
                conds.append({"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                              "lastTransitionTime": timestamp(self.loop.now), "reason": "PreemptionByScheduler",
                              "message": f"{self.scheduler_name}: preempting to accommodate a higher priority pod"})
                self.client.update_status(new)
            except errors.ApiError:
                pass
            try:
                self.client.delete("pods", m["name"], m.get("namespace"))
            except errors.ApiError:
                continue
            self.recorder.event(obj, "Normal", "Preempted",
                                f"Preempted by pod {pod.uid} on node {candidate.name}")

    # -- explain ----------------------------------------------------------------------------------------------
    def explain(self, pod_name: str, namespace: str = "default") -> Explanation:
        """Why ``pod_name`` is where it is: per node, the filter that rejected it or the scores it got.

        A bound pod shows the decision recorded when it was scheduled (the last
        ``decision_history`` decisions are kept); a pending pod is evaluated again now,
        against every node, without changing anything.
        """
        pod = self._pod_lister().get(pod_name, namespace)
        if pod is None:
            try:
                pod = self.client.get("pods", pod_name, namespace)
            except errors.NotFound:
                raise errors.NotFound("pods", pod_name) from None
        key = f"{namespace}/{pod_name}"
        uid = pod["metadata"].get("uid")
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            d = self.decisions.get(key)
            if d is not None and d.uid == uid and d.chosen == node:
                return d.explanation(key, recorded=True)
            why = ("it was bound by someone else (spec.nodeName set at creation, or another scheduler)"
                   if d is None or d.uid != uid else "its decision is no longer kept")
            return Explanation(key, [], node, "", time=self.loop.now, recorded=True, plugins=[], evaluated=0,
                               feasible=0, num_nodes=self.cache.num_nodes,
                               note=f"Running on {node}; no scheduling decision recorded: {why}.")
        note = ""
        if not self.responsible_for(pod):
            note = (f"Note: spec.schedulerName is {pod['spec'].get('schedulerName')!r}; "
                    f"this scheduler ({self.scheduler_name}) does not schedule it.")
        return self._evaluate(PodInfo(pod), note)

    def _evaluate(self, info: PodInfo, note: str) -> Explanation:
        state = CycleState()
        if self.cache.num_nodes == 0:
            return Explanation(info.key, [], None, ERR_NO_NODES_AVAILABLE, time=self.loop.now, recorded=False,
                               plugins=[], evaluated=0, feasible=0, num_nodes=0, note=note)
        _res, fr, d = self._schedule_pod(state, info, sample=False)
        if len(d.scored) == 0 and d.chosen is None:
            hist, _plugins, unresolvable = fr.diagnose(self.cache.order)
            post = ""
            if self.preemption is not None:
                candidate, post = self.preemption.post_filter(self.framework, state, info, fr, self.cache.order,
                                                              unresolvable)
                if candidate is not None:
                    extra = (f"Preemption would evict {', '.join(v.key for v in candidate.victims)} "
                             f"on {candidate.name}.")
                    note = f"{note}\n{extra}" if note else extra
            pre = fr.pre_filter_status.message if fr.pre_filter_status is not None else ""
            d.message = fit_error_message(fr.num_nodes, hist, pre, post)
        elif len(d.scored) > 1:
            # explain() draws no random number: among equal best scores it names the first by name.
            best = d.total.max()
            tied = sorted(d.names[int(s)] for s, t in zip(d.scored, d.total, strict=True) if t == best)
            d.chosen = tied[0]
            if len(tied) > 1:
                extra = f"Tie at {int(best)} between {', '.join(tied)}: the scheduler picks one at random."
                note = f"{note}\n{extra}" if note else extra
        return d.explanation(info.key, recorded=False, note=note)
