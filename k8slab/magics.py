"""IPython magics: ``%kubectl …`` and ``%%apply`` act on the notebook's current cluster.

The current cluster is the one created last (``k8slab.Cluster(...)``).

Example (in a notebook)::

    %load_ext k8slab
    c = k8slab.Cluster(workers=2)
    %kubectl get nodes

    %%apply
    apiVersion: v1
    kind: Namespace
    metadata: {name: team-a}
"""

from __future__ import annotations

from k8slab.api.errors import K8sLabError


def _cluster():
    from k8slab.cluster import current_cluster

    c = current_cluster()
    if c is None:
        raise K8sLabError("no cluster yet: create one first with c = k8slab.Cluster()")
    return c


def kubectl_magic(line: str):
    """``%kubectl get pods -o wide`` — run kubectl against the current cluster."""
    return _cluster().kubectl(line)


def apply_magic(line: str, cell: str):
    """``%%apply [-n NAMESPACE]`` — apply the cell's YAML to the current cluster."""
    args = line.split()
    namespace = None
    if len(args) >= 2 and args[0] in ("-n", "--namespace"):
        namespace = args[1]
    try:
        lines = _cluster().apply(cell, namespace=namespace)
    except K8sLabError as e:
        # Show the error the way kubectl would, not as a Python traceback.
        print(str(e))
        return None
    print("\n".join(lines))
    return None


def register(ipython) -> None:
    ipython.register_magic_function(kubectl_magic, magic_kind="line", magic_name="kubectl")
    ipython.register_magic_function(apply_magic, magic_kind="cell", magic_name="apply")
