"""ImageLocality: prefer nodes that already have the pod's container images (weight 1).

For each container image found in the node's ``status.images``, the image
size counts scaled by how widespread it is (``size * nodesWithImage /
allNodes``, so an image every node has does not pull pods to any one node).
The sum is clamped between 23 MB and 1000 MB per container and mapped to 0–100.
Nodes whose kubelet reports no images all score 0.

Example
-------
>>> calculate_priority(23 * MB, 1), calculate_priority(1000 * MB, 1)
(0, 100)
"""

from __future__ import annotations

import numpy as np

from k8slab.controlplane.scheduler.framework import MAX_NODE_SCORE, ScorePlugin

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


def calculate_priority(sum_scores, num_containers: int):
    max_threshold = MAX_CONTAINER_THRESHOLD * num_containers
    clamped = np.clip(sum_scores, MIN_THRESHOLD, max_threshold)
    out = MAX_NODE_SCORE * (clamped - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)
    return int(out) if np.ndim(out) == 0 else out


class ImageLocality(ScorePlugin):
    name = "ImageLocality"
    weight = 1
    events = ()

    def score(self, state, pod, node) -> int:
        total = 0
        for image in pod.images:
            state_ = node.image_states.get(image)
            if state_ is not None:
                size, num = state_
                total += int(size * (num / node.num_nodes))
        return calculate_priority(total, max(pod.num_containers, 1))

    def score_nodes(self, state, pod, cache, slots):
        if not any(image in cache.images for image in pod.images):
            return np.int64(0)  # no node has any of the images: every node scores 0
        total = np.zeros(len(slots), dtype=np.int64)
        n = max(cache.num_nodes, 1)
        for image in pod.images:
            sizes = cache.images.get(image)
            if sizes is None:
                continue
            spread = cache.image_nodes[image] / n
            total += (sizes[slots] * spread).astype(np.int64)
        return calculate_priority(total, max(pod.num_containers, 1))
