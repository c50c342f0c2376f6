"""What kubeadm sets up: system namespaces, node addresses, the control plane's static pods."""

from __future__ import annotations

from k8slab.apiserver.server import KUBERNETES_VERSION

#: Namespaces every cluster starts with.
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")

#: Nodes get addresses on one L2 network, as kind's Docker network gives them.
NODE_NETWORK_PREFIX = "172.18.0."


def node_internal_ip(index: int) -> str:
    """InternalIP of the ``index``-th node to join (the control plane is 0 → 172.18.0.2)."""
    return f"{NODE_NETWORK_PREFIX}{index + 2}"


_ETCD_VERSION = "3.5.12-0"

# name, image, cpu request, memory request, command
_COMPONENTS = (
    ("etcd", f"registry.k8s.io/etcd:{_ETCD_VERSION}", "100m", "100Mi", "etcd"),
    ("kube-apiserver", f"registry.k8s.io/kube-apiserver:{KUBERNETES_VERSION}", "250m", None, "kube-apiserver"),
    (
        "kube-controller-manager",
        f"registry.k8s.io/kube-controller-manager:{KUBERNETES_VERSION}",
        "200m",
        None,
        "kube-controller-manager",
    ),
    ("kube-scheduler", f"registry.k8s.io/kube-scheduler:{KUBERNETES_VERSION}", "100m", None, "kube-scheduler"),
)


def control_plane_static_pods(node_ip: str) -> list[dict]:
    """The manifests kubeadm writes to ``/etc/kubernetes/manifests`` on the control-plane node.

    The kubelet runs them itself (no scheduler involved) and publishes a *mirror pod*
    for each, named ``<component>-<node name>`` in ``kube-system``.
    """
    pods = []
    for name, image, cpu, memory, command in _COMPONENTS:
        requests = {"cpu": cpu}
        if memory:
            requests["memory"] = memory
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": "kube-system",
                    "labels": {"component": name, "tier": "control-plane"},
                },
                "spec": {
                    "containers": [
                        {
                            "name": name,
                            "image": image,
                            "command": [command],
                            "resources": {"requests": requests},
                        }
                    ],
                    "hostNetwork": True,
                    "priorityClassName": "system-node-critical",
                    "priority": 2000001000,
                },
            }
        )
    return pods


# -- networking add-ons: what kubeadm installs after the control plane ---------------------------

KUBE_PROXY_IMAGE = f"registry.k8s.io/kube-proxy:{KUBERNETES_VERSION}"
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.11.1"

#: kubeadm's Corefile: the ``kubernetes`` plugin answers for the cluster domain, the rest is forwarded.
COREFILE = """\
.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
"""


def kube_proxy_static_pod(node_name: str) -> dict:
    """kube-proxy as a static pod of ``node_name`` (its mirror pod is ``kube-proxy-<node>``).

    kubeadm runs kube-proxy as a DaemonSet; one static pod per node is the same
    picture (one kube-proxy on every node, on the host network) without needing
    the DaemonSet controller at boot.
    """
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": {"k8s-app": "kube-proxy"}},
        "spec": {
            "containers": [{
                "name": "kube-proxy",
                "image": KUBE_PROXY_IMAGE,
                "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                            f"--hostname-override={node_name}"],
                "securityContext": {"privileged": True},
            }],
            "hostNetwork": True,
            "priorityClassName": "system-node-critical",
            "priority": 2000001000,
            "tolerations": [{"operator": "Exists"}],
        },
    }


def kubernetes_service_objects(apiserver_ip: str) -> list[dict]:
    """The ``default/kubernetes`` Service (10.96.0.1) and the endpoints the API server keeps for it."""
    labels = {"component": "apiserver", "provider": "kubernetes"}
    port = {"name": "https", "port": 6443, "protocol": "TCP"}
    return [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kubernetes", "namespace": "default", "labels": labels},
         "spec": {"clusterIP": "10.96.0.1", "type": "ClusterIP", "sessionAffinity": "None",
                  "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}},
        {"apiVersion": "v1", "kind": "Endpoints",
         "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
         "subsets": [{"addresses": [{"ip": apiserver_ip}], "ports": [port]}]},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": "kubernetes"}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": [apiserver_ip], "conditions": {"ready": True, "serving": True,
                                                                   "terminating": False}}],
         "ports": [port]},
    ]


def coredns_objects(replicas: int = 2) -> list[dict]:
    """CoreDNS as kubeadm installs it: ServiceAccount, Corefile ConfigMap, Deployment, ``kube-dns`` Service."""
    labels = {"k8s-app": "kube-dns"}
    meta = {"namespace": "kube-system"}
    probe = {"timeoutSeconds": 5, "successThreshold": 1}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", **meta}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", **meta},
         "data": {"Corefile": COREFILE}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "coredns", **meta, "labels": dict(labels)},
         "spec": {
             "replicas": replicas,
             "selector": {"matchLabels": dict(labels)},
             "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
             "template": {
                 "metadata": {"labels": dict(labels)},
                 "spec": {
                     "priorityClassName": "system-cluster-critical",
                     "serviceAccountName": "coredns",
                     "dnsPolicy": "Default",
                     "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                     {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                     "nodeSelector": {"kubernetes.io/os": "linux"},
                     "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                         "weight": 100,
                         "podAffinityTerm": {
                             "labelSelector": {"matchExpressions": [
                                 {"key": "k8s-app", "operator": "In", "values": ["kube-dns"]}]},
                             "topologyKey": "kubernetes.io/hostname"}}]}},
                     "containers": [{
                         "name": "coredns",
                         "image": COREDNS_IMAGE,
                         "args": ["-conf", "/etc/coredns/Corefile"],
                         "resources": {"limits": {"memory": "170Mi"},
                                       "requests": {"cpu": "100m", "memory": "70Mi"}},
                         "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns",
                                           "readOnly": True}],
                         "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                   {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                   {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}],
                         "livenessProbe": {"httpGet": {"path": "/health", "port": 8080, "scheme": "HTTP"},
                                           "initialDelaySeconds": 60, "failureThreshold": 5, **probe},
                         "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181, "scheme": "HTTP"},
                                            "failureThreshold": 3, **probe},
                     }],
                     "volumes": [{"name": "config-volume",
                                  "configMap": {"name": "coredns",
                                                "items": [{"key": "Corefile", "path": "Corefile"}]}}],
                 },
             },
         }},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", **meta,
                      "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                 "kubernetes.io/name": "CoreDNS"}},
         "spec": {"clusterIP": "10.96.0.10", "selector": dict(labels),
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]}},
    ]


# -- RBAC of the add-ons kind and k8slab install ------------------------------------------------------------

_RBAC_V1 = "rbac.authorization.k8s.io/v1"


def _rule(verbs, groups, resources, names=()) -> dict:
    r = {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}
    if names:
        r["resourceNames"] = list(names)
    return r


def _role(kind: str, name: str, rules: list[dict], namespace: str | None = None, labels: dict | None = None) -> dict:
    meta: dict = {"name": name, **({"namespace": namespace} if namespace else {})}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": _RBAC_V1, "kind": kind, "metadata": meta, "rules": rules}


def _binding(kind: str, name: str, role_kind: str, role: str, subjects: list[dict],
             namespace: str | None = None, labels: dict | None = None) -> dict:
    meta: dict = {"name": name, **({"namespace": namespace} if namespace else {})}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": _RBAC_V1, "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": subjects}


def _service_account(name: str, namespace: str) -> dict:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def local_path_storage_rbac() -> list[dict]:
    """What kind's ``local-path-storage.yaml`` grants its provisioner's ServiceAccount (cluster-wide part).

    ``local-path-storage/local-path-provisioner-service-account`` reads nodes, claims and
    classes, manages PersistentVolumes and records events.
    """
    sa = _service_account("local-path-provisioner-service-account", "local-path-storage")
    return [
        _role("ClusterRole", "local-path-provisioner-role", [
            _rule(("get", "list", "watch"), [""], ["nodes", "persistentvolumeclaims", "configmaps", "pods",
                                                   "pods/log"]),
            _rule(("get", "list", "watch", "create", "patch", "update", "delete"), [""], ["persistentvolumes"]),
            _rule(("create", "patch"), [""], ["events"]),
            _rule(("get", "list", "watch"), ["storage.k8s.io"], ["storageclasses"]),
        ]),
        _binding("ClusterRoleBinding", "local-path-provisioner-bind", "ClusterRole", "local-path-provisioner-role",
                 [sa]),
    ]


def ingress_nginx_rbac(namespace: str = "ingress-nginx", labels: dict | None = None) -> list[dict]:
    """The controller's Role, ClusterRole and bindings from ingress-nginx's ``deploy.yaml``.

    >>> [f"{o['kind']}/{o['metadata']['name']}" for o in ingress_nginx_rbac()]
    ['Role/ingress-nginx', 'ClusterRole/ingress-nginx', 'RoleBinding/ingress-nginx', 'ClusterRoleBinding/ingress-nginx']
    """
    read = ("get", "list", "watch")
    net = "networking.k8s.io"
    sa = _service_account("ingress-nginx", namespace)
    role = _role("Role", "ingress-nginx", [
        _rule(["get"], [""], ["namespaces"]),
        _rule(read, [""], ["configmaps", "pods", "secrets", "endpoints"]),
        _rule(read, [""], ["services"]),
        _rule(read, [net], ["ingresses"]),
        _rule(["update"], [net], ["ingresses/status"]),
        _rule(read, [net], ["ingressclasses"]),
        _rule(("get", "update"), ["coordination.k8s.io"], ["leases"], ["ingress-nginx-leader"]),
        _rule(["create"], ["coordination.k8s.io"], ["leases"]),
        _rule(("create", "patch"), [""], ["events"]),
        _rule(("list", "watch", "get"), ["discovery.k8s.io"], ["endpointslices"]),
    ], namespace, labels)
    cluster_role = _role("ClusterRole", "ingress-nginx", [
        _rule(("list", "watch"), [""], ["configmaps", "endpoints", "nodes", "pods", "secrets", "namespaces"]),
        _rule(("list", "watch"), ["coordination.k8s.io"], ["leases"]),
        _rule(["get"], [""], ["nodes"]),
        _rule(read, [""], ["services"]),
        _rule(read, [net], ["ingresses"]),
        _rule(("create", "patch"), [""], ["events"]),
        _rule(["update"], [net], ["ingresses/status"]),
        _rule(read, [net], ["ingressclasses"]),
        _rule(("list", "watch", "get"), ["discovery.k8s.io"], ["endpointslices"]),
    ], labels=labels)
    return [role, cluster_role,
            _binding("RoleBinding", "ingress-nginx", "Role", "ingress-nginx", [sa], namespace, labels),
            _binding("ClusterRoleBinding", "ingress-nginx", "ClusterRole", "ingress-nginx", [sa], labels=labels)]


#: The group every learner-written operator (``c.controller``) authenticates in; bound to ``cluster-admin``.
OPERATORS_GROUP = "k8slab:operators"


def operators_rbac() -> list[dict]:
    """k8slab's grant for learners' operators: the group ``k8slab:operators`` gets ``cluster-admin``.

    An operator can own any kind (a CRD of any group, Deployments, Services ...), so
    rather than guess its rights the cluster gives it the admin's; in a real cluster its
    author would write a narrower ClusterRole.
    """
    return [_binding("ClusterRoleBinding", "k8slab:operators", "ClusterRole", "cluster-admin",
                     [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": OPERATORS_GROUP}])]
