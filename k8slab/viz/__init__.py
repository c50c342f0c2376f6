"""k8slab's figures: matplotlib and networkx pictures of a cluster, for learners.

Every function returns a :class:`~k8slab.viz.style.LabFigure` (a matplotlib
``Figure`` that shows itself in a notebook) and never calls ``plt.show()``;
``fig.k8slab`` says what was drawn. Colours agree across figures
(:func:`~k8slab.viz.palette.owner_colour`). Figures only read the cluster.

One module per family of figures:

=====================  ==========================================================
``nodes``              ``cluster``: nodes, their pods, their requests
``graph``              ``topology``: nodes, pods, Services, Ingresses as a graph
``messages``           ``sequence``: who talked to whom, from the trace
``decisions``          ``scheduling``: the scheduler's filters and scores for a pod
``timelines``          ``placement`` and ``timeline``: pods over virtual time
``network``            ``traffic`` and ``request_path``: requests through Services
``store``              ``etcd``: keys and revisions, or the history of one key
=====================  ==========================================================
"""

from k8slab.viz.decisions import scheduling
from k8slab.viz.graph import topology
from k8slab.viz.messages import sequence
from k8slab.viz.network import request_path, traffic
from k8slab.viz.nodes import cluster
from k8slab.viz.palette import owner_colour
from k8slab.viz.store import etcd
from k8slab.viz.timelines import placement, timeline

__all__ = ["cluster", "etcd", "owner_colour", "placement", "request_path", "scheduling", "sequence",
           "timeline", "topology", "traffic"]
