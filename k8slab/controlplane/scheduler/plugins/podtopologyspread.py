"""PodTopologySpread: spread matching pods evenly over nodes, zones, or any topology label.

A *topology spread constraint* names a node label (``topologyKey``) whose values
are the *domains* (each hostname, each zone ...), a ``labelSelector`` of the
pods to count, and ``maxSkew``, how uneven the domains may get.

* **Filter** (constraints with ``whenUnsatisfiable: DoNotSchedule``) — placing
  the pod on a node must keep ``pods in its domain + 1 - pods in the emptiest
  domain <= maxSkew``. Reasons: ``node(s) didn't match pod topology spread
  constraints`` and, for nodes without the label, ``... (missing required label)``.
* **Score** (weight 2; ``ScheduleAnyway`` constraints, or when the pod has none,
  the *system default constraints*: hostname with maxSkew 3 and zone with
  maxSkew 5, counting the pods selected by the pod's Services and its
  ReplicaSet/StatefulSet) — each domain counts ``pods * log(domains + 2) +
  maxSkew - 1``; fewer matching pods → higher normalised score. This is what
  spreads the replicas of a Deployment over the nodes even though nobody asked.

Example
-------
>>> [(c["topologyKey"], c["maxSkew"]) for c in SYSTEM_DEFAULT_CONSTRAINTS]
[('kubernetes.io/hostname', 3), ('topology.kubernetes.io/zone', 5)]
"""

from __future__ import annotations

import math

import numpy as np

from k8slab.api.selectors import EQUALS, LabelSelector, Requirement
from k8slab.controlplane.scheduler.cache import LABEL_HOSTNAME
from k8slab.controlplane.scheduler.framework import (
    ADD,
    ALL,
    DELETE,
    MAX_NODE_SCORE,
    SKIP,
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    UPDATE_NODE_LABEL,
    UPDATE_NODE_TAINT,
    ClusterEvent,
    FilterPlugin,
    Rejections,
    ScorePlugin,
    Status,
)

NAME = "PodTopologySpread"
ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"

#: ``systemDefaultConstraints`` of the plugin (used when the pod has no constraints of its own).
SYSTEM_DEFAULT_CONSTRAINTS = [
    {"topologyKey": LABEL_HOSTNAME, "whenUnsatisfiable": "ScheduleAnyway", "maxSkew": 3},
    {"topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway", "maxSkew": 5},
]

_PRE_FILTER = "PreFilterPodTopologySpread"
_PRE_SCORE = "PreScorePodTopologySpread"
_NO_DOMAIN = 1 << 31


class SpreadConstraint:
    __slots__ = ("key", "max_skew", "selector", "min_domains", "affinity_policy", "taints_policy", "_counts")

    def __init__(self, raw: dict, selector: LabelSelector):
        self.key = raw.get("topologyKey", "")
        self.max_skew = int(raw.get("maxSkew") or 1)
        self.selector = selector
        self.min_domains = int(raw.get("minDomains") or 1)
        self.affinity_policy = raw.get("nodeAffinityPolicy") or "Honor"
        self.taints_policy = raw.get("nodeTaintsPolicy") or "Ignore"
        self._counts = None

    def counts(self, cache, namespace: str) -> np.ndarray:
        """Per node, the pods this constraint counts (the cache keeps the array up to date)."""
        c = self._counts
        if c is None or c[0] is not cache or c[1] != namespace or not cache.has_counter(c[2]):
            key = cache.counter_key(namespace, self.selector)
            cache.selector_counts(namespace, self.selector)
            c = self._counts = (cache, namespace, key)
        return cache.counter(c[2])


def _selector(raw: dict, pod) -> LabelSelector:
    try:
        sel = LabelSelector.from_dict(raw.get("labelSelector"))
    except (ValueError, TypeError, AttributeError):
        return LabelSelector(nothing=True)
    extra = [Requirement(k, EQUALS, (pod.labels[k],)) for k in raw.get("matchLabelKeys") or () if k in pod.labels]
    if extra and not sel.nothing:
        sel = LabelSelector(list(sel.requirements) + extra)
    return sel


_TABLES: dict[tuple, np.ndarray] = {}


def _go_round(x: float) -> int:
    fl = math.floor(x)
    return fl + 1 if x - fl >= 0.5 else fl


def _count_table(size: int, max_skew: int, max_count: int) -> np.ndarray:
    """``round(count * log(size + 2) + maxSkew - 1)`` for count = 0..max_count (cached)."""
    key = (size, max_skew)
    t = _TABLES.get(key)
    if t is None or len(t) <= max_count:
        w = math.log(size + 2)
        n = max(max_count + 1, 2 * len(t) if t is not None else 128)
        t = _TABLES[key] = np.array([_go_round(c * w + float(max_skew - 1)) for c in range(n)], dtype=np.int64)
        if len(_TABLES) > 4096:
            _TABLES.pop(next(iter(_TABLES)))
    return t


def _round(x: np.ndarray) -> np.ndarray:
    # Go's math.Round rounds half away from zero (numpy rounds half to even).
    fl = np.floor(x)
    return np.where(x - fl >= 0.5, fl + 1, fl).astype(np.int64)


class PodTopologySpread(FilterPlugin, ScorePlugin):
    name = NAME
    weight = 2
    events = (ClusterEvent("Pod", ALL, "Pod"),
              ClusterEvent("Node", ADD | DELETE | UPDATE_NODE_LABEL | UPDATE_NODE_TAINT, "Node"))

    def __init__(self):
        self._memo: dict[tuple, tuple[int, list]] = {}

    def constraints(self, pod, when: str) -> list[SpreadConstraint]:
        """The pod's constraints for ``when`` (``DoNotSchedule`` or ``ScheduleAnyway``)."""
        gen = self.handle.selector_generation
        key = pod.memo.get(NAME)
        if key is None:
            # Pods of one template share their constraints: remember them per "shape".
            key = pod.memo[NAME] = (pod.namespace, pod.owner, tuple(sorted(pod.labels.items())),
                                    repr(pod.spread_constraints) if pod.spread_constraints else "")
        hit = self._memo.get((key, when))
        if hit is not None and hit[0] == gen:
            return hit[1]
        out = self._constraints(pod, when)
        self._memo[(key, when)] = (gen, out)
        if len(self._memo) > 4096:
            self._memo.pop(next(iter(self._memo)))
        return out

    def _constraints(self, pod, when: str) -> list[SpreadConstraint]:
        if pod.spread_constraints:
            return [SpreadConstraint(c, _selector(c, pod)) for c in pod.spread_constraints
                    if (c.get("whenUnsatisfiable") or "DoNotSchedule") == when]
        if when != "ScheduleAnyway":
            return []
        selector = self.handle.default_selector(pod)
        if selector.empty or selector.nothing:
            return []
        return [SpreadConstraint(c, selector) for c in SYSTEM_DEFAULT_CONSTRAINTS]

    def _inclusion(self, pod, c: SpreadConstraint, base: np.ndarray) -> np.ndarray:
        incl = base
        fw = self.handle.framework
        if c.affinity_policy == "Honor":
            incl = incl & ~fw.static_rejections("NodeAffinity", pod).mask
        if c.taints_policy == "Honor":
            incl = incl & ~fw.static_rejections("TaintToleration", pod).mask
        return incl

    # -- Filter ------------------------------------------------------------------------------
    def pre_filter(self, state, pod):
        cons = self.constraints(pod, "DoNotSchedule")
        if not cons:
            return Status(SKIP)
        cache = self.handle.cache
        ids_all = [cache.topology_ids(c.key)[0] for c in cons]
        has_all = cache.present.copy()
        for ids in ids_all:
            has_all &= ids >= 0
        data = []
        for c, ids in zip(cons, ids_all, strict=True):
            incl = self._inclusion(pod, c, has_all)
            counts = c.counts(cache, pod.namespace)
            n = int(ids.max()) + 1 if ids.size and ids.max() >= 0 else 0
            dom_counts = np.bincount(ids[incl], weights=counts[incl], minlength=n).astype(np.int64)
            dom_present = np.bincount(ids[incl], minlength=n) > 0
            min_match = int(dom_counts[dom_present].min()) if dom_present.any() else _NO_DOMAIN
            if int(dom_present.sum()) < c.min_domains:
                min_match = 0
            self_match = 1 if c.selector.matches(pod.labels) else 0
            data.append((c, ids, dom_counts, dom_present, min_match, self_match))
        state.write(_PRE_FILTER, data)
        return None

    def filter_nodes(self, state, pod, cache):
        data = state.read(_PRE_FILTER) or []
        alive = np.ones(cache.capacity, dtype=bool)
        missing = np.zeros(cache.capacity, dtype=bool)
        bad = np.zeros(cache.capacity, dtype=bool)
        for c, ids, dom_counts, dom_present, min_match, self_match in data:
            has = ids >= 0
            missing |= alive & ~has
            alive &= has
            safe = np.where(has, ids, 0)
            if dom_counts.size:
                match_num = np.where(has & dom_present[safe], dom_counts[safe], 0)
            else:
                match_num = np.zeros(cache.capacity, dtype=np.int64)
            skew_bad = alive & (match_num + self_match - min_match > c.max_skew)
            bad |= skew_bad
            alive &= ~skew_bad
        return Rejections(missing | bad, [(ERR_REASON_NODE_LABEL_NOT_MATCH, UNSCHEDULABLE_AND_UNRESOLVABLE, missing),
                                          (ERR_REASON_CONSTRAINTS_NOT_MATCH, UNSCHEDULABLE, bad)])

    def filter(self, state, pod, node):
        slot = self.handle.cache.slot_of.get(node.name)
        if slot is None:
            return None
        return self.filter_nodes(state, pod, self.handle.cache).status_of(slot)

    # -- Score --------------------------------------------------------------------------------
    def pre_score(self, state, pod, slots):
        cons = self.constraints(pod, "ScheduleAnyway")
        if not cons or len(slots) == 0:
            return Status(SKIP)
        cache = self.handle.cache
        # Only user-given constraints require every topology label; the defaults let nodes
        # without a zone label still spread by hostname.
        require_all = bool(pod.spread_constraints)
        topo = [cache.topology_ids(c.key) for c in cons]
        if not require_all:
            host = [c for c, (_ids, values) in zip(cons, topo, strict=True) if c.key == LABEL_HOSTNAME]
            others = [values for c, (_ids, values) in zip(cons, topo, strict=True) if c.key != LABEL_HOSTNAME]
            if (len(host) == 1 and not any(others)
                    and len(topo[cons.index(host[0])][1]) == cache.num_nodes):
                # Fast path: only the hostname constraint can score (no node has the other labels),
                # so a node's raw score is a function of its own count: look it up in a table.
                c = host[0]
                table = _count_table(len(slots), c.max_skew, cache.max_pod_count)
                counts = c.counts(cache, pod.namespace)
                state.write(_PRE_SCORE, ("hostname", table, counts, slots))
                return None
        has_all = cache.present.copy()
        for ids, _values in topo:
            has_all &= ids >= 0
        ignored = ~has_all[slots] if require_all else np.zeros(len(slots), dtype=bool)
        ok_slots = slots[~ignored]
        data = []
        for c, (ids, values) in zip(cons, topo, strict=True):
            counts = c.counts(cache, pod.namespace)
            empty_id = values.index("") if "" in values else len(values)
            if c.key == LABEL_HOSTNAME:
                size = len(ok_slots)
                dom_counts = None
            else:
                # A node without the label still names the domain "" (a Go map's zero value).
                eff = np.where(ids < 0, empty_id, ids)
                size = len(np.unique(eff[ok_slots]))
                base = cache.present & (has_all if require_all else True)
                incl = self._inclusion(pod, c, base)
                dom_counts = np.bincount(eff[incl], weights=counts[incl],
                                         minlength=len(values) + 1).astype(np.int64)
            data.append((c, ids, counts, dom_counts, math.log(size + 2)))
        state.write(_PRE_SCORE, (data, ignored, slots))
        return None

    def score_nodes(self, state, pod, cache, slots):
        pre = state.read(_PRE_SCORE)
        if pre[0] == "hostname":
            _mode, table, counts, _slots = pre
            return table[counts[slots]]
        data, ignored, _slots = pre
        total = np.zeros(len(slots), dtype=np.float64)
        for c, ids, counts, dom_counts, weight in data:
            ids_s = ids[slots]
            has = ids_s >= 0
            cnt = counts[slots] if dom_counts is None else dom_counts[np.where(has, ids_s, 0)]
            total += np.where(has, cnt * weight + float(c.max_skew - 1), 0.0)
        return np.where(ignored, 0, _round(total))

    def score(self, state, pod, node) -> int:
        slots = state.read(_PRE_SCORE)[-1]
        where = np.flatnonzero(slots == self.handle.cache.slot_of[node.name])
        return int(self.score_nodes(state, pod, self.handle.cache, slots)[where[0]]) if where.size else 0

    def normalize(self, state, pod, scores):
        pre = state.read(_PRE_SCORE)
        if pre[0] == "hostname":
            top, low = int(scores.max()), int(scores.min())
            if top == 0:
                return np.full_like(scores, MAX_NODE_SCORE)
            out = top + low - scores
            out *= MAX_NODE_SCORE
            out //= top
            return out
        _data, ignored, _slots = pre
        valid = ~ignored
        if not valid.any():
            return np.zeros_like(scores)
        top, low = int(scores[valid].max()), int(scores[valid].min())
        if top == 0:
            return np.where(valid, MAX_NODE_SCORE, 0)
        return np.where(valid, MAX_NODE_SCORE * (top + low - scores) // top, 0)
