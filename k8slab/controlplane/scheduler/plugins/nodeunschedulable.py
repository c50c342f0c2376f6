"""NodeUnschedulable: a cordoned node (``spec.unschedulable: true``) takes no new pods.

A pod that tolerates the ``node.kubernetes.io/unschedulable:NoSchedule`` taint
(DaemonSet pods do) ignores the cordon. Reason: ``node(s) were unschedulable``.

Example
-------
>>> from k8slab.controlplane.scheduler.framework import PodInfo, NodeInfo
>>> node = NodeInfo({"metadata": {"name": "n"}, "spec": {"unschedulable": True}}, {}, {}, {}, [], set(), {}, 1)
>>> NodeUnschedulable().filter(None, PodInfo({"metadata": {"name": "p"}, "spec": {}}), node)
Status(UnschedulableAndUnresolvable: node(s) were unschedulable)
"""

from __future__ import annotations

from k8slab.controlplane.scheduler.framework import (
    NODE_ADD,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    UPDATE_NODE_TAINT,
    ClusterEvent,
    FilterPlugin,
    Status,
)
from k8slab.controlplane.scheduler.plugins.tainttoleration import tolerations_tolerate_taint

ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"
TAINT_NODE_UNSCHEDULABLE = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class NodeUnschedulable(FilterPlugin):
    name = "NodeUnschedulable"
    static = True
    events = (NODE_ADD, ClusterEvent("Node", UPDATE_NODE_TAINT, "NodeTaintChange"))

    def static_key(self, pod):
        return pod.static_key("tolerations")

    def filter(self, state, pod, node):
        if node.unschedulable and not tolerations_tolerate_taint(pod.tolerations, TAINT_NODE_UNSCHEDULABLE):
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON_UNSCHEDULABLE)
        return None
