"""NodeName: a pod that names a node (``spec.nodeName``) fits only that node.

Reason: ``node(s) didn't match the requested node name``. (A pod created with
``nodeName`` already set never reaches the scheduler; the check matters for
plugins and preemption that reason about hypothetical placements.)
"""

from __future__ import annotations

from k8slab.controlplane.scheduler.framework import (
    NODE_ADD,
    NODE_UPDATE,
    SKIP,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    FilterPlugin,
    Status,
)

ERR_REASON = "node(s) didn't match the requested node name"


class NodeName(FilterPlugin):
    name = "NodeName"
    static = True
    events = (NODE_ADD, NODE_UPDATE)

    def static_key(self, pod):
        return pod.node_name

    def pre_filter(self, state, pod):
        return None if pod.node_name else Status(SKIP)

    def filter(self, state, pod, node):
        if pod.node_name and pod.node_name != node.name:
            return Status(UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_REASON)
        return None
