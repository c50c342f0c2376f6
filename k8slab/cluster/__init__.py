"""The learner's front door: :class:`Cluster` wires every component onto one virtual clock."""

from k8slab.cluster.cluster import Cluster, current_cluster

__all__ = ["Cluster", "current_cluster"]
