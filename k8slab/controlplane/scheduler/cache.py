"""The scheduler cache: every node and what is already placed on it, kept incrementally.

kube-scheduler does not ask the API server "what runs on worker-3?" for each
pod: it keeps a cache (``pkg/scheduler/internal/cache``) fed by its pod and node
informers, and adds its own decisions to it at once — the **assume** step — so
the next pod sees the previous decision before the binding's watch event
arrives. If a binding fails, the assumed pod is **forgotten**.

k8slab keeps the per-node numbers as numpy arrays indexed by a *slot* per
node, so a filter or score runs over all nodes in a few array operations:

========================  =========================================================
``alloc[r, slot]``        node ``status.allocatable`` (row ``r``: cpu millis, memory, ...)
``req[r, slot]``          sum of the requests of the pods on the node (``Requested``)
``nz[0|1, slot]``         cpu/memory with the scoring defaults (``NonZeroRequested``)
``alloc_pods[slot]``      allocatable ``pods``; ``pod_count[slot]`` pods on the node
``order``                 the slots in the node tree's order (zones interleaved)
========================  =========================================================

Example
-------
>>> cache = SchedulerCache()
>>> slot = cache.add_node({"metadata": {"name": "n1"},
...                        "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}})
>>> pod = {"metadata": {"name": "p", "namespace": "default"},
...        "spec": {"nodeName": "n1", "containers": [{"name": "c", "resources": {"requests": {"cpu": "500m"}}}]}}
>>> cache.add_pod(pod)
>>> int(cache.req[0, slot]), int(cache.nz[1, slot]), int(cache.pod_count[slot])
(500, 209715200, 1)
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from k8slab.api.selectors import DOUBLE_EQUALS, EQUALS, IN, LabelSelector
from k8slab.controlplane.scheduler.framework import NodeInfo, PodInfo, PodRecord
from k8slab.controlplane.scheduler.resources import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    PODS,
    node_allocatable,
)

LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"
_LABEL_ZONE_BETA = "failure-domain.beta.kubernetes.io/zone"
_LABEL_REGION_BETA = "failure-domain.beta.kubernetes.io/region"

#: How many label-selector pod counters (PodTopologySpread) the cache keeps at most.
MAX_SELECTOR_COUNTERS = 4096


def zone_key(node: dict) -> str:
    """The node tree's zone of a node (``utilnode.GetZoneKey``): region and zone labels, or ""."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    zone = labels.get(LABEL_ZONE, labels.get(_LABEL_ZONE_BETA, ""))
    region = labels.get(LABEL_REGION, labels.get(_LABEL_REGION_BETA, ""))
    if not region and not zone:
        return ""
    return region + ":\x00:" + zone


def _node_images(node: dict) -> dict[str, int]:
    out = {}
    for img in (node.get("status") or {}).get("images") or ():
        size = int(img.get("sizeBytes") or 0)
        for n in img.get("names") or ():
            out[n] = size
    return out


class SelectorCount:
    """Per-node count of the non-terminating pods of one namespace matching a label selector."""

    __slots__ = ("namespace", "selector", "counts", "pair")

    def __init__(self, namespace: str, selector: LabelSelector, capacity: int):
        self.namespace = namespace
        self.selector = selector
        self.counts = np.zeros(capacity, dtype=np.int64)
        self.pair = None
        for r in selector.requirements:
            if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                self.pair = (namespace, r.key, r.values[0])  # every match has this label: index by it
                break


class SchedulerCache:
    """Nodes and the pods placed on them (bound or assumed), as arrays over node slots."""

    def __init__(self) -> None:
        self.capacity = 0
        self.resource_rows: dict[str, int] = {CPU: 0, MEMORY: 1, EPHEMERAL_STORAGE: 2}
        self.alloc = np.zeros((3, 0), dtype=np.int64)
        self.req = np.zeros((3, 0), dtype=np.int64)
        self.nz = np.zeros((2, 0), dtype=np.int64)
        self.alloc_pods = np.zeros(0, dtype=np.int64)
        self.pod_count = np.zeros(0, dtype=np.int64)
        # Derived, kept in step by _derive(): what filters and scores read in one gather.
        self.free = np.zeros((3, 0), dtype=np.int64)  # alloc - req
        self.free_pods = np.zeros(0, dtype=np.int64)  # alloc_pods - pod_count
        #: rows: alloc cpu, alloc mem (at least 1), req cpu, req mem, alloc-nz cpu, alloc-nz mem.
        #: float64 on purpose: the values are whole numbers below 2**53, so float arithmetic is
        #: exact here and much faster than int64 division (see NodeResourcesFit.score_nodes).
        self.sfeat = np.zeros((6, 0), dtype=np.float64)
        #: present nodes with no allocatable cpu or memory (the vectorised scores then take the general path)
        self.zero_alloc: set[int] = set()
        #: the most pods ever counted on one node (bounds lookup tables)
        self.max_pod_count = 0
        self._change_log: list[int] = []
        self._change_base = 0
        self.present = np.zeros(0, dtype=bool)
        self.nodes: list[dict | None] = []
        self.names: list[str | None] = []
        self.slot_of: dict[str, int] = {}
        self.pods_on: list[dict[str, PodRecord]] = []
        self.ports_on: list[dict[tuple, int]] = []
        self.priorities_on: list[dict[int, int]] = []
        self._zone_of: list[str | None] = []
        self._free: list[int] = []
        self._next_slot = 0
        # node tree (zones in order of first appearance, nodes in order of arrival)
        self._zones: list[str] = []
        self._tree: dict[str, list[str]] = {}
        self._order = np.zeros(0, dtype=np.intp)
        self._names_snapshot: tuple = ()
        self._order_names: tuple = ()
        self._order_dirty = False
        self.num_nodes = 0
        #: bumped when nodes come, go, or change labels (topology ids depend on it)
        self.label_generation = 0
        self.pods: dict[str, PodRecord] = {}
        #: pods with pod (anti-)affinity, and those with required anti-affinity (InterPodAffinity
        #: only looks at these when the incoming pod has no terms of its own)
        self.affinity_pods: dict[str, PodRecord] = {}
        self.anti_affinity_pods: dict[str, PodRecord] = {}
        #: terminating pods (the label index leaves them out; pod affinity still counts them)
        self.terminating_pods: dict[str, PodRecord] = {}
        self._label_index: dict[tuple, dict[str, PodRecord]] = {}
        self._counters: OrderedDict[tuple, SelectorCount] = OrderedDict()
        self._counters_by_pair: dict[tuple, list[SelectorCount]] = {}
        self._counters_by_ns: dict[str, list[SelectorCount]] = {}
        self.images: dict[str, np.ndarray] = {}
        self.image_nodes: dict[str, int] = {}
        self._node_images: list[dict[str, int]] = []
        self._topology: dict[str, tuple[int, np.ndarray, list[str]]] = {}
        #: callables ``fn(slot)`` told when a node's labels, taints or spec change (static filter caches)
        self.node_listeners: list = []

    def __repr__(self) -> str:
        return f"SchedulerCache({self.num_nodes} nodes, {len(self.pods)} pods)"

    # -- slots ---------------------------------------------------------------------------
    def _grow(self, need: int) -> None:
        if need <= self.capacity:
            return
        new = max(16, self.capacity * 2, need)
        extra = new - self.capacity

        def pad(a):
            widths = [(0, 0)] * (a.ndim - 1) + [(0, extra)]
            return np.pad(a, widths)

        self.alloc, self.req, self.nz = pad(self.alloc), pad(self.req), pad(self.nz)
        self.free, self.free_pods, self.sfeat = pad(self.free), pad(self.free_pods), pad(self.sfeat)
        self.sfeat[0:2, self.capacity:] = 1  # divisors: "at least 1" also for slots not used yet
        self.alloc_pods, self.pod_count, self.present = pad(self.alloc_pods), pad(self.pod_count), pad(self.present)
        for arr_name, arr in list(self.images.items()):
            self.images[arr_name] = pad(arr)
        for c in self._counters.values():
            c.counts = pad(c.counts)
        self.nodes += [None] * extra
        self.names += [None] * extra
        self.pods_on += [{} for _ in range(extra)]
        self.ports_on += [{} for _ in range(extra)]
        self.priorities_on += [{} for _ in range(extra)]
        self._zone_of += [None] * extra
        self._node_images += [{} for _ in range(extra)]
        self.capacity = new

    def _slot_for(self, name: str) -> int:
        slot = self.slot_of.get(name)
        if slot is not None:
            return slot
        if self._free:
            slot = self._free.pop()
        else:
            slot = self._next_slot
            self._next_slot += 1
            self._grow(slot + 1)
        self.slot_of[name] = slot
        self.names[slot] = name
        return slot

    def _release_if_empty(self, slot: int) -> None:
        if self.present[slot] or self.pods_on[slot]:
            return
        name = self.names[slot]
        self.slot_of.pop(name, None)
        self.names[slot] = None
        self.alloc[:, slot] = 0
        self.req[:, slot] = 0
        self.nz[:, slot] = 0
        self.alloc_pods[slot] = 0
        self.pod_count[slot] = 0
        self._derive(slot)
        self._free.append(slot)

    def row(self, resource: str) -> int:
        """The row of ``resource`` in ``alloc``/``req`` (extended resources get a row on first sight)."""
        r = self.resource_rows.get(resource)
        if r is None:
            r = self.resource_rows[resource] = len(self.resource_rows)
            self.alloc = np.vstack([self.alloc, np.zeros((1, self.capacity), dtype=np.int64)])
            self.req = np.vstack([self.req, np.zeros((1, self.capacity), dtype=np.int64)])
            self.free = np.vstack([self.free, np.zeros((1, self.capacity), dtype=np.int64)])
        return r

    def _derive(self, slot: int) -> None:
        a, r, f = self.alloc, self.req, self.free
        ac, am = int(a[0, slot]), int(a[1, slot])
        rc, rm = int(r[0, slot]), int(r[1, slot])
        f[0, slot] = ac - rc
        f[1, slot] = am - rm
        for i in range(2, a.shape[0]):
            f[i, slot] = a[i, slot] - r[i, slot]
        self.free_pods[slot] = self.alloc_pods[slot] - self.pod_count[slot]
        sf = self.sfeat
        sf[0, slot] = ac or 1
        sf[1, slot] = am or 1
        sf[2, slot] = rc
        sf[3, slot] = rm
        sf[4, slot] = ac - int(self.nz[0, slot])
        sf[5, slot] = am - int(self.nz[1, slot])
        if (ac == 0 or am == 0) and self.present[slot]:
            self.zero_alloc.add(slot)
        elif self.zero_alloc:
            self.zero_alloc.discard(slot)
        pc = int(self.pod_count[slot])
        if pc > self.max_pod_count:
            self.max_pod_count = pc
        self._change_log.append(slot)
        if len(self._change_log) > 1 << 16:
            self._change_base += len(self._change_log)
            self._change_log = []

    @property
    def change_position(self) -> int:
        """A position in the log of node-slot changes (see :meth:`changes_since`)."""
        return self._change_base + len(self._change_log)

    def changes_since(self, position: int) -> list[int] | None:
        """Slots whose numbers changed since ``position`` (``None``: too long ago, recompute all)."""
        i = position - self._change_base
        if i < 0:
            return None
        return self._change_log[i:]

    def adjust(self, slot: int, requests: dict[str, int], pods: int) -> None:
        """Add (or, negative, remove) requests and pods on a node without a pod record (nominated pods)."""
        for r, v in requests.items():
            if r != PODS:
                row = self.row(r)
                self.req[row, slot] += v
        self.pod_count[slot] += pods
        self._derive(slot)

    # -- node tree ---------------------------------------------------------------------------
    def _tree_add(self, name: str, zone: str) -> None:
        if zone not in self._tree:
            self._tree[zone] = []
            self._zones.append(zone)
        self._tree[zone].append(name)

    def _tree_remove(self, name: str, zone: str) -> None:
        names = self._tree.get(zone)
        if names and name in names:
            names.remove(name)
            if not names:
                del self._tree[zone]
                self._zones.remove(zone)

    def _rebuild_order(self) -> None:
        # Lazily: a burst of node registrations costs one rebuild, at the next look.
        self._order_dirty = True

    def _build_order(self) -> None:
        # nodeTree.list(): one node of each zone in turn, so consecutive nodes are in different zones.
        out: list[int] = []
        lists = [self._tree[z] for z in self._zones]
        i = 0
        while len(out) < self.num_nodes and lists:
            for names in lists:
                if i < len(names):
                    out.append(self.slot_of[names[i]])
            i += 1
        self._order = np.array(out, dtype=np.intp)
        # immutable snapshots, shared by the decisions recorded until the node set changes
        self._names_snapshot = tuple(self.names)
        self._order_names = tuple(self.names[s] for s in out)
        self._order_dirty = False

    @property
    def order(self) -> np.ndarray:
        """The present nodes' slots in the node tree's order (the order filters visit them)."""
        if self._order_dirty:
            self._build_order()
        return self._order

    @property
    def names_snapshot(self) -> tuple:
        """Slot -> node name, as of the last change of the node set (never modified)."""
        if self._order_dirty:
            self._build_order()
        return self._names_snapshot

    @property
    def order_names(self) -> tuple:
        if self._order_dirty:
            self._build_order()
        return self._order_names

    # -- nodes ----------------------------------------------------------------------------------
    def _set_node(self, slot: int, node: dict) -> None:
        self.nodes[slot] = node
        alloc = node_allocatable(node)
        self.alloc[:, slot] = 0
        for name, v in alloc.items():
            if name == PODS:
                continue
            row = self.row(name)  # first: a new resource grows the arrays
            self.alloc[row, slot] = v
        self.alloc_pods[slot] = alloc.get(PODS, 0)
        self._derive(slot)
        self._set_images(slot, _node_images(node))

    def _set_images(self, slot: int, images: dict[str, int]) -> None:
        old = self._node_images[slot]
        if old == images:
            return
        for name in old:
            if name not in images:
                self.images[name][slot] = 0
                self.image_nodes[name] -= 1
                if self.image_nodes[name] == 0:
                    del self.image_nodes[name]
                    del self.images[name]
        for name, size in images.items():
            arr = self.images.get(name)
            if arr is None:
                arr = self.images[name] = np.zeros(self.capacity, dtype=np.int64)
            if name not in old:
                self.image_nodes[name] = self.image_nodes.get(name, 0) + 1
            arr[slot] = size
        self._node_images[slot] = images

    def add_node(self, node: dict) -> int:
        """A Node appeared (``AddNode``); returns its slot."""
        name = node["metadata"]["name"]
        slot = self._slot_for(name)
        if self.present[slot]:
            return self.update_node(self.nodes[slot], node)
        self.present[slot] = True
        self.num_nodes += 1
        self._set_node(slot, node)
        zone = zone_key(node)
        self._zone_of[slot] = zone
        self._tree_add(name, zone)
        self._rebuild_order()
        self.label_generation += 1
        for fn in self.node_listeners:
            fn(slot)
        return slot

    def update_node(self, old: dict | None, node: dict) -> int:
        """A Node changed (``UpdateNode``); returns its slot."""
        name = node["metadata"]["name"]
        slot = self.slot_of.get(name)
        if slot is None or not self.present[slot]:
            return self.add_node(node)
        prev = self.nodes[slot]
        self._set_node(slot, node)
        zone = zone_key(node)
        if zone != self._zone_of[slot]:
            self._tree_remove(name, self._zone_of[slot])
            self._zone_of[slot] = zone
            self._tree_add(name, zone)
            self._rebuild_order()
        pm, nm = (prev or {}).get("metadata") or {}, node.get("metadata") or {}
        if pm.get("labels") != nm.get("labels") or (prev or {}).get("spec") != node.get("spec"):
            if pm.get("labels") != nm.get("labels"):
                self.label_generation += 1
            for fn in self.node_listeners:
                fn(slot)
        return slot

    def remove_node(self, node: dict) -> None:
        """A Node was deleted (``RemoveNode``); pods still counted on it stay until they go."""
        name = node["metadata"]["name"]
        slot = self.slot_of.get(name)
        if slot is None or not self.present[slot]:
            return
        self.present[slot] = False
        self.zero_alloc.discard(slot)
        self.num_nodes -= 1
        self.nodes[slot] = None
        self._set_images(slot, {})
        self._tree_remove(name, self._zone_of[slot])
        self._zone_of[slot] = None
        self._rebuild_order()
        self.label_generation += 1
        for fn in self.node_listeners:
            fn(slot)
        self._release_if_empty(slot)

    def node(self, name: str) -> dict | None:
        slot = self.slot_of.get(name)
        return self.nodes[slot] if slot is not None else None

    def node_names(self) -> list[str]:
        """Names of the nodes, in the node tree's order."""
        return [self.names[s] for s in self.order]

    def node_info(self, slot: int) -> NodeInfo:
        """The per-node view a plugin's ``filter``/``score`` receives."""
        rows = self.resource_rows
        alloc = {r: int(self.alloc[i, slot]) for r, i in rows.items() if self.alloc[i, slot]}
        alloc[PODS] = int(self.alloc_pods[slot])
        requested = {r: int(self.req[i, slot]) for r, i in rows.items() if self.req[i, slot]}
        nz = {CPU: int(self.nz[0, slot]), MEMORY: int(self.nz[1, slot])}
        states = {n: (s, self.image_nodes.get(n, 0)) for n, s in self._node_images[slot].items()}
        return NodeInfo(self.nodes[slot] or {"metadata": {"name": self.names[slot]}}, alloc, requested, nz,
                        list(self.pods_on[slot].values()), set(self.ports_on[slot]), states, self.num_nodes)

    def topology_ids(self, key: str) -> tuple[np.ndarray, list[str]]:
        """Per slot, the index of the node's value for label ``key`` (-1: no label, or no node)."""
        hit = self._topology.get(key)
        if hit is not None and hit[0] == self.label_generation:
            return hit[1], hit[2]
        ids = np.full(self.capacity, -1, dtype=np.int64)
        values: dict[str, int] = {}
        for slot in self.order:
            v = ((self.nodes[slot]["metadata"].get("labels")) or {}).get(key)
            if v is not None:
                ids[slot] = values.setdefault(v, len(values))
        out = (ids, list(values))
        self._topology[key] = (self.label_generation, ids, out[1])
        return out

    # -- pods ------------------------------------------------------------------------------------
    def _account(self, rec: PodRecord, sign: int) -> None:
        s = rec.slot
        for r, v in rec.requests.items():
            if r != PODS:
                row = self.resource_rows.get(r)
                if row is None:
                    row = self.row(r)  # grows the arrays: read self.req only after
                self.req[row, s] += sign * v
        nz = self.nz
        nz[0, s] += sign * rec.non_zero[0]
        nz[1, s] += sign * rec.non_zero[1]
        self.pod_count[s] += sign
        self._derive(s)
        if sign > 0:
            self.pods_on[s][rec.key] = rec
        else:
            self.pods_on[s].pop(rec.key, None)
        if rec.host_ports:
            ports = self.ports_on[s]
            for p in rec.host_ports:
                n = ports.get(p, 0) + sign
                if n:
                    ports[p] = n
                else:
                    ports.pop(p, None)
        prios = self.priorities_on[s]
        n = prios.get(rec.priority, 0) + sign
        if n:
            prios[rec.priority] = n
        else:
            prios.pop(rec.priority, None)
        if rec.with_affinity:
            self._set_member(self.affinity_pods, rec, sign)
            if rec.required_anti_affinity:
                self._set_member(self.anti_affinity_pods, rec, sign)
        if not rec.terminating:
            self._index_labels(rec, sign)
        else:
            self._set_member(self.terminating_pods, rec, sign)

    @staticmethod
    def _set_member(group: dict, rec: PodRecord, sign: int) -> None:
        if sign > 0:
            group[rec.key] = rec
        elif group.get(rec.key) is rec:
            del group[rec.key]

    def _index_labels(self, rec: PodRecord, sign: int) -> None:
        ns = rec.namespace
        index = self._label_index
        by_pair = self._counters_by_pair
        labels = rec.labels
        key = rec.key
        for k in [(ns, None, None)] + [(ns, lk, lv) for lk, lv in labels.items()]:
            bucket = index.get(k)
            if sign > 0:
                if bucket is None:
                    bucket = index[k] = {}
                bucket[key] = rec
            elif bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del index[k]
            if k[1] is not None and k in by_pair:
                for c in by_pair[k]:
                    if c.selector.matches(labels):
                        c.counts[rec.slot] += sign
        for c in self._counters_by_ns.get(ns, ()):
            if c.selector.matches(labels):
                c.counts[rec.slot] += sign

    def _place(self, rec: PodRecord) -> None:
        rec.slot = self._slot_for(rec.node_name)
        self.pods[rec.key] = rec
        self._account(rec, +1)

    def _unplace(self, rec: PodRecord) -> None:
        self._account(rec, -1)
        self.pods.pop(rec.key, None)
        self._release_if_empty(rec.slot)

    def add_pod(self, pod: dict) -> None:
        """A bound pod appeared (``AddPod``); confirms it if this scheduler had assumed it."""
        key = f"{pod['metadata'].get('namespace') or 'default'}/{pod['metadata']['name']}"
        rec = self.pods.get(key)
        if rec is not None:
            node_name = (pod.get("spec") or {}).get("nodeName") or ""
            if rec.assumed and rec.node_name == node_name:
                rec.assumed = False  # the watch confirms the assumption: nothing to recount
                rec.obj = pod
                return
            self._unplace(rec)
        self._place(PodRecord(pod))

    def update_pod(self, old: dict | None, pod: dict) -> None:
        """A bound pod changed (``UpdatePod``): labels or deletion affect the selector counters."""
        key = f"{pod['metadata'].get('namespace') or 'default'}/{pod['metadata']['name']}"
        rec = self.pods.get(key)
        if rec is None or rec.assumed or rec.node_name != ((pod.get("spec") or {}).get("nodeName") or ""):
            self.add_pod(pod)
            return
        m = pod["metadata"]
        terminating = bool(m.get("deletionTimestamp"))
        labels = m.get("labels") or {}
        if terminating != rec.terminating or labels != rec.labels:
            if not rec.terminating:
                self._index_labels(rec, -1)
            else:
                self._set_member(self.terminating_pods, rec, -1)
            rec.terminating = terminating
            rec.labels = labels
            if not terminating:
                self._index_labels(rec, +1)
            else:
                self._set_member(self.terminating_pods, rec, +1)
        rec.obj = pod

    def remove_pod(self, pod: dict) -> None:
        """A bound pod is gone (deleted, or finished: Succeeded/Failed)."""
        key = f"{pod['metadata'].get('namespace') or 'default'}/{pod['metadata']['name']}"
        rec = self.pods.get(key)
        if rec is not None:
            self._unplace(rec)

    def assume_pod(self, info: PodInfo, node_name: str) -> PodRecord:
        """Count a pod on ``node_name`` right away, before its binding is confirmed (``AssumePod``)."""
        existing = self.pods.get(info.key)
        if existing is not None:
            self._unplace(existing)
        rec = PodRecord(info.obj, info)
        rec.node_name = node_name
        rec.assumed = True
        self._place(rec)
        return rec

    def forget_pod(self, key: str) -> None:
        """Undo an assumption whose binding failed (``ForgetPod``)."""
        rec = self.pods.get(key)
        if rec is not None and rec.assumed:
            self._unplace(rec)

    def is_assumed(self, key: str) -> bool:
        rec = self.pods.get(key)
        return rec is not None and rec.assumed

    def matching_pods(self, namespace: str | None, selector: LabelSelector) -> list[PodRecord]:
        """The pods (terminating ones too) of ``namespace`` (``None``: any) whose labels ``selector`` matches."""
        if selector.nothing:
            return []
        if namespace is None:
            return [r for r in self.pods.values() if selector.matches(r.labels)]
        key = (namespace, None, None)
        for r in selector.requirements:
            if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                key = (namespace, r.key, r.values[0])  # every match has this label: a smaller bucket
                break
        out = [r for r in self._label_index.get(key, {}).values() if selector.matches(r.labels)]
        if self.terminating_pods:
            out += [r for r in self.terminating_pods.values()
                    if r.namespace == namespace and selector.matches(r.labels)]
        return out

    # -- selector counters (PodTopologySpread) ----------------------------------------------------
    @staticmethod
    def counter_key(namespace: str, selector: LabelSelector) -> tuple:
        return (namespace, str(selector), selector.nothing)

    def has_counter(self, key: tuple) -> bool:
        return key in self._counters

    def counter(self, key: tuple) -> np.ndarray:
        """The counts of a counter made by :meth:`selector_counts` (by its :meth:`counter_key`)."""
        c = self._counters[key]
        if c.counts.shape[0] < self.capacity:
            c.counts = np.pad(c.counts, (0, self.capacity - c.counts.shape[0]))
        return c.counts

    def selector_counts(self, namespace: str, selector: LabelSelector) -> np.ndarray:
        """Per slot, how many non-terminating pods of ``namespace`` match ``selector``; kept up to date."""
        key = self.counter_key(namespace, selector)
        c = self._counters.get(key)
        if c is not None:
            self._counters.move_to_end(key)
            return c.counts
        c = SelectorCount(namespace, selector, self.capacity)
        bucket = self._label_index.get(c.pair if c.pair else (namespace, None, None), {})
        if not selector.nothing:
            for rec in bucket.values():
                if selector.matches(rec.labels):
                    c.counts[rec.slot] += 1
        self._counters[key] = c
        if c.pair is not None:
            self._counters_by_pair.setdefault(c.pair, []).append(c)
        elif not selector.nothing:
            self._counters_by_ns.setdefault(namespace, []).append(c)
        if len(self._counters) > MAX_SELECTOR_COUNTERS:
            _k, old = self._counters.popitem(last=False)
            group = self._counters_by_pair.get(old.pair) if old.pair else self._counters_by_ns.get(old.namespace)
            if group and old in group:
                group.remove(old)
        return c.counts
