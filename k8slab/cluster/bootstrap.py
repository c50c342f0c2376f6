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
