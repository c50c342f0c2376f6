"""What the figures read from a cluster, and whose each pod is.

Figures are observers, not components: they read the stored objects the way the
API server itself does (``APIServer.list_objects``, straight from etcd) instead of
sending requests, so drawing a figure leaves no trace entry and changes nothing.

A pod's *owner* is found by walking its controller ``ownerReferences`` up, as
``kubectl`` and the garbage collector do: a pod of a Deployment points at a
ReplicaSet, which points at the Deployment; a Job's pod at a Job, which may point at
a CronJob. A mirror pod (the API's copy of a static pod) is owned by its Node; a
pod with no controller is its own owner.

Example
-------
>>> import k8slab
>>> c = k8slab.Cluster(workers=1, seed=0)
>>> owners = Ownership(c)
>>> sorted({str(owners.owner_of(p)) for p in objects(c, "pods")})
['Deployment kube-system/coredns', 'static pods']
"""

from __future__ import annotations

from typing import NamedTuple

from k8slab.api.objects import controller_of
from k8slab.viz.palette import owner_colour


def objects(c, resource: str, namespace: str | None = None) -> list[dict]:
    """The stored objects of ``resource`` (shared: never change them), in key order; no API request."""
    kind = c.kinds.resolve(resource)
    return c.api.list_objects(kind, namespace)


def get_object(c, resource: str, name: str, namespace: str | None = None) -> dict | None:
    """One stored object, or ``None``."""
    kind = c.kinds.resolve(resource)
    kv = c.etcd.get(kind.etcd_key(name, namespace if kind.namespaced else None))
    return None if kv is None else kv.value


class Owner(NamedTuple):
    """The top controller of a pod: ``Deployment default/web``, ``static pods``, ``Pod default/client``."""

    kind: str
    namespace: str | None
    name: str

    @property
    def static(self) -> bool:
        return self.kind == "Node"

    @property
    def label(self) -> str:
        """Short text for legends: ``Deployment web`` (namespace added outside ``default``)."""
        if self.static:
            return "static pods"
        ns = "" if self.namespace in (None, "default") else f"{self.namespace}/"
        return f"{self.kind} {ns}{self.name}"

    def __str__(self) -> str:
        if self.static:
            return "static pods"
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


#: Kinds whose own controller owner is worth following up (ReplicaSet → Deployment, Job → CronJob).
_FOLLOW = {"ReplicaSet": "replicasets", "Job": "jobs"}


class Ownership:
    """Finds the owner of pods (and their colours) for one cluster, reading each owner kind once."""

    def __init__(self, c, *, history: bool = False):
        self.c = c
        # with history, owners deleted since (an old ReplicaSet) are still found in etcd's history
        self.history = history
        self._parents: dict[str, dict[tuple[str, str], dict | None]] = {}

    def _parent(self, kind: str, namespace: str, name: str) -> dict | None:
        resource = _FOLLOW.get(kind)
        if resource is None:
            return None
        table = self._parents.get(kind)
        if table is None:
            if self.history:
                kind_ = self.c.kinds.resolve(resource)
                found = [ev.kv.value for ev in
                         self.c.etcd.changes_since(kind_.etcd_prefix, max(self.c.etcd.compact_revision, 0))]
            else:
                found = objects(self.c, resource)
            # later versions win: the last known owner of each object
            table = self._parents[kind] = {
                (o["metadata"].get("namespace"), o["metadata"]["name"]): controller_of(o) for o in found
            }
        return table.get((namespace, name))

    def owner_of(self, pod: dict) -> Owner:
        meta = pod.get("metadata") or {}
        ns = meta.get("namespace")
        ref = controller_of(pod)
        if ref is None:
            return Owner("Pod", ns, meta.get("name", ""))
        if ref.get("kind") == "Node":
            # one owner for every static pod: the kubelet runs them from files, no controller does
            return Owner("Node", ns, "")
        kind, name = ref.get("kind", ""), ref.get("name", "")
        for _ in range(4):  # owner chains are short; a cycle must not hang a figure
            up = self._parent(kind, ns, name)
            if up is None:
                break
            kind, name = up.get("kind", ""), up.get("name", "")
        return Owner(kind, ns, name)

    def colour(self, owner: Owner) -> str:
        return owner_colour(owner.name, owner.namespace, cluster=self.c, static=owner.static)
