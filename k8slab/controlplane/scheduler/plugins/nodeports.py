"""NodePorts: two pods cannot bind the same ``hostPort`` (same protocol, overlapping host IP).

Reason: ``node(s) didn't have free ports for the requested pod ports``.
``0.0.0.0`` (the default ``hostIP``) overlaps every address.

Example
-------
>>> port_conflict({("10.0.0.1", "TCP", 80): 1}, ("0.0.0.0", "TCP", 80))
True
>>> port_conflict({("10.0.0.1", "TCP", 80): 1}, ("10.0.0.2", "TCP", 80))
False
"""

from __future__ import annotations

import numpy as np

from k8slab.controlplane.scheduler.framework import (
    ASSIGNED_POD_DELETE,
    NODE_ADD,
    NODE_UPDATE,
    SKIP,
    UNSCHEDULABLE,
    FilterPlugin,
    Rejections,
    Status,
)

ERR_REASON = "node(s) didn't have free ports for the requested pod ports"
ANY_IP = "0.0.0.0"


def port_conflict(used, want: tuple[str, str, int]) -> bool:
    """``HostPortInfo.CheckConflict``: is ``(ip, protocol, port)`` taken on a node using ``used``?"""
    ip, proto, port = want
    if port <= 0:
        return False
    if ip == ANY_IP:
        return any(u[1] == proto and u[2] == port for u in used)
    return (ANY_IP, proto, port) in used or (ip, proto, port) in used


class NodePorts(FilterPlugin):
    name = "NodePorts"
    events = (ASSIGNED_POD_DELETE, NODE_ADD, NODE_UPDATE)

    def pre_filter(self, state, pod):
        return None if pod.host_ports else Status(SKIP)

    def filter(self, state, pod, node):
        if any(port_conflict(node.used_ports, p) for p in pod.host_ports):
            return Status(UNSCHEDULABLE, ERR_REASON)
        return None

    def filter_nodes(self, state, pod, cache):
        mask = np.zeros(cache.capacity, dtype=bool)
        for slot in cache.order:
            used = cache.ports_on[slot]
            if used and any(port_conflict(used, p) for p in pod.host_ports):
                mask[slot] = True
        return Rejections.uniform(mask, ERR_REASON, UNSCHEDULABLE)
