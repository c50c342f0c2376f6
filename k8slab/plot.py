"""``k8slab.plot``: the figures a notebook draws (re-exported from :mod:`k8slab.viz`).

>>> import k8slab
>>> from k8slab import plot
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> fig = plot.cluster(c)
>>> fig.k8slab["nodes"]
['control-plane', 'worker-1']
>>> repr(fig).startswith("<k8slab figure: cluster, 2 nodes")
True

``DISPLAY_DPI`` is the resolution of the pictures a notebook shows (and stores): set
``plot.DISPLAY_DPI = 72`` for smaller notebooks, or 150 for sharper pictures.

>>> DISPLAY_DPI
100
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

#: Dots per inch of the PNG a figure shows itself as in a notebook (``fig._repr_mimebundle_``).
DISPLAY_DPI = 100

__all__ = ["DISPLAY_DPI", "cluster", "etcd", "owner_colour", "placement", "request_path", "scheduling",
           "sequence", "timeline", "topology", "traffic"]
