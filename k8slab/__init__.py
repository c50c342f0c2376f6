"""k8slab: a faithful, deterministic, step-by-step Kubernetes cluster simulator for learning.

>>> import k8slab
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> c.kubectl("get nodes").splitlines()[0].split()
['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']

Plotting (``k8slab.plot``) and widgets (``k8slab.widgets``) load only when used.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Cluster", "Operator", "Requeue", "__version__", "load_ipython_extension"]


def __getattr__(name: str):
    # Keep `import k8slab` light: the simulator loads on first use.
    if name == "Cluster":
        from k8slab.cluster import Cluster

        return Cluster
    if name in ("Operator", "Requeue"):
        from k8slab import operator

        return getattr(operator, name)
    if name in ("plot", "widgets", "course"):
        import importlib

        return importlib.import_module(f"k8slab.{name}")
    raise AttributeError(f"module 'k8slab' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    """``%load_ext k8slab``: registers ``%kubectl`` and ``%%apply``."""
    from k8slab.magics import register

    register(ipython)
