"""NodeAffinity: ``nodeSelector`` and ``affinity.nodeAffinity`` against the node's labels.

* **Filter** — the node must carry every ``nodeSelector`` label, and match at
  least one of the ``requiredDuringSchedulingIgnoredDuringExecution``
  ``nodeSelectorTerms`` (each term: all its ``matchExpressions`` and
  ``matchFields``). Reason: ``node(s) didn't match Pod's node affinity/selector``.
* **PreFilter** — a pod pinned by ``matchFields: metadata.name In [...]`` (how
  DaemonSet pods name their node) is only checked against those nodes; the
  others get ``node(s) didn't satisfy plugin(s) [NodeAffinity]``.
* **Score** (weight 2) — the sum of the weights of the
  ``preferredDuringSchedulingIgnoredDuringExecution`` terms the node matches,
  normalised so the best node gets 100.

Example
-------
>>> node = {"metadata": {"name": "n1", "labels": {"disk": "ssd", "cores": "16"}}}
>>> RequiredNodeAffinity.of({"nodeSelector": {"disk": "ssd"}}).match(node)
True
>>> term = {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["8"]}]}
>>> node_selector_term_matches(term, node)
True
"""

from __future__ import annotations

import numpy as np

from k8slab.api.nodeaffinity import (  # noqa: F401  (re-exported: the plugin's historical home)
    RequiredNodeAffinity,
    node_selector_term_matches,
)
from k8slab.controlplane.scheduler.framework import (
    NODE_ADD,
    NODE_UPDATE,
    SKIP,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    FilterPlugin,
    ScorePlugin,
    Status,
    default_normalize,
)

NAME = "NodeAffinity"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_CONFLICT = "pod affinity terms conflict"
ERR_REASON_PREFILTER = "node(s) didn't satisfy plugin(s) [NodeAffinity]"

def preferred_terms(pod) -> list[tuple[int, dict]]:
    na = (pod.affinity or {}).get("nodeAffinity") or {}
    out = []
    for t in na.get("preferredDuringSchedulingIgnoredDuringExecution") or ():
        pref = t.get("preference") or {}
        weight = int(t.get("weight") or 0)
        if weight and (pref.get("matchExpressions") or pref.get("matchFields")):
            out.append((weight, pref))
    return out


class NodeAffinity(FilterPlugin, ScorePlugin):
    """Required node affinity and nodeSelector as a filter; preferred terms as a score (weight 2)."""

    name = NAME
    weight = 2
    static = True
    events = (NODE_ADD, NODE_UPDATE)

    def static_key(self, pod):
        return pod.static_key("nodeAffinity")

    def pre_filter(self, state, pod):
        na = (pod.affinity or {}).get("nodeAffinity") or {}
        req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
        if req is None and not pod.node_selector:
            return Status(SKIP)
        terms = (req or {}).get("nodeSelectorTerms") or []
        if not terms:
            return None
        names: set[str] | None = None
        for t in terms:
            term_names = None
            for f in t.get("matchFields") or ():
                if f.get("key") == "metadata.name" and f.get("operator") == "In":
                    s = set(f.get("values") or ())
                    term_names = s if term_names is None else term_names & s
            if term_names is None:
                return None  # this term does not pin names: every node may match (terms are ORed)
            names = term_names if names is None else names | term_names
        if names is not None and not names:
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_CONFLICT)
        return names

    def filter(self, state, pod, node):
        if not RequiredNodeAffinity.of(pod.spec).match(node.obj):
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_POD)
        return None

    def pre_score(self, state, pod, slots):
        return None if preferred_terms(pod) else Status(SKIP)

    def score(self, state, pod, node) -> int:
        return sum(w for w, term in preferred_terms(pod) if node_selector_term_matches(term, node.obj))

    def normalize(self, state, pod, scores: np.ndarray) -> np.ndarray:
        return default_normalize(scores)
