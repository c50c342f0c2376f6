"""The Node authorizer: what a kubelet may read and write, limited to its own node.

A kubelet authenticates as ``system:node:<node name>`` in the group ``system:nodes``.
The Node authorizer (first in kubeadm's ``--authorization-mode=Node,RBAC``) allows
it the ``system:node`` rules (register its Node, report status, read pods, create
mirror pods and events ...) with these narrowings:

* Secrets, ConfigMaps, PersistentVolumeClaims and PersistentVolumes only when a
  pod bound to that node refers to them (``no relationship found between node
  'worker-1' and this object`` otherwise), and only for reading;
* Leases only its own, in ``kube-node-lease``.

Anything it does not allow, it leaves to RBAC (no binding grants ``system:node``
any more, so that usually means denied). Other users get no opinion.

Follows ``plugin/pkg/auth/authorizer/node`` (node_authorizer.go, graph.go) of
Kubernetes v1.30.
k8slab simplifies: the graph is kept from etcd synchronously (no informer delay) and
holds pods' references only (no VolumeAttachments, ResourceClaims or token requests).

Example
-------
>>> from k8slab.apiserver.request import UserInfo
>>> NodeAuthorizer.node_name(UserInfo("system:node:worker-1", ("system:nodes",)))
'worker-1'
"""

from __future__ import annotations

from collections import Counter

from k8slab.apiserver.rbac_bootstrap import node_rules
from k8slab.apiserver.request import UserInfo

NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
NODE_LEASE_NAMESPACE = "kube-node-lease"

# what a pod can refer to, by the resource the kubelet reads
_GRAPH_RESOURCES = {"secrets", "configmaps", "persistentvolumeclaims", "persistentvolumes", "serviceaccounts"}


def pod_references(pod: dict) -> list[tuple[str, str]]:
    """``(resource, name)`` of each Secret, ConfigMap, PVC and ServiceAccount a pod uses.

    >>> pod = {"metadata": {"name": "p"}, "spec": {"serviceAccountName": "sa", "volumes": [
    ...     {"name": "v", "configMap": {"name": "cfg"}}], "containers": [
    ...     {"name": "c", "envFrom": [{"secretRef": {"name": "s"}}]}]}}
    >>> sorted(pod_references(pod))
    [('configmaps', 'cfg'), ('secrets', 's'), ('serviceaccounts', 'sa')]
    """
    spec = pod.get("spec") or {}
    refs: list[tuple[str, str]] = []
    if spec.get("serviceAccountName"):
        refs.append(("serviceaccounts", spec["serviceAccountName"]))
    for s in spec.get("imagePullSecrets") or ():
        if isinstance(s, dict) and s.get("name"):
            refs.append(("secrets", s["name"]))
    for vol in spec.get("volumes") or ():
        if not isinstance(vol, dict):
            continue
        if isinstance(vol.get("secret"), dict) and vol["secret"].get("secretName"):
            refs.append(("secrets", vol["secret"]["secretName"]))
        if isinstance(vol.get("configMap"), dict) and vol["configMap"].get("name"):
            refs.append(("configmaps", vol["configMap"]["name"]))
        if isinstance(vol.get("persistentVolumeClaim"), dict) and vol["persistentVolumeClaim"].get("claimName"):
            refs.append(("persistentvolumeclaims", vol["persistentVolumeClaim"]["claimName"]))
        if isinstance(vol.get("ephemeral"), dict):
            # the claim of a generic ephemeral volume is named <pod>-<volume>
            refs.append(("persistentvolumeclaims", f"{pod['metadata'].get('name')}-{vol.get('name')}"))
        for src in (vol.get("projected") or {}).get("sources") or ():
            if isinstance(src.get("secret"), dict) and src["secret"].get("name"):
                refs.append(("secrets", src["secret"]["name"]))
            if isinstance(src.get("configMap"), dict) and src["configMap"].get("name"):
                refs.append(("configmaps", src["configMap"]["name"]))
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(group) or ():
            if not isinstance(c, dict):
                continue
            for e in c.get("envFrom") or ():
                for key, resource in (("secretRef", "secrets"), ("configMapRef", "configmaps")):
                    if isinstance(e.get(key), dict) and e[key].get("name"):
                        refs.append((resource, e[key]["name"]))
            for e in c.get("env") or ():
                vf = e.get("valueFrom") if isinstance(e, dict) else None
                for key, resource in (("secretKeyRef", "secrets"), ("configMapKeyRef", "configmaps")):
                    if isinstance(vf, dict) and isinstance(vf.get(key), dict) and vf[key].get("name"):
                        refs.append((resource, vf[key]["name"]))
    return refs


class NodeAuthorizer:
    """Authorizes kubelets (see module docstring); ``authorize(user, attrs) -> (allowed, reason)``."""

    def __init__(self, api):
        from k8slab.apiserver.rbac import CompiledRule  # rbac imports this module

        self.api = api
        self.rules = [CompiledRule(r) for r in node_rules()]
        # node -> (resource, namespace, name) -> how many of its pods refer to it
        self.graph: dict[str, Counter] = {}
        self._pods: dict[str, tuple[str, dict, list[tuple[str, str, str]]]] = {}
        pods = api.kinds.resolve("pods")
        for kv in api.etcd.range(pods.etcd_prefix):
            self._put(kv.key, kv.value)
        api.etcd.watch(pods.etcd_prefix, self._changed)

    def __repr__(self) -> str:
        return f"NodeAuthorizer({len(self._pods)} bound pods)"

    @staticmethod
    def node_name(user: UserInfo) -> str | None:
        """The node a user is the kubelet of (``NodeIdentity``), or ``None``."""
        if NODES_GROUP not in user.groups or not user.name.startswith(NODE_USER_PREFIX):
            return None
        return user.name[len(NODE_USER_PREFIX):] or None

    # -- the graph ---------------------------------------------------------------------------------
    def _changed(self, ev) -> None:
        if ev.type == "DELETE":
            self._remove(ev.kv.key)
        else:
            self._put(ev.kv.key, ev.kv.value)

    def _put(self, key: str, pod: dict) -> None:
        spec = pod.get("spec") or {}
        node = spec.get("nodeName") or ""
        prev = self._pods.get(key)
        # status writes keep the same spec object: nothing the graph holds can have changed
        if prev is not None and prev[0] == node and prev[1] is spec:
            return
        self._remove(key)
        if not node:
            return
        ns = pod["metadata"].get("namespace") or ""
        refs = [(resource, ns, name) for resource, name in pod_references(pod)]
        counter = self.graph.setdefault(node, Counter())
        counter.update(refs)
        self._pods[key] = (node, spec, refs)

    def _remove(self, key: str) -> None:
        prev = self._pods.pop(key, None)
        if prev is None:
            return
        counter = self.graph.get(prev[0])
        if counter is not None:
            counter.subtract(prev[2])
            for ref in prev[2]:
                if counter[ref] <= 0:
                    del counter[ref]

    def has_path(self, node: str, resource: str, namespace: str, name: str) -> bool:
        """Does a pod bound to ``node`` refer to this object (a PV: through one of its claims)?"""
        counter = self.graph.get(node) or {}
        if resource != "persistentvolumes":
            return counter.get((resource, namespace, name), 0) > 0
        pvcs = self.api.kinds.resolve("persistentvolumeclaims")
        for res, ns, claim in counter:
            if res == "persistentvolumeclaims":
                kv = self.api.etcd.get(pvcs.etcd_key(claim, ns))
                if kv is not None and (kv.value.get("spec") or {}).get("volumeName") == name:
                    return True
        return False

    # -- deciding ----------------------------------------------------------------------------------
    def authorize(self, user: UserInfo, attrs: dict) -> tuple[bool, str]:
        node = self.node_name(user)
        if node is None:
            return False, ""
        resource = attrs.get("resource")
        group = attrs.get("group") or ""
        if resource and group == "" and resource in ("secrets", "configmaps", "persistentvolumeclaims",
                                                      "persistentvolumes"):
            if resource == "persistentvolumeclaims" and attrs.get("subresource") == "status":
                return self._status_update(node, attrs)
            if resource in ("secrets", "configmaps"):
                return self._read_namespaced(node, attrs)
            return self._get(node, attrs)
        if resource == "leases" and group == "coordination.k8s.io":
            return self._lease(node, attrs)
        if any(r.allows(attrs) for r in self.rules):
            return True, ""
        return False, ""

    def _relationship(self, node: str, attrs: dict) -> tuple[bool, str]:
        if not attrs.get("name"):
            return False, "No Object name found"
        if self.has_path(node, attrs["resource"], attrs.get("namespace") or "", attrs["name"]):
            return True, ""
        return False, f"no relationship found between node '{node}' and this object"

    def _read_namespaced(self, node: str, attrs: dict) -> tuple[bool, str]:
        if attrs.get("verb") not in ("get", "list", "watch"):
            return False, "can only read resources of this type"
        if attrs.get("subresource"):
            return False, "cannot read subresource"
        if not attrs.get("namespace"):
            return False, "can only read namespaced object of this type"
        return self._relationship(node, attrs)

    def _get(self, node: str, attrs: dict) -> tuple[bool, str]:
        if attrs.get("verb") != "get":
            return False, "can only get individual resources of this type"
        if attrs.get("subresource"):
            return False, "cannot get subresource"
        return self._relationship(node, attrs)

    def _status_update(self, node: str, attrs: dict) -> tuple[bool, str]:
        if attrs.get("verb") not in ("update", "patch"):
            return False, "can only get/update/patch this type"
        return self._relationship(node, attrs)

    def _lease(self, node: str, attrs: dict) -> tuple[bool, str]:
        verb = attrs.get("verb")
        if verb not in ("get", "create", "update", "patch", "delete"):
            return False, "can only get, create, update, patch, or delete a node lease"
        if attrs.get("namespace") != NODE_LEASE_NAMESPACE:
            return False, f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace'
        if verb != "create" and attrs.get("name") != node:
            return False, "can only access node lease with the same name as the requesting node"
        return True, ""


__all__ = ["NODES_GROUP", "NodeAuthorizer", "pod_references"]
