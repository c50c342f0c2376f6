"""The in-tree plugins of kube-scheduler v1.30's default profile, under their real names.

Filter order (``getDefaultPlugins``): NodeUnschedulable, NodeName,
TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, PodTopologySpread,
InterPodAffinity.
Score weights: TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1,
PodTopologySpread 2, InterPodAffinity 2, NodeResourcesBalancedAllocation 1,
ImageLocality 1. ``VolumeBinding`` (between NodeResourcesFit and PodTopologySpread
in v1.30) is available but not in this list yet: it needs the PersistentVolume
controller running; other volume plugins (limits, zones) are not simulated.

Example
-------
>>> [p.name for p in default_plugins()][:4]
['NodeUnschedulable', 'NodeName', 'TaintToleration', 'NodeAffinity']
"""

from __future__ import annotations

from k8slab.controlplane.scheduler.plugins.imagelocality import ImageLocality
from k8slab.controlplane.scheduler.plugins.interpodaffinity import InterPodAffinity
from k8slab.controlplane.scheduler.plugins.nodeaffinity import NodeAffinity
from k8slab.controlplane.scheduler.plugins.nodename import NodeName
from k8slab.controlplane.scheduler.plugins.nodeports import NodePorts
from k8slab.controlplane.scheduler.plugins.noderesources import (
    NodeResourcesBalancedAllocation,
    NodeResourcesFit,
)
from k8slab.controlplane.scheduler.plugins.nodeunschedulable import NodeUnschedulable
from k8slab.controlplane.scheduler.plugins.podtopologyspread import PodTopologySpread
from k8slab.controlplane.scheduler.plugins.tainttoleration import TaintToleration
from k8slab.controlplane.scheduler.plugins.volumebinding import VolumeBinding


def default_plugins() -> list:
    """Fresh instances of the default profile's plugins, in the v1.30 MultiPoint order."""
    return [
        NodeUnschedulable(),
        NodeName(),
        TaintToleration(),
        NodeAffinity(),
        NodePorts(),
        NodeResourcesFit(),
        PodTopologySpread(),
        InterPodAffinity(),
        NodeResourcesBalancedAllocation(),
        ImageLocality(),
    ]


__all__ = [
    "ImageLocality",
    "InterPodAffinity",
    "NodeAffinity",
    "NodeName",
    "NodePorts",
    "NodeResourcesBalancedAllocation",
    "NodeResourcesFit",
    "NodeUnschedulable",
    "PodTopologySpread",
    "TaintToleration",
    "VolumeBinding",
    "default_plugins",
]
