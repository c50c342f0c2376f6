"""TaintToleration: a node's taints repel pods that do not tolerate them.

* **Filter** — a ``NoSchedule`` or ``NoExecute`` taint the pod does not tolerate
  rejects the node: ``node(s) had untolerated taint {key: value}`` (the first
  such taint, in the node's order). Not-ready and unreachable nodes carry
  ``node.kubernetes.io/not-ready`` / ``unreachable`` ``NoSchedule`` taints (set
  by the node lifecycle controller), so this plugin is what keeps pods off them.
* **Score** (weight 3) — counts the ``PreferNoSchedule`` taints the pod does not
  tolerate; fewer is better (normalised in reverse: no such taint → 100).

Example
-------
>>> taint = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
>>> tolerates({"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}, taint)
True
>>> tolerates({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}, taint)
False
"""

from __future__ import annotations

import numpy as np

from k8slab.controlplane.scheduler.framework import (
    NODE_ADD,
    NODE_UPDATE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    FilterPlugin,
    ScorePlugin,
    Status,
    default_normalize,
)

NAME = "TaintToleration"


def tolerates(toleration: dict, taint: dict) -> bool:
    """``Toleration.ToleratesTaint``: same effect (or any), same key (or any), Equal value or Exists."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return op == "Exists"


def tolerations_tolerate_taint(tolerations: list, taint: dict) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


def find_untolerated_taint(taints: list, tolerations: list, effects=("NoSchedule", "NoExecute")) -> dict | None:
    """The first taint with one of ``effects`` that no toleration tolerates (``FindMatchingUntoleratedTaint``)."""
    for taint in taints:
        if taint.get("effect") in effects and not tolerations_tolerate_taint(tolerations, taint):
            return taint
    return None


def untolerated_reason(taint: dict) -> str:
    return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value') or ''}}}"


class TaintToleration(FilterPlugin, ScorePlugin):
    """Filter by NoSchedule/NoExecute taints; score by PreferNoSchedule taints (weight 3)."""

    name = NAME
    weight = 3
    static = True
    events = (NODE_ADD, NODE_UPDATE)

    def static_key(self, pod):
        return pod.static_key("tolerations")

    def filter(self, state, pod, node):
        taint = find_untolerated_taint(node.taints, pod.tolerations)
        if taint is not None:
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, untolerated_reason(taint))
        return None

    def pre_score(self, state, pod, slots):
        return None

    def score(self, state, pod, node) -> int:
        # Only tolerations that can tolerate PreferNoSchedule count (empty effect means all effects).
        tols = [t for t in pod.tolerations if (t.get("effect") or "PreferNoSchedule") == "PreferNoSchedule"]
        return sum(1 for taint in node.taints
                   if taint.get("effect") == "PreferNoSchedule" and not tolerations_tolerate_taint(tols, taint))

    def normalize(self, state, pod, scores: np.ndarray) -> np.ndarray:
        return default_normalize(scores, reverse=True)

