"""``k8slab.widgets``: ipywidgets dashboards to drive a cluster by clicking.

=====================  ===============================================================
``ClusterLab``         add / fail / cordon nodes, apply manifests, step or run the clock
``SchedulerExplorer``  a pod's requests, node selector and tolerations → the scheduler's verdict
``TrafficExplorer``    a Service's replicas and readiness → how its requests spread
``StepThrough``        the API calls behind an action, one message at a time
=====================  ===============================================================

Each dashboard is an ``ipywidgets.VBox``: put it last in a cell to show it. Every
value it shows is also a plain attribute (``lab.pods_text.text``, ``lab.figure``) and
every button has ``.click()``, so notebooks and tests can drive the dashboards
without a browser. Figures are shown as PNG images (``ipywidgets.Image``), which
need nothing but the widget state to appear.

Example
-------
>>> import k8slab
>>> from k8slab.widgets import ClusterLab
>>> ClusterLab(k8slab.Cluster(workers=1, seed=0))
ClusterLab(Cluster(2 nodes, 8 pods, t=10.5s))
"""

from k8slab.widgets.clusterlab import ClusterLab
from k8slab.widgets.scheduling import SchedulerExplorer
from k8slab.widgets.stepthrough import StepThrough
from k8slab.widgets.traffic import TrafficExplorer

__all__ = ["ClusterLab", "SchedulerExplorer", "StepThrough", "TrafficExplorer"]
