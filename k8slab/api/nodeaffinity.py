"""Node affinity matching shared by the scheduler and the kubelet (``k8s.io/component-helpers``).

Both kube-scheduler's NodeAffinity plugin and the kubelet's admission check ask the same
question — does this node satisfy the pod's ``nodeSelector`` and required node affinity? —
with the same code, so it lives below both.

Example
-------
>>> node = {"metadata": {"name": "worker-1", "labels": {"disk": "ssd"}}}
>>> RequiredNodeAffinity.of({"nodeSelector": {"disk": "ssd"}}).match(node)
True
>>> term = {"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}
>>> node_selector_term_matches(term, node)
False
"""

from __future__ import annotations

from k8slab.api.selectors import (
    DOES_NOT_EXIST,
    EXISTS,
    GREATER_THAN,
    IN,
    LESS_THAN,
    NOT_IN,
    Requirement,
)

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
