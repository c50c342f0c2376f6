"""``k8slab.plot``: the figures a notebook draws (re-exported from :mod:`k8slab.viz`).

>>> import k8slab
>>> from k8slab import plot
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> fig = plot.cluster(c)
>>> fig.k8slab["nodes"]
['control-plane', 'worker-1']
>>> repr(fig).startswith("<k8slab figure: cluster, 2 nodes")
True
"""

from k8slab.viz import (
    cluster,
    etcd,
    owner_colour,
    placement,
    request_path,
    scheduling,
    sequence,
    timeline,
    topology,
    traffic,
)

__all__ = ["cluster", "etcd", "owner_colour", "placement", "request_path", "scheduling", "sequence",
           "timeline", "topology", "traffic"]
