"""A scheduler of your own: write ``filter`` and ``score`` in Python, run it beside kube-scheduler.

Kubernetes lets several schedulers share a cluster: a pod names the one it wants
in ``spec.schedulerName`` (``default-scheduler`` when left out), and every scheduler
leaves the other pods alone. A pod that names a scheduler nobody runs stays
``Pending`` for ever, without a single event — nobody is responsible for it.

:class:`SimpleScheduler` is the skeleton of such a second scheduler, shaped like
the real one so the trace reads the same:

* its own client (actor = its name, authenticated as ``system:kube-scheduler``);
* an informer on the *unscheduled* pods that name it
  (``spec.schedulerName=<name>,spec.nodeName=``), one on the nodes, and one on
  the *assigned* pods (to know what runs where);
* a scheduling queue (kube-scheduler's: priority order, back-off, retry after a
  node or pod change);
* one scheduling attempt per pod: ``filter(pod, node)`` on every node, then
  ``score(pod, node)`` on the nodes left; the highest score wins, ties are broken
  at random (seeded); then a ``POST pods/binding``;
* a ``Scheduled`` event (``Successfully assigned default/x to worker-1``), or a
  ``FailedScheduling`` one whose message counts the filter's reasons as
  kube-scheduler does (``0/4 nodes are available: 1 node(s) had untolerated taint
  ..., 3 node(s) were too busy.``) and the ``PodScheduled=False`` condition.

Write a subclass::

    class LeastPods(SimpleScheduler):
        def filter(self, pod, node):
            if node["spec"].get("taints"):
                return "node(s) had taints"       # a reason string: rejected
            return True                             # True (or None): fits
        def score(self, pod, node):
            return -len(self.pods_on(node["metadata"]["name"]))

and run it in a cluster with ``c.add_scheduler(LeastPods("my-scheduler"))``.
``pod`` and ``node`` are the objects as ``kubectl get -o yaml`` shows them (do
not change them). :meth:`SimpleScheduler.pods_on`, :meth:`~SimpleScheduler.requested`
and :func:`allocatable` help to score by load.

Follows the shape of kube-scheduler's ``scheduleOne`` and of the "Configure
Multiple Schedulers" task on kubernetes.io.

Simplifications:

* no preemption, no reservation of nominated nodes, no percentage of nodes to score:
  every node is filtered, and every feasible node scored;
* a filter or score that raises fails the attempt (``FailedScheduling``, back-off), and
  is kept in :attr:`SimpleScheduler.failures`;
* it authenticates as ``system:kube-scheduler`` rather than through its own
  ServiceAccount and ClusterRoleBinding;
* no leader election (the docs' example also runs it with ``leaderElect: false``).

Example
-------
>>> from k8slab.sim import EventLoop, Randomness, Trace
>>> from k8slab.etcd import Etcd
>>> from k8slab.apiserver import APIServer
>>> loop, rng = EventLoop(), Randomness(0)
>>> api = APIServer(Etcd(), loop, Trace(), rng)
>>> admin = api.client("kubectl")
>>> _ = admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
>>> for name, zone in (("a", "east"), ("b", "west")):
...     _ = admin.create({"apiVersion": "v1", "kind": "Node",
...                       "metadata": {"name": name, "labels": {"zone": zone}},
...                       "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})
>>> class West(SimpleScheduler):
...     def filter(self, pod, node):
...         return node["metadata"]["labels"]["zone"] == "west" or "node(s) were not in the west"
>>> s = West("west-scheduler").start(api, loop, rng)
>>> _ = admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
...     "spec": {"schedulerName": "west-scheduler", "containers": [{"name": "c", "image": "nginx"}]}})
>>> _ = loop.run_until_settled()
>>> admin.get("pods", "web", "default")["spec"]["nodeName"]
'b'
>>> s.decisions["default/web"]["rejected"]
{'a': 'node(s) were not in the west'}
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from k8slab.api import errors
from k8slab.api.names import dns1123_subdomain_errors
from k8slab.api.objects import clone, condition
from k8slab.apiserver.events import EventRecorder
from k8slab.apiserver.informer import SharedInformerFactory
from k8slab.apiserver.request import UserInfo
from k8slab.controlplane.scheduler.framework import (
    ALL,
    ASSIGNED_POD_DELETE,
    NODE_ADD,
    ClusterEvent,
    PodInfo,
)
from k8slab.controlplane.scheduler.queue import SchedulingQueue
from k8slab.controlplane.scheduler.resources import pod_requests, resource_list
from k8slab.controlplane.scheduler.runtime import fit_error_message
from k8slab.controlplane.scheduler.scheduler import (
    DEFAULT_SCHEDULER_NAME,
    ERR_NO_NODES_AVAILABLE,
    node_scheduling_properties_change,
    truncate_message,
)
from k8slab.sim.loop import timestamp

#: The reason counted for a node when ``filter`` answers a plain ``False``.
DEFAULT_REJECTION = "node(s) didn't pass the filter"
#: Any change may matter to a learner's filter: a rejected pod is retried after every cluster event.
_ANY_EVENT = ClusterEvent("*", ALL, "Any")
_TERMINAL = "status.phase!=Succeeded,status.phase!=Failed"


def allocatable(node: dict) -> dict[str, int]:
    """What a node offers to pods: ``cpu`` in millicores, ``memory`` in bytes, ``pods`` a count.

    >>> allocatable({"status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})
    {'cpu': 4000, 'memory': 8589934592, 'pods': 110}
    """
    return resource_list((node.get("status") or {}).get("allocatable"))


@dataclass(frozen=True)
class SchedulerFailure:
    """A learner's ``filter`` or ``score`` raised while scheduling a pod."""

    time: float
    scheduler: str
    pod: str
    error: str

    def __str__(self) -> str:
        return f"{self.time:.3f}s {self.scheduler}: scheduling {self.pod} failed: {self.error}"


class SimpleScheduler:
    """Base class of a learner's scheduler: override :meth:`filter` and :meth:`score`.

    Parameters
    ----------
    name : str, optional
        The ``spec.schedulerName`` it serves (default: the class attribute ``name``,
        ``my-scheduler``). It must be a DNS subdomain, as pod validation requires.
    decision_history : int
        How many decisions :attr:`decisions` keeps (the oldest are forgotten).
    """

    name = "my-scheduler"

    def __init__(self, name: str | None = None, *, decision_history: int = 1000):
        if name is not None:
            self.name = name
        problems = dns1123_subdomain_errors(self.name)
        if problems:
            raise ValueError(f"invalid scheduler name {self.name!r}: {'; '.join(problems)}")
        if self.name == DEFAULT_SCHEDULER_NAME:
            raise ValueError(f"{DEFAULT_SCHEDULER_NAME!r} is kube-scheduler's name: choose another one")
        self.decision_history = decision_history
        #: ``namespace/name`` -> what the last attempt found: chosen node, rejections, scores, message
        self.decisions: OrderedDict[str, dict] = OrderedDict()
        self.failures: list[SchedulerFailure] = []
        self.attempts = 0
        self.scheduled = 0
        self.started = False
        self.running = False
        self.client = None
        self._assumed: dict[str, tuple[str, dict]] = {}  # bound by us, not yet seen bound
        self._event = None

    def __repr__(self) -> str:
        pending = len(self.queue) if self.started else 0
        return f"{type(self).__name__}({self.name}: {self.scheduled} scheduled, {pending} pending)"

    # -- what a learner writes ----------------------------------------------------------------
    def filter(self, pod: dict, node: dict) -> bool | str | None:
        """Can ``pod`` run on ``node``? ``True``/``None``: yes; ``False`` or a reason string: no."""
        return True

    def score(self, pod: dict, node: dict) -> int:
        """How good ``node`` is for ``pod`` (any integer; higher is better)."""
        return 0

    # -- helpers for filter and score ----------------------------------------------------------
    def pods_on(self, node_name: str) -> list[dict]:
        """The pods bound to ``node_name`` (and those this scheduler has just bound there)."""
        pods = self._assigned.lister.by_index("byNode", node_name)
        extra = [p for n, p in self._assumed.values() if n == node_name]
        return pods + extra if extra else pods

    def requested(self, node_name: str) -> dict[str, int]:
        """What the pods on ``node_name`` request: ``cpu`` (millicores), ``memory`` (bytes), ``pods``."""
        total = {"cpu": 0, "memory": 0}
        pods = self.pods_on(node_name)
        for p in pods:
            for r, v in pod_requests(p).items():
                total[r] = total.get(r, 0) + v
        total["pods"] = len(pods)
        return total

    # -- running -----------------------------------------------------------------------------------
    def start(self, api, loop, rng, *, events: bool = True) -> SimpleScheduler:
        """Connect to the API server and start scheduling (what ``c.add_scheduler`` calls)."""
        if self.started:
            raise RuntimeError(f"scheduler {self.name} is already running")
        self.loop = loop
        self.client = api.client(self.name, user=UserInfo("system:kube-scheduler", ("system:authenticated",)),
                                 shared_results=True)
        self.recorder = EventRecorder(self.client, self.name, enabled=events)
        self.rng = rng.stream(f"scheduler/{self.name}")
        self.informers = SharedInformerFactory(self.client)
        self.queue = SchedulingQueue(loop, who=self.name, on_active=self._kick,
                                     plugin_events=lambda: {self.name: (_ANY_EVENT,)})
        self._nodes = self.informers.informer("nodes")
        self._nodes.add_event_handler(self._node_added, self._node_updated)
        self._assigned = self.informers.informer("pods", field_selector=f"spec.nodeName!=,{_TERMINAL}")
        self._assigned.add_index("byNode", lambda p: [p["spec"]["nodeName"]])
        self._assigned.add_event_handler(self._assigned_added, None, self._assigned_deleted)
        self._pending = self.informers.informer(
            "pods", field_selector=f"spec.schedulerName={self.name},spec.nodeName=,{_TERMINAL}")
        self._pending.add_event_handler(self._pending_added, self._pending_updated, self._pending_deleted)
        self.started = self.running = True
        self.informers.start()
        return self

    def stop(self) -> None:
        """Stop scheduling: watches close, queued attempts are dropped."""
        if not self.started:
            return
        self.running = False
        self.informers.stop()
        self.loop.cancel(self._event)
        self._event = None
        self.queue.close()

    # -- informer handlers -------------------------------------------------------------------------
    def _node_added(self, node: dict) -> None:
        self.queue.move_all_to_active_or_backoff(NODE_ADD)

    def _node_updated(self, old: dict, new: dict) -> None:
        for event in node_scheduling_properties_change(new, old):
            self.queue.move_all_to_active_or_backoff(event)

    def _assigned_added(self, pod: dict) -> None:
        if self._assumed:
            self._assumed.pop(PodInfo(pod).key, None)

    def _assigned_deleted(self, pod: dict) -> None:
        self.queue.move_all_to_active_or_backoff(ASSIGNED_POD_DELETE)

    def _pending_added(self, pod: dict) -> None:
        self.queue.add(PodInfo(pod))

    def _pending_updated(self, old: dict, new: dict) -> None:
        if old["metadata"].get("resourceVersion") != new["metadata"].get("resourceVersion"):
            self.queue.update(old, PodInfo(new))

    def _pending_deleted(self, pod: dict) -> None:
        # deleted, or bound (it left the "unscheduled" selection)
        self.queue.delete(PodInfo(pod).key)

    # -- the scheduling loop ---------------------------------------------------------------------------
    def _kick(self) -> None:
        if self._event is None and self.running and self.queue.peek_key() is not None:
            self._event = self.loop.call_soon(self._schedule_one, who=self.name,
                                              what=lambda: f"schedule {self.queue.peek_key() or ''}".rstrip())

    def _schedule_one(self) -> None:
        self._event = None
        q = self.queue.pop()
        try:
            if q is not None:
                current = self.loop.current
                if current is not None:
                    current.what = f"schedule {q.key}"
                self._attempt(q)
        finally:
            self._kick()

    def _attempt(self, q) -> None:
        pod = q.info.obj
        if pod["metadata"].get("deletionTimestamp"):
            return
        cycle = self.queue.scheduling_cycle
        self.attempts += 1
        key = q.key
        nodes = sorted(self._nodes.lister.list(), key=lambda n: n["metadata"]["name"])
        decision = {"node": None, "rejected": {}, "scores": {}, "message": ""}
        self._remember(key, decision)
        if not nodes:
            decision["message"] = ERR_NO_NODES_AVAILABLE
            self._failed(q, cycle, "Unschedulable", ERR_NO_NODES_AVAILABLE, error=False)
            return
        feasible, histogram = [], {}
        for node in nodes:
            try:
                verdict = self.filter(pod, node)
            except Exception as exc:  # the learner's code: the attempt fails, the scheduler goes on
                self._learner_error(q, cycle, "filter", exc, decision)
                return
            if isinstance(verdict, str):
                reason = verdict or DEFAULT_REJECTION
            elif verdict is None or verdict:
                feasible.append(node)
                continue
            else:
                reason = DEFAULT_REJECTION
            decision["rejected"][node["metadata"]["name"]] = reason
            histogram[reason] = histogram.get(reason, 0) + 1
        if not feasible:
            decision["message"] = fit_error_message(len(nodes), histogram)
            self._failed(q, cycle, "Unschedulable", decision["message"], error=False)
            return
        scores = decision["scores"]
        for node in feasible:
            try:
                scores[node["metadata"]["name"]] = int(self.score(pod, node))
            except Exception as exc:
                self._learner_error(q, cycle, "score", exc, decision)
                return
        best = max(scores.values())
        tied = [name for name, s in scores.items() if s == best]
        # selectHost: the best-scored nodes are equally likely (seeded, so runs repeat)
        chosen = tied[self.rng.randrange(len(tied))] if len(tied) > 1 else tied[0]
        decision["node"] = chosen
        self._bind(q, cycle, pod, chosen)

    def _remember(self, key: str, decision: dict) -> None:
        self.decisions[key] = decision
        self.decisions.move_to_end(key)
        while len(self.decisions) > self.decision_history:
            self.decisions.popitem(last=False)

    def _learner_error(self, q, cycle: int, what: str, exc: Exception, decision: dict) -> None:
        err = f"{type(exc).__name__}: {exc}"
        self.failures.append(SchedulerFailure(self.loop.now, self.name, q.key, f"{what}: {err}"))
        del self.failures[:-100]
        decision["message"] = f'running "{type(self).__name__}" {what} plugin: {err}'
        self._failed(q, cycle, "SchedulerError", decision["message"], error=True)

    def _bind(self, q, cycle: int, pod: dict, node: str) -> None:
        self._assumed[q.key] = (node, pod)
        try:
            self.client.bind(pod, node)
        except errors.ApiError as e:
            self._assumed.pop(q.key, None)
            self._failed(q, cycle, "SchedulerError", f'running Bind plugin "DefaultBinder": {e.message}',
                         error=True)
            return
        self.scheduled += 1
        m = pod["metadata"]
        self.recorder.event(pod, "Normal", "Scheduled",
                            f"Successfully assigned {m.get('namespace')}/{m.get('name')} to {node}")

    def _failed(self, q, cycle: int, reason: str, message: str, *, error: bool) -> None:
        """Back to the queue (unschedulable, or back-off after an error), an event, the condition."""
        info = q.info
        cached = self._pending.lister.get(info.name, info.namespace)
        if cached is not None:
            q.info = PodInfo(cached)
            q.unschedulable_plugins = set() if error else {self.name}
            self.queue.add_unschedulable_if_not_present(q, cycle)
        self.recorder.event(info.obj, "Warning", "FailedScheduling", truncate_message(message))
        if cached is not None:
            self._set_unschedulable(cached, reason, message)

    def _set_unschedulable(self, pod: dict, reason: str, message: str) -> None:
        cond = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                "lastTransitionTime": timestamp(self.loop.now), "reason": reason, "message": message}
        old = condition(pod, "PodScheduled")
        if old is not None and old.get("status") == "False":
            cond["lastTransitionTime"] = old.get("lastTransitionTime")
        if old is not None and all(old.get(k) == v for k, v in cond.items()):
            return
        new = clone(pod)
        conds = new.setdefault("status", {}).setdefault("conditions", [])
        for i, c in enumerate(conds):
            if c.get("type") == "PodScheduled":
                conds[i] = cond
                break
        else:
            conds.append(cond)
        try:
            self.client.update_status(new)
        except errors.ApiError:
            pass  # a newer version came meanwhile: the next attempt writes it again
