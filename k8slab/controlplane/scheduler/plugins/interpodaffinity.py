"""InterPodAffinity: place pods near (affinity) or away from (anti-affinity) other pods.

k8slab simplification (for now): ``podAffinity`` / ``podAntiAffinity`` are not
evaluated yet — the plugin is registered with its real name and weight (2) but
skips every pod, as the real one does for pods without affinity terms when no
running pod has any.
"""

from __future__ import annotations

from k8slab.controlplane.scheduler.framework import (
    ALL,
    NODE_ADD,
    SKIP,
    ClusterEvent,
    ScorePlugin,
    Status,
)


class InterPodAffinity(ScorePlugin):
    name = "InterPodAffinity"
    weight = 2
    events = (ClusterEvent("Pod", ALL, "Pod"), NODE_ADD)

    def pre_score(self, state, pod, slots):
        return Status(SKIP)
