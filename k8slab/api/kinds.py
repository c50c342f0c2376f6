"""The kinds the simulated API server serves, with the names kubectl knows them by.

Each kind is described once here (group, version, plural, short names, whether it
lives in a namespace, which subresources it has). The API server builds its REST
paths and etcd keys from this table, and kubectl resolves ``po``, ``deploy`` or
``deployments.apps`` through it.

Example
-------
>>> from k8slab.api.kinds import resolve
>>> resolve("deploy").kind
'Deployment'
>>> resolve("pods").etcd_prefix
'/registry/pods/'
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    group: str = ""
    version: str = "v1"
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # etcd stores some resources under a name of their own (e.g. services/specs)
    storage_name: str | None = None
    list_kind: str | None = field(default=None)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource_ref(self) -> str:
        """``deployment.apps`` — the prefix kubectl prints in ``deployment.apps/web created``."""
        return f"{self.singular}.{self.group}" if self.group else self.singular

    @property
    def group_resource(self) -> str:
        """``deployments.apps`` — how API errors name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def etcd_prefix(self) -> str:
        name = self.storage_name or self.plural
        if self.group and self.group not in _LEGACY_STORAGE_GROUPS:
            return f"/registry/{self.group}/{name}/"
        return f"/registry/{name}/"

    def etcd_key(self, name: str, namespace: str | None = None) -> str:
        if self.namespaced:
            return f"{self.etcd_prefix}{namespace}/{name}"
        return f"{self.etcd_prefix}{name}"


# Built-in groups that real kube-apiserver stores without the group in the key
# (e.g. /registry/deployments/default/web, /registry/leases/kube-node-lease/worker-1).
_LEGACY_STORAGE_GROUPS = {
    "apps",
    "batch",
    "coordination.k8s.io",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "discovery.k8s.io",
    "storage.k8s.io",
    "policy",
    "autoscaling",
    "scheduling.k8s.io",
    "events.k8s.io",
}

_KINDS: list[Kind] = [
    Kind("Namespace", "namespaces", namespaced=False, short_names=("ns",), subresources=("status", "finalize")),
    Kind("Node", "nodes", namespaced=False, short_names=("no",), subresources=("status",), storage_name="minions"),
    Kind("Pod", "pods", short_names=("po",), subresources=("status", "binding", "log", "exec", "eviction"), categories=("all",)),
    Kind("Binding", "bindings"),
    Kind("Event", "events", short_names=("ev",)),
    Kind("ConfigMap", "configmaps", short_names=("cm",)),
    Kind("Secret", "secrets"),
    Kind("ServiceAccount", "serviceaccounts", short_names=("sa",)),
    Kind("Service", "services", short_names=("svc",), subresources=("status",), categories=("all",), storage_name="services/specs"),
    Kind("Endpoints", "endpoints", short_names=("ep",), storage_name="services/endpoints"),
    Kind("PersistentVolume", "persistentvolumes", namespaced=False, short_names=("pv",), subresources=("status",)),
    Kind("PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",), subresources=("status",)),
    Kind("ResourceQuota", "resourcequotas", short_names=("quota",), subresources=("status",)),
    Kind("LimitRange", "limitranges", short_names=("limits",)),
    Kind("Deployment", "deployments", group="apps", short_names=("deploy",), subresources=("status", "scale"), categories=("all",)),
    Kind("ReplicaSet", "replicasets", group="apps", short_names=("rs",), subresources=("status", "scale"), categories=("all",)),
    Kind("StatefulSet", "statefulsets", group="apps", short_names=("sts",), subresources=("status", "scale"), categories=("all",)),
    Kind("DaemonSet", "daemonsets", group="apps", short_names=("ds",), subresources=("status",), categories=("all",)),
    Kind("ControllerRevision", "controllerrevisions", group="apps"),
    Kind("Job", "jobs", group="batch", subresources=("status",), categories=("all",)),
    Kind("CronJob", "cronjobs", group="batch", short_names=("cj",), subresources=("status",), categories=("all",)),
    Kind("Lease", "leases", group="coordination.k8s.io"),
    Kind("EndpointSlice", "endpointslices", group="discovery.k8s.io"),
    Kind("Ingress", "ingresses", group="networking.k8s.io", short_names=("ing",), subresources=("status",)),
    Kind("IngressClass", "ingressclasses", group="networking.k8s.io", namespaced=False),
    Kind("StorageClass", "storageclasses", group="storage.k8s.io", namespaced=False, short_names=("sc",)),
    Kind("Role", "roles", group="rbac.authorization.k8s.io"),
    Kind("ClusterRole", "clusterroles", group="rbac.authorization.k8s.io", namespaced=False),
    Kind("RoleBinding", "rolebindings", group="rbac.authorization.k8s.io"),
    Kind("ClusterRoleBinding", "clusterrolebindings", group="rbac.authorization.k8s.io", namespaced=False),
    Kind("PriorityClass", "priorityclasses", group="scheduling.k8s.io", namespaced=False, short_names=("pc",)),
    Kind(
        "CustomResourceDefinition",
        "customresourcedefinitions",
        group="apiextensions.k8s.io",
        namespaced=False,
        short_names=("crd", "crds"),
        subresources=("status",),
    ),
]


class KindRegistry:
    """Look-up of kinds by kind name, plural, singular, short name or ``plural.group``."""

    def __init__(self, kinds: list[Kind]):
        self._by_plural: dict[str, Kind] = {}
        self._aliases: dict[str, Kind] = {}
        self._by_kind: dict[tuple[str, str], Kind] = {}
        for k in kinds:
            self.register(k)

    def register(self, k: Kind) -> None:
        self._by_plural[k.group_resource] = k
        self._by_kind[(k.group, k.kind)] = k
        for alias in (k.plural, k.singular, k.kind, *k.short_names, k.group_resource, k.resource_ref):
            self._aliases.setdefault(alias.lower(), k)

    def unregister(self, k: Kind) -> None:
        self._by_plural.pop(k.group_resource, None)
        self._by_kind.pop((k.group, k.kind), None)
        for alias in [a for a, v in self._aliases.items() if v is k]:
            del self._aliases[alias]

    def resolve(self, name: str) -> Kind | None:
        """Find a kind by any name kubectl accepts for it (case-insensitive)."""
        return self._aliases.get(name.lower())

    def for_object(self, api_version: str, kind: str) -> Kind | None:
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        k = self._by_kind.get((group, kind))
        if k is not None and k.api_version == api_version:
            return k
        return None

    def for_kind_name(self, kind: str) -> Kind | None:
        for (_group, name), k in self._by_kind.items():
            if name == kind:
                return k
        return None

    def all(self) -> list[Kind]:
        return list(self._by_plural.values())

    def known_names(self) -> list[str]:
        return sorted(self._aliases)


def default_registry() -> KindRegistry:
    """A fresh registry of the built-in kinds (each cluster owns one, since CRDs add to it)."""
    return KindRegistry(_KINDS)


_BUILTIN = default_registry()


def resolve(name: str) -> Kind | None:
    """Resolve a built-in kind by any of its names (see :class:`KindRegistry`)."""
    return _BUILTIN.resolve(name)
