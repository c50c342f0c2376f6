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

from k8slab.api.selectors import (
    DOES_NOT_EXIST,
    EXISTS,
    GREATER_THAN,
    IN,
    LESS_THAN,
    NOT_IN,
    Requirement,
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

_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST,
              "Gt": GREATER_THAN, "Lt": LESS_THAN}


def _requirement_matches(expr: dict, labels: dict) -> bool:
    op = _OPERATORS.get(expr.get("operator"))
    if op is None:
        return False  # an invalid requirement matches nothing
    return Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())).matches(labels)


def node_selector_term_matches(term: dict, node: dict) -> bool:
    """One ``NodeSelectorTerm``: all expressions and fields hold (an empty term matches nothing)."""
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    m = node.get("metadata") or {}
    labels = m.get("labels") or {}
    if not all(_requirement_matches(e, labels) for e in exprs):
        return False
    for f in fields:
        if f.get("key") != "metadata.name":
            return False
        if not _requirement_matches(f, {"metadata.name": m.get("name", "")}):
            return False
    return True


class RequiredNodeAffinity:
    """``nodeaffinity.GetRequiredNodeAffinity(pod)``: nodeSelector AND (any required term)."""

    __slots__ = ("selector", "terms")

    def __init__(self, selector: dict, terms: list | None):
        self.selector = selector or {}
        self.terms = terms  # None: no required node affinity

    @classmethod
    def of(cls, spec: dict) -> RequiredNodeAffinity:
        na = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
        return cls(spec.get("nodeSelector") or {}, None if req is None else (req.get("nodeSelectorTerms") or []))

    def match(self, node: dict) -> bool:
        labels = (node.get("metadata") or {}).get("labels") or {}
        for k, v in self.selector.items():
            if labels.get(k) != v:
                return False
        if self.terms is None:
            return True
        return any(node_selector_term_matches(t, node) for t in self.terms)


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
