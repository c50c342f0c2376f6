"""kube-scheduler: the scheduling queue, the framework and its plugins, and ``explain()``.

>>> from k8slab.controlplane.scheduler import Scheduler, FilterPlugin, ScorePlugin
"""

from k8slab.controlplane.scheduler.explain import Explanation, NodeResult, PluginScore
from k8slab.controlplane.scheduler.framework import (
    UNSCHEDULABLE,
    UNSCHEDULABLE_AND_UNRESOLVABLE,
    ClusterEvent,
    FilterPlugin,
    NodeInfo,
    PodInfo,
    ScorePlugin,
    Status,
)
from k8slab.controlplane.scheduler.scheduler import DEFAULT_SCHEDULER_NAME, Scheduler

__all__ = [
    "DEFAULT_SCHEDULER_NAME",
    "UNSCHEDULABLE",
    "UNSCHEDULABLE_AND_UNRESOLVABLE",
    "ClusterEvent",
    "Explanation",
    "FilterPlugin",
    "NodeInfo",
    "NodeResult",
    "PluginScore",
    "PodInfo",
    "ScorePlugin",
    "Scheduler",
    "Status",
]
