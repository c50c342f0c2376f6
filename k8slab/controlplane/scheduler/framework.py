"""The scheduling framework: the plugin interface and what plugins see.

kube-scheduler is a pipeline of *extension points*, each served by plugins
(``pkg/scheduler/framework``)::

    QueueSort → PreFilter → Filter → PostFilter (preemption) → PreScore → Score
    → NormalizeScore → Reserve → Permit → PreBind → Bind → PostBind

k8slab keeps the ones that decide *where* a pod goes: **Filter** plugins reject
nodes (each with a reason that ends up in the ``FailedScheduling`` event),
**Score** plugins rate the nodes left (0–100 after normalisation), and the
weighted sum picks the node.

Writing a plugin
----------------
Subclass :class:`FilterPlugin` and/or :class:`ScorePlugin`, give it a ``name``
(and a ``weight`` for scoring), and implement the per-node method. A plugin
may also declare the cluster ``events`` after which a pod it rejected should be
retried (``EventsToRegister``).

>>> class NeedsSSD(FilterPlugin):
...     name = "NeedsSSD"
...     events = (NODE_ADD, NODE_UPDATE)
...     def filter(self, state, pod, node):
...         if node.labels.get("disk") != "ssd":
...             return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) had no SSD")
>>> class PreferBig(ScorePlugin):
...     name = "PreferBig"
...     weight = 2
...     def score(self, state, pod, node):
...         return min(100, node.allocatable.get("cpu", 0) // 100)

Register it with ``c.scheduler.add_plugin(NeedsSSD())`` (filters run in the
order added, after the built-in ones unless ``before="..."`` is given).
``pod`` is a :class:`PodInfo` (``pod.obj`` is the Pod dict), ``node`` a
:class:`NodeInfo` (``node.obj``, ``node.labels``, ``node.allocatable``,
``node.requested``, ``node.pods``). ``self.handle`` is the scheduler (its
``cache``, ``informers`` and ``client``), set when the plugin is added.

Built-in plugins additionally implement vectorised ``filter_nodes`` /
``score_nodes`` over numpy arrays of all nodes (see
:mod:`k8slab.controlplane.scheduler.cache`); a learner's plugin does not have
to, the framework then calls the per-node method for each node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from k8slab.api.objects import is_terminating
from k8slab.controlplane.scheduler.resources import non_zero_requests, pod_requests

#: The highest score a plugin may give a node (``framework.MaxNodeScore``).
MAX_NODE_SCORE = 100

# -- status codes (framework.Code) --------------------------------------------------------
SUCCESS = "Success"
ERROR = "Error"
#: The node does not fit now, but might after preemption (removing lower-priority pods).
UNSCHEDULABLE = "Unschedulable"
#: The node does not fit and preemption cannot change that (a taint, a label).
UNSCHEDULABLE_AND_UNRESOLVABLE = "UnschedulableAndUnresolvable"
#: The plugin has nothing to say about this pod (PreFilter/PreScore), its Filter/Score is skipped.
SKIP = "Skip"


class Status:
    """A plugin's verdict: a code and the reasons (``framework.Status``).

    >>> Status(UNSCHEDULABLE, "Insufficient cpu", "Insufficient memory").message
    'Insufficient cpu, Insufficient memory'
    """

    __slots__ = ("code", "reasons", "plugin")

    def __init__(self, code: str = SUCCESS, *reasons: str, plugin: str | None = None):
        self.code = code
        self.reasons = tuple(reasons)
        self.plugin = plugin

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    def is_success(self) -> bool:
        return self.code == SUCCESS

    def is_rejected(self) -> bool:
        return self.code in (UNSCHEDULABLE, UNSCHEDULABLE_AND_UNRESOLVABLE)

    def __eq__(self, other) -> bool:
        return isinstance(other, Status) and (self.code, self.reasons) == (other.code, other.reasons)

    def __hash__(self) -> int:
        return hash((self.code, self.reasons))

    def __repr__(self) -> str:
        return f"Status({self.code}{': ' + self.message if self.reasons else ''})"


def as_status(result) -> Status | None:
    """A plugin may return ``None`` (fits), a reason string (Unschedulable) or a :class:`Status`."""
    if result is None:
        return None
    if isinstance(result, str):
        return Status(UNSCHEDULABLE, result)
    if isinstance(result, Status) and result.code == SUCCESS:
        return None
    return result


# -- cluster events (framework.ClusterEvent) ---------------------------------------------
ADD = 1
DELETE = 1 << 1
UPDATE_NODE_ALLOCATABLE = 1 << 2
UPDATE_NODE_LABEL = 1 << 3
UPDATE_NODE_TAINT = 1 << 4
UPDATE_NODE_CONDITION = 1 << 5
UPDATE_NODE_ANNOTATION = 1 << 6
UPDATE_POD_LABEL = 1 << 7
UPDATE = (UPDATE_NODE_ALLOCATABLE | UPDATE_NODE_LABEL | UPDATE_NODE_TAINT | UPDATE_NODE_CONDITION
          | UPDATE_NODE_ANNOTATION | UPDATE_POD_LABEL)
ALL = ADD | DELETE | UPDATE


@dataclass(frozen=True)
class ClusterEvent:
    """Something that changed in the cluster and may make a rejected pod fit (``framework.ClusterEvent``)."""

    resource: str  # "Node", "Pod" or "*"
    action: int
    label: str = ""

    def matches(self, incoming: ClusterEvent) -> bool:
        """Whether a plugin registered for ``self`` cares about ``incoming``."""
        if self.resource == "*" and self.action == ALL:
            return True
        return self.resource in ("*", incoming.resource) and bool(self.action & incoming.action)

    def __str__(self) -> str:
        return self.label or f"{self.resource}/{self.action}"


NODE_ADD = ClusterEvent("Node", ADD, "NodeAdd")
NODE_DELETE = ClusterEvent("Node", DELETE, "NodeDelete")
NODE_UPDATE = ClusterEvent("Node", UPDATE, "NodeUpdate")
NODE_SPEC_UNSCHEDULABLE_CHANGE = ClusterEvent("Node", UPDATE_NODE_TAINT, "NodeSpecUnschedulableChange")
NODE_ALLOCATABLE_CHANGE = ClusterEvent("Node", UPDATE_NODE_ALLOCATABLE, "NodeAllocatableChange")
NODE_LABEL_CHANGE = ClusterEvent("Node", UPDATE_NODE_LABEL, "NodeLabelChange")
NODE_TAINT_CHANGE = ClusterEvent("Node", UPDATE_NODE_TAINT, "NodeTaintChange")
NODE_CONDITION_CHANGE = ClusterEvent("Node", UPDATE_NODE_CONDITION, "NodeConditionChange")
NODE_ANNOTATION_CHANGE = ClusterEvent("Node", UPDATE_NODE_ANNOTATION, "NodeAnnotationChange")
ASSIGNED_POD_ADD = ClusterEvent("Pod", ADD, "AssignedPodAdd")
ASSIGNED_POD_UPDATE = ClusterEvent("Pod", UPDATE, "AssignedPodUpdate")
ASSIGNED_POD_DELETE = ClusterEvent("Pod", DELETE, "AssignedPodDelete")
POD_DELETE = ClusterEvent("Pod", DELETE, "PodDelete")
#: A pod stayed in unschedulablePods longer than podMaxInUnschedulablePodsDuration.
UNSCHEDULABLE_TIMEOUT = ClusterEvent("*", ALL, "UnschedulableTimeout")


# -- what plugins see -----------------------------------------------------------------------
def normalized_image_name(name: str) -> str:
    """``nginx`` → ``nginx:latest`` (ImageLocality's ``normalizedImageName``)."""
    if name.rfind(":") <= name.rfind("/"):
        name += ":latest"
    return name


def _canon(obj) -> str:
    # A cache key, not a normal form: pods made from one template print identically (repr is
    # several times faster than json.dumps; two spellings of one spec only cost a second entry).
    return repr(obj) if obj else ""


class PodInfo:
    """The scheduler's view of one pod (``framework.PodInfo``), computed once per pod version.

    ``obj`` is the pod dict (shared: do not change it). The attributes are what the
    plugins need, parsed once: requests, tolerations, node selector, ports, images.
    """

    __slots__ = (
        "obj", "key", "name", "namespace", "uid", "labels", "priority", "requests", "non_zero",
        "host_ports", "tolerations", "node_name", "node_selector", "affinity", "images",
        "num_containers", "spread_constraints", "owner", "preemption_policy", "scheduler_name",
        "_static_keys", "memo",
    )

    def __init__(self, pod: dict):
        m = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        self.obj = pod
        self.name = m.get("name", "")
        self.namespace = m.get("namespace") or "default"
        self.key = f"{self.namespace}/{self.name}"
        self.uid = m.get("uid", "")
        self.labels = m.get("labels") or {}
        self.priority = int(spec.get("priority") or 0)
        self.requests = pod_requests(pod)
        self.non_zero = non_zero_requests(pod)
        ports = []
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        for c in spec.get("containers") or ():
            for p in c.get("ports") or ():
                hp = p.get("hostPort") or 0
                if hp > 0:
                    ports.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", int(hp)))
        self.host_ports = ports
        self.tolerations = spec.get("tolerations") or []
        self.node_name = spec.get("nodeName") or ""
        self.node_selector = spec.get("nodeSelector") or {}
        self.affinity = spec.get("affinity") or {}
        self.images = [normalized_image_name(c.get("image") or "") for c in containers if c.get("image")]
        self.num_containers = len(containers)
        self.spread_constraints = spec.get("topologySpreadConstraints") or []
        owner = None
        for ref in m.get("ownerReferences") or ():
            if ref.get("controller"):
                owner = (ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", ""))
                break
        self.owner = owner
        self.preemption_policy = spec.get("preemptionPolicy") or "PreemptLowerPriority"
        self.scheduler_name = spec.get("schedulerName") or "default-scheduler"
        self._static_keys = {}
        #: per-pod data plugins may keep between attempts (e.g. parsed constraints)
        self.memo: dict = {}

    @property
    def spec(self) -> dict:
        return self.obj.get("spec") or {}

    def static_key(self, what: str) -> str:
        """A canonical text of one part of the spec (``tolerations``, ``affinity`` ...), for caches."""
        k = self._static_keys.get(what)
        if k is None:
            if what == "nodeAffinity":
                k = _canon([self.node_selector, (self.affinity.get("nodeAffinity") or {})])
            elif what == "tolerations":
                k = _canon(self.tolerations)
            elif what == "nodeName":
                k = self.node_name
            else:
                k = _canon(self.spec.get(what))
            self._static_keys[what] = k
        return k

    def __repr__(self) -> str:
        return f"PodInfo({self.key})"


class PodRecord:
    """A pod the scheduler cache counts on a node (bound, or assumed by this scheduler)."""

    __slots__ = ("key", "namespace", "name", "uid", "node_name", "slot", "requests", "non_zero",
                 "host_ports", "labels", "terminating", "priority", "assumed", "obj", "with_affinity",
                 "required_anti_affinity", "terms")

    def __init__(self, pod: dict, info: PodInfo | None = None):
        info = info or PodInfo(pod)
        self.key = info.key
        self.namespace = info.namespace
        self.name = info.name
        self.uid = info.uid
        self.node_name = (pod.get("spec") or {}).get("nodeName") or ""
        self.slot = -1
        self.requests = info.requests
        self.non_zero = info.non_zero
        self.host_ports = info.host_ports
        self.labels = info.labels
        self.terminating = is_terminating(pod)
        self.priority = info.priority
        self.assumed = False
        self.obj = pod
        aff = info.affinity
        #: has podAffinity or podAntiAffinity (``NodeInfo.PodsWithAffinity``)
        self.with_affinity = aff.get("podAffinity") is not None or aff.get("podAntiAffinity") is not None
        #: has required anti-affinity terms (``NodeInfo.PodsWithRequiredAntiAffinity``)
        self.required_anti_affinity = bool((aff.get("podAntiAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"))
        self.terms = None  # parsed pod affinity terms, filled in by InterPodAffinity when needed

    def __repr__(self) -> str:
        return f"PodRecord({self.key} on {self.node_name}{', assumed' if self.assumed else ''})"


class NodeInfo:
    """One node as a per-node plugin sees it (``framework.NodeInfo``): the Node plus what is on it.

    ``requested`` holds the pods' requests (what Filter checks), ``non_zero_requested``
    the same with the scoring defaults (100m CPU / 200Mi for containers without requests).
    """

    __slots__ = ("obj", "name", "labels", "taints", "unschedulable", "allocatable", "requested",
                 "non_zero_requested", "pods", "used_ports", "image_states", "num_nodes")

    def __init__(self, obj, allocatable, requested, non_zero_requested, pods, used_ports, image_states,
                 num_nodes):
        self.obj = obj
        m = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        self.name = m.get("name", "")
        self.labels = m.get("labels") or {}
        self.taints = spec.get("taints") or []
        self.unschedulable = bool(spec.get("unschedulable"))
        self.allocatable = allocatable
        self.requested = requested
        self.non_zero_requested = non_zero_requested
        self.pods = pods
        self.used_ports = used_ports
        self.image_states = image_states
        self.num_nodes = num_nodes

    def __repr__(self) -> str:
        return f"NodeInfo({self.name}, {len(self.pods)} pods)"


class CycleState:
    """Data plugins keep during one scheduling attempt (``framework.CycleState``)."""

    __slots__ = ("data", "skip_filter", "skip_score")

    def __init__(self):
        self.data: dict = {}
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()

    def read(self, key, default=None):
        return self.data.get(key, default)

    def write(self, key, value) -> None:
        self.data[key] = value


class Rejections:
    """Which nodes a filter plugin rejects, and why — a vectorised ``NodeToStatusMap``.

    ``mask`` is a boolean array over the cache's node slots (True = rejected);
    ``reasons`` lists ``(reason, code, mask)``: the nodes each reason applies to
    (a node can have several, e.g. ``Insufficient cpu`` and ``Insufficient memory``).
    """

    __slots__ = ("mask", "reasons", "_ok")

    def __init__(self, mask: np.ndarray, reasons: list[tuple[str, str, np.ndarray]]):
        self.mask = mask
        self.reasons = reasons
        self._ok = None

    @property
    def ok(self) -> np.ndarray:
        """The nodes not rejected (``~mask``, computed once)."""
        if self._ok is None:
            self._ok = ~self.mask
        return self._ok

    @classmethod
    def uniform(cls, mask: np.ndarray, reason: str, code: str = UNSCHEDULABLE) -> Rejections:
        return cls(mask, [(reason, code, mask)])

    def status_of(self, slot: int) -> Status | None:
        if not self.mask[slot]:
            return None
        reasons = [r for r, _c, m in self.reasons if m[slot]]
        codes = [c for _r, c, m in self.reasons if m[slot]]
        code = UNSCHEDULABLE_AND_UNRESOLVABLE if UNSCHEDULABLE_AND_UNRESOLVABLE in codes else (codes or [UNSCHEDULABLE])[0]
        return Status(code, *reasons)

    def take(self, slots: np.ndarray) -> Rejections:
        """The same rejections restricted to ``slots`` (positions become 0..len-1)."""
        return Rejections(self.mask[slots], [(r, c, m[slots]) for r, c, m in self.reasons])


class CodedRejections(Rejections):
    """Rejections kept as one small integer per node: bit ``k`` set = ``reasons[k]`` applies.

    Cheap to keep up to date node by node; the per-reason masks are only built when
    someone asks (a failed attempt's diagnosis, ``explain()``).
    """

    __slots__ = ("codes", "table", "_mask", "_reasons")

    def __init__(self, codes: np.ndarray, table: list[tuple[str, str]], ok: np.ndarray | None = None):
        self.codes = codes
        self.table = table
        self._ok = ok
        self._mask = None
        self._reasons = None

    @property
    def mask(self) -> np.ndarray:
        if self._mask is None:
            self._mask = self.codes != 0
        return self._mask

    @property
    def ok(self) -> np.ndarray:
        if self._ok is None:
            self._ok = self.codes == 0
        return self._ok

    @property
    def reasons(self) -> list[tuple[str, str, np.ndarray]]:
        if self._reasons is None:
            self._reasons = [(r, c, (self.codes & (1 << k)) != 0) for k, (r, c) in enumerate(self.table)]
        return self._reasons

    def status_of(self, slot: int) -> Status | None:
        code = int(self.codes[slot])
        if not code:
            return None
        picked = [(r, c) for k, (r, c) in enumerate(self.table) if code & (1 << k)]
        worst = UNSCHEDULABLE_AND_UNRESOLVABLE if any(c == UNSCHEDULABLE_AND_UNRESOLVABLE for _r, c in picked) \
            else UNSCHEDULABLE
        return Status(worst, *(r for r, _c in picked))

    def take(self, slots: np.ndarray) -> Rejections:
        return CodedRejections(self.codes[slots], self.table)


# -- plugin interface -----------------------------------------------------------------------
class Plugin:
    """Base of every scheduler plugin. ``name`` is what events and ``explain()`` show."""

    name = "Plugin"
    #: Cluster events after which a pod this plugin rejected is worth retrying (``EventsToRegister``).
    events: tuple[ClusterEvent, ...] = (NODE_ADD, NODE_UPDATE)

    def setup(self, handle) -> None:
        """Called once with the scheduler (``framework.Handle``): its cache, listers, informers."""
        self.handle = handle

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


class FilterPlugin(Plugin):
    """A plugin that rejects nodes (Filter extension point)."""

    #: True when the verdict depends only on the pod's spec (``static_key``) and the Node object,
    #: not on the pods running there: the framework then caches it per node and only
    #: re-evaluates a node when it changes.
    static = False

    def static_key(self, pod: PodInfo) -> str:
        return pod.key

    def pre_filter(self, state: CycleState, pod: PodInfo):
        """Optional PreFilter: return ``None``, a :class:`Status` (``SKIP`` or a rejection of the
        pod as a whole) or a set of node names the pod may only go to (``PreFilterResult``)."""
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo):
        """Per-node Filter: ``None`` if the pod fits, else a reason or a :class:`Status`."""
        return None

    def filter_nodes(self, state: CycleState, pod: PodInfo, cache) -> Rejections | None:
        """Vectorised Filter over every node slot of ``cache``; ``None`` = use :meth:`filter`."""
        return None


class ScorePlugin(Plugin):
    """A plugin that rates feasible nodes (Score + NormalizeScore extension points)."""

    weight = 1
    static = False

    def static_key(self, pod: PodInfo) -> str:
        return pod.key

    def pre_score(self, state: CycleState, pod: PodInfo, slots: np.ndarray) -> Status | None:
        """Optional PreScore; return ``Status(SKIP)`` when the plugin has nothing to say."""
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        """Per-node Score: an integer, normalised afterwards by :meth:`normalize`."""
        return 0

    def score_nodes(self, state: CycleState, pod: PodInfo, cache, slots: np.ndarray) -> np.ndarray | None:
        """Vectorised Score of the node slots ``slots``; ``None`` = use :meth:`score`."""
        return None

    def normalize(self, state: CycleState, pod: PodInfo, scores: np.ndarray) -> np.ndarray:
        """NormalizeScore: map raw scores to 0..100 (default: keep them)."""
        return scores


def default_normalize(scores: np.ndarray, reverse: bool = False) -> np.ndarray:
    """``helper.DefaultNormalizeScore``: scale so the best is 100 (or invert with ``reverse``).

    >>> default_normalize(np.array([0, 1, 4])).tolist(), default_normalize(np.array([0, 1, 4]), True).tolist()
    ([0, 25, 100], [100, 75, 0])
    """
    if type(scores) is not np.ndarray or scores.ndim == 0:  # one value for every node
        return np.int64(MAX_NODE_SCORE if reverse or scores else 0)
    scores = np.asarray(scores, dtype=np.int64)
    top = int(scores.max()) if scores.size else 0
    if top == 0:
        return np.full_like(scores, MAX_NODE_SCORE) if reverse else scores
    out = MAX_NODE_SCORE * scores // top
    return MAX_NODE_SCORE - out if reverse else out
