"""InterPodAffinity: place pods near (affinity) or away from (anti-affinity) other pods.

Two pods are "together" when their nodes have the same value of the term's
``topologyKey`` label (the same node for ``kubernetes.io/hostname``, the same
zone for ``topology.kubernetes.io/zone``).

* **Filter** (``requiredDuringSchedulingIgnoredDuringExecution``), three checks
  per node, each with the real reason:

  - the pod's ``podAffinity``: every term needs a matching pod in the node's
    domain (and the node must have every topology label) — ``node(s) didn't
    match pod affinity rules`` (unresolvable: preemption cannot help). The first
    pod of a group whose affinity selects itself may go anywhere, as long as no
    pod in the cluster matches yet;
  - the pod's ``podAntiAffinity``: no matching pod in the node's domain —
    ``node(s) didn't match pod anti-affinity rules``;
  - the *existing* pods' required anti-affinity, turned round: a pod already
    running whose anti-affinity selects the newcomer keeps it out of its domain
    — ``node(s) didn't satisfy existing pods anti-affinity rules``.

* **Score** (weight 2; ``preferredDuringSchedulingIgnoredDuringExecution``):
  per domain, the weights of the pod's preferred affinity terms that existing
  pods match, minus those of its preferred anti-affinity terms; plus, the
  other way round, the existing pods' preferred terms the newcomer matches and
  1 (``hardPodAffinityWeight``) per required affinity term. Normalised to 0–100
  between the lowest and the highest node.

When no pod in the cluster has (anti-)affinity terms and the incoming pod has
none, PreFilter and PreScore say *Skip* at once: the plugin costs nothing.

k8slab simplifications: pods nominated by preemption are not added to the
counts (the real framework adds them through ``AddPod``); ``matchLabelKeys``
is ignored (alpha, off in v1.30).

Example
-------
>>> ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH
"node(s) didn't match pod anti-affinity rules"
"""

from __future__ import annotations

import numpy as np

from k8slab.controlplane.scheduler.framework import (
    ADD,
    ALL,
    MAX_NODE_SCORE,
    SKIP,
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    UPDATE_NODE_LABEL,
    ClusterEvent,
    FilterPlugin,
    Rejections,
    ScorePlugin,
    Status,
)
from k8slab.controlplane.scheduler.plugins.affinityterms import AffinityTerm, PodTerms, parse_terms

NAME = "InterPodAffinity"
ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules"
#: ``InterPodAffinityArgs.hardPodAffinityWeight`` (default 1).
HARD_POD_AFFINITY_WEIGHT = 1

_PRE_FILTER = "PreFilter" + NAME
_PRE_SCORE = "PreScore" + NAME


def terms_of(pod) -> PodTerms:
    """The parsed terms of a :class:`PodInfo` or :class:`PodRecord` (parsed once)."""
    memo = getattr(pod, "memo", None)
    if memo is not None:
        terms = memo.get(NAME)
        if terms is None:
            terms = memo[NAME] = parse_terms(pod.obj)
        return terms
    if pod.terms is None:
        pod.terms = parse_terms(pod.obj)
    return pod.terms


class _Counts(dict):
    """``topologyToMatchedTermCount``: (topology key, value) -> number of matches."""

    def add(self, key: str, labels: dict, n: int) -> None:
        v = labels.get(key)
        if v is None:
            return
        pair = (key, v)
        c = self.get(pair, 0) + n
        if c:
            self[pair] = c
        else:
            self.pop(pair, None)


class _FilterState:
    __slots__ = ("required", "required_anti", "existing", "affinity", "anti", "self_match", "ns_labels")

    def copy(self) -> _FilterState:
        out = _FilterState()
        for name in self.__slots__:
            setattr(out, name, getattr(self, name))
        out.existing, out.affinity, out.anti = _Counts(self.existing), _Counts(self.affinity), _Counts(self.anti)
        return out


class InterPodAffinity(FilterPlugin, ScorePlugin):
    """Required pod (anti-)affinity as a filter, preferred terms as a score (weight 2)."""

    name = NAME
    weight = 2
    events = (ClusterEvent("Pod", ALL, "Pod"), ClusterEvent("Node", ADD | UPDATE_NODE_LABEL, "Node"))

    def __init__(self):
        self._value_index: dict[str, tuple[int, dict[str, int]]] = {}

    # -- helpers -------------------------------------------------------------------------------
    def _node_labels(self, slot: int) -> dict | None:
        cache = self.handle.cache
        if slot < 0 or slot >= cache.capacity or not cache.present[slot]:
            return None  # a pod on a node the cache no longer has: no topology to count it in
        return (cache.nodes[slot].get("metadata") or {}).get("labels") or {}

    def _namespaces(self):
        """The scheduler's namespace lister, started on first use (only namespaceSelector needs it)."""
        informers = getattr(self.handle, "informers", None)
        if informers is None or self.handle.api.kinds.resolve("namespaces") is None:
            return None
        inf = informers.informer("namespaces")
        if not inf.running:
            inf.start()
        return inf.lister

    def _ns_labels_of(self, namespace: str):
        memo: list = []

        def get() -> dict:
            if not memo:
                lister = self._namespaces()
                ns = lister.get(namespace) if lister is not None else None
                memo.append(((ns or {}).get("metadata") or {}).get("labels") or {})
            return memo[0]
        return get

    def _merge(self, terms: list[AffinityTerm]) -> list[AffinityTerm]:
        out = []
        for t in terms:
            if not (t.ns_selector.empty or t.ns_selector.nothing):
                lister = self._namespaces()
                names = [n["metadata"]["name"] for n in lister.list(selector=t.ns_selector)] if lister else []
                t = t.merged(names)
            out.append(t)
        return out

    @staticmethod
    def _matches_incoming(t: AffinityTerm, pod, ns_labels) -> bool:
        # An existing pod's term against the incoming pod: its namespaceSelector needs the labels
        # of the incoming pod's namespace (read only when it comes to that).
        if pod.namespace in t.namespaces:
            return t.selector.matches(pod.labels)
        if t.ns_selector.nothing:
            return False
        return t.ns_selector.matches(ns_labels()) and t.selector.matches(pod.labels)

    def _candidates(self, terms: list[AffinityTerm]) -> list:
        """Pods that match at least one of ``terms`` (an incoming pod's, namespaces merged)."""
        cache = self.handle.cache
        seen: dict[str, object] = {}
        for t in terms:
            groups = [None] if t.all_namespaces else sorted(t.namespaces)
            for ns in groups:
                for rec in cache.matching_pods(ns, t.selector):
                    seen.setdefault(rec.key, rec)
        return list(seen.values())

    def _ids(self, key: str) -> tuple[np.ndarray, dict[str, int]]:
        cache = self.handle.cache
        ids, values = cache.topology_ids(key)
        if ids.shape[0] < cache.capacity:
            ids = np.pad(ids, (0, cache.capacity - ids.shape[0]), constant_values=-1)
        hit = self._value_index.get(key)
        if hit is None or hit[0] != cache.label_generation or len(hit[1]) != len(values):
            hit = self._value_index[key] = (cache.label_generation, {v: i for i, v in enumerate(values)})
        return ids, hit[1]

    def _per_slot(self, counts: dict, key: str) -> tuple[np.ndarray, np.ndarray]:
        """Per node slot: whether it has label ``key``, and the count of its (key, value) pair."""
        ids, index = self._ids(key)
        table = np.zeros(len(index) + 1, dtype=np.int64)
        for (k, v), n in counts.items():
            i = index.get(v) if k == key else None
            if i is not None:
                table[i] = n
        has = ids >= 0
        return has, np.where(has, table[np.where(has, ids, 0)], 0)

    # -- PreFilter / Filter ------------------------------------------------------------------------
    def pre_filter(self, state, pod):
        cache = self.handle.cache
        terms = terms_of(pod)
        if not terms.required and not terms.required_anti and not cache.anti_affinity_pods:
            return Status(SKIP)
        ns_labels = self._ns_labels_of(pod.namespace)
        existing = _Counts()
        for rec in cache.anti_affinity_pods.values():
            labels = self._node_labels(rec.slot)
            if labels is None:
                continue
            for t in terms_of(rec).required_anti:
                if self._matches_incoming(t, pod, ns_labels):
                    existing.add(t.key, labels, 1)
        d = _FilterState()
        d.required, d.required_anti = self._merge(terms.required), self._merge(terms.required_anti)
        d.existing, d.affinity, d.anti, d.ns_labels = existing, _Counts(), _Counts(), ns_labels
        for rec in self._candidates(d.required + d.required_anti):
            self._count(d, rec, 1)
        if not existing and not d.required and not d.required_anti:
            return Status(SKIP)
        d.self_match = bool(d.required) and all(t.matches(pod.namespace, pod.labels) for t in d.required)
        state.write(_PRE_FILTER, d)
        return None

    def _count(self, d: _FilterState, rec, sign: int, labels: dict | None = None) -> None:
        # updateWithAffinityTerms / updateWithAntiAffinityTerms for one existing pod.
        labels = self._node_labels(rec.slot) if labels is None else labels
        if labels is None:
            return
        if d.required and all(t.matches(rec.namespace, rec.labels) for t in d.required):
            for t in d.required:
                d.affinity.add(t.key, labels, sign)
        for t in d.required_anti:
            if t.matches(rec.namespace, rec.labels):
                d.anti.add(t.key, labels, sign)

    def filter_nodes(self, state, pod, cache):
        d = state.read(_PRE_FILTER)
        cap = cache.capacity
        present = cache.present
        aff = np.zeros(cap, dtype=bool)
        anti = np.zeros(cap, dtype=bool)
        existing = np.zeros(cap, dtype=bool)
        if d.required:
            has_all = np.ones(cap, dtype=bool)
            found = np.ones(cap, dtype=bool)
            for t in d.required:
                has, n = self._per_slot(d.affinity, t.key)
                has_all &= has
                found &= n > 0
            first_of_group = not d.affinity and d.self_match
            aff = present & ~(has_all & (found | first_of_group))
        if d.anti:
            for t in d.required_anti:
                _has, n = self._per_slot(d.anti, t.key)
                anti |= n > 0
            anti &= present & ~aff
        if d.existing:
            for key in sorted({k for k, _v in d.existing}):
                _has, n = self._per_slot(d.existing, key)
                existing |= n > 0
            existing &= present & ~aff & ~anti
        return Rejections(aff | anti | existing, [
            (ERR_REASON_AFFINITY_RULES_NOT_MATCH, UNSCHEDULABLE_AND_UNRESOLVABLE, aff),
            (ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH, UNSCHEDULABLE, anti),
            (ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, UNSCHEDULABLE, existing)])

    def filter(self, state, pod, node):
        """Per node; ``node.pods`` may leave out pods (preemption's dry run: ``RemovePod``)."""
        d = state.read(_PRE_FILTER)
        labels = node.labels
        cache = self.handle.cache
        slot = cache.slot_of.get(node.name)
        if slot is not None and len(node.pods) != len(cache.pods_on[slot]):
            kept = {p.key for p in node.pods}
            d = d.copy()
            for rec in cache.pods_on[slot].values():
                if rec.key in kept:
                    continue
                self._count(d, rec, -1, labels)
                if rec.required_anti_affinity:
                    for t in terms_of(rec).required_anti:
                        if self._matches_incoming(t, pod, d.ns_labels):
                            d.existing.add(t.key, labels, -1)
        if d.required:
            found = True
            for t in d.required:
                v = labels.get(t.key)
                if v is None:  # every topology label must exist on the node
                    return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_AFFINITY_RULES_NOT_MATCH)
                if d.affinity.get((t.key, v), 0) <= 0:
                    found = False
            if not found and not (not d.affinity and d.self_match):
                return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_AFFINITY_RULES_NOT_MATCH)
        if d.anti:
            for t in d.required_anti:
                v = labels.get(t.key)
                if v is not None and d.anti.get((t.key, v), 0) > 0:
                    return Status(UNSCHEDULABLE, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH)
        if d.existing:
            for k, v in labels.items():
                if d.existing.get((k, v), 0) > 0:
                    return Status(UNSCHEDULABLE, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH)
        return None

    # -- PreScore / Score / NormalizeScore -----------------------------------------------------------
    def pre_score(self, state, pod, slots):
        cache = self.handle.cache
        terms = terms_of(pod)
        has_constraints = bool(terms.preferred or terms.preferred_anti)
        if len(slots) == 0 or (not has_constraints and not cache.affinity_pods):
            return Status(SKIP)
        topo: dict[str, dict[str, int]] = {}

        def add(t: AffinityTerm, weight: int, labels: dict) -> None:
            v = labels.get(t.key)
            if v is not None:
                values = topo.setdefault(t.key, {})
                values[v] = values.get(v, 0) + weight

        if has_constraints:
            for sign, group in ((1, self._merge(terms.preferred)), (-1, self._merge(terms.preferred_anti))):
                for t in group:
                    for rec in self._candidates([t]):
                        labels = self._node_labels(rec.slot)
                        if labels and t.matches(rec.namespace, rec.labels):
                            add(t, sign * t.weight, labels)
        ns_labels = self._ns_labels_of(pod.namespace)
        for rec in cache.affinity_pods.values():
            labels = self._node_labels(rec.slot)
            if not labels:
                continue
            theirs = terms_of(rec)
            for weight, group in ((HARD_POD_AFFINITY_WEIGHT, theirs.required), (None, theirs.preferred),
                                  (None, theirs.preferred_anti)):
                for t in group:
                    if self._matches_incoming(t, pod, ns_labels):
                        w = weight if weight is not None else t.weight
                        add(t, -w if group is theirs.preferred_anti else w, labels)
        if not topo:
            return Status(SKIP)
        state.write(_PRE_SCORE, topo)
        return None

    def score_nodes(self, state, pod, cache, slots):
        topo = state.read(_PRE_SCORE)
        total = np.zeros(len(slots), dtype=np.int64)
        for key in sorted(topo):
            _has, n = self._per_slot({(key, v): w for v, w in topo[key].items()}, key)
            total += n[slots]
        return total

    def score(self, state, pod, node) -> int:
        topo = state.read(_PRE_SCORE)
        labels = node.labels
        return sum(values.get(labels[key], 0) for key, values in topo.items() if key in labels)

    def normalize(self, state, pod, scores):
        scores = np.asarray(scores, dtype=np.int64)
        if scores.size == 0:
            return scores
        low, high = int(scores.min()), int(scores.max())
        diff = high - low
        if diff <= 0:
            return np.zeros_like(scores)
        # float64(MaxNodeScore) * (float64(score - min) / float64(max - min)), truncated
        return (float(MAX_NODE_SCORE) * ((scores - low) / float(diff))).astype(np.int64)
